// The offline history: every feature vector the engine computes, with its
// event time and availability time (when Eddy computed it), appended to a log
// that is never rewritten (docs/formats/history.md, version 1).
//
// Layout: a directory holding `groups.json` (each group's id and feature
// names) and segment files `history-NNNNNN.log`. Each record is
//   fixed32 length | fixed32 crc32c(payload) | payload
//   payload = varint group id | string key | encoded StoredVector
// A torn record at the end of the last segment (a crash mid-write) is ignored
// by readers and cut off by the next writer; a bad checksum anywhere else is
// a corruption error.
//
// Threading: one writer thread; readers open the directory independently.

#ifndef EDDY_STORE_HISTORY_H_
#define EDDY_STORE_HISTORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"
#include "store/stored_vector.h"

namespace eddy {

struct HistoryGroup {
  std::string name;
  std::vector<std::string> feature_names;
};

// Where the log ends: enough to cut it back to a checkpoint.
struct HistoryPosition {
  uint32_t segment = 0;
  uint64_t offset = 0;
  friend bool operator==(const HistoryPosition&, const HistoryPosition&) = default;
};

class HistoryWriter {
 public:
  // Opens `dir` for appending (creating it). `groups` must match the groups
  // recorded there, if any (a pipeline whose groups changed starts a new
  // history directory; the error says so).
  static Result<std::unique_ptr<HistoryWriter>> Open(const std::string& dir,
                                                     const std::vector<HistoryGroup>& groups);
  ~HistoryWriter();

  // REQUIRES: group < groups.size(), v.values.size() == that group's features.
  Status Append(uint32_t group, std::string_view key, const StoredVector& v);
  // Writes buffered records to the operating system (and fsyncs if `sync`).
  Status Flush(bool sync = false);
  HistoryPosition position() const;

  // Cuts the log in `dir` back to `pos` (restoring a checkpoint).
  static Status TruncateTo(const std::string& dir, const HistoryPosition& pos);

  uint64_t records() const { return records_; }

 private:
  HistoryWriter() = default;
  Status Roll();

  std::string dir_;
  int fd_ = -1;
  uint32_t segment_ = 0;
  uint64_t offset_ = 0;  // bytes in the current segment, buffered included
  std::string buffer_;
  std::string scratch_;
  std::vector<size_t> group_sizes_;
  uint64_t records_ = 0;
};

class HistoryReader {
 public:
  static Result<std::unique_ptr<HistoryReader>> Open(const std::string& dir);

  const std::vector<HistoryGroup>& groups() const { return groups_; }
  // Index of the named group, or -1.
  int FindGroup(std::string_view name) const;

  // Calls fn(group, key, vector) for every record in append order. Stops and
  // returns fn's error if it returns one.
  Status Scan(const std::function<Status(uint32_t group, std::string_view key,
                                          const StoredVector& v)>& fn) const;

 private:
  std::string dir_;
  std::vector<HistoryGroup> groups_;
};

// Writes the records of `group` (every group if empty) to `out_path` as
// "csv", "jsonl" or "parquet" (parquet needs the Python environment of
// scripts/python-env.sh; without it, a clear kUnimplemented error).
// Rows: group, key, event_time, available_at, then the features.
Status ExportHistory(const HistoryReader& reader, std::string_view group, std::string_view format,
                     const std::string& out_path);

}  // namespace eddy

#endif  // EDDY_STORE_HISTORY_H_
