// The offline history: every feature vector the engine computes, with its
// event time and availability time (StoredVector::computed_at: when Eddy
// computed it), appended to a log that is never rewritten
// (docs/formats/history.md, version 1).
//
// Layout: a directory holding `groups.json` (each group's id and feature
// names), `LOCK` (held by the writer) and segment files
// `history-NNNNNN.log`, numbered from 0 without gaps. A segment starts with
// an 8-byte header ("EDHS", fixed32 version) followed by records:
//   fixed32 length | fixed32 crc32c(payload) | payload
//   payload = varint group id | string key | encoded StoredVector
// A torn record at the end of the last segment (a crash mid-write) is ignored
// by readers and cut off by the next writer; a bad record anywhere else is a
// kCorruption error naming the segment file and byte offset.
//
// Threading: one writer per directory (enforced with a lock file), used by
// one thread; readers open the directory independently, also while a writer
// appends (they see a prefix of the log).

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
  friend bool operator==(const HistoryGroup&, const HistoryGroup&) = default;
};

// Where the log ends: enough to cut it back to a checkpoint. `offset` is a
// byte offset within segment file `segment` (the segment header included).
struct HistoryPosition {
  uint32_t segment = 0;
  uint64_t offset = 0;
  friend bool operator==(const HistoryPosition&, const HistoryPosition&) = default;
};

struct HistoryWriterOptions {
  // A segment is closed (and fsynced) and the next one started when the next
  // record would take it past this size. A record larger than this gets a
  // segment of its own.
  uint64_t segment_bytes = 64u << 20;
  // Appends are encoded into a buffer that is written to the file when it
  // holds this many bytes (and on Flush).
  size_t buffer_bytes = 1u << 20;
};

// Largest payload of one record (a feature vector of 16 MiB is a bug).
inline constexpr uint32_t kMaxHistoryRecordBytes = 16u << 20;

class HistoryWriter {
 public:
  // Opens `dir` for appending (creating it). `groups` must match the groups
  // recorded there, if any (a pipeline whose groups changed starts a new
  // history directory; the error says so). A torn record at the end of the
  // last segment is cut off; a corrupt one is an error (the log is not
  // appended to behind damage). Fails with kFailedPrecondition if another
  // writer holds the directory.
  static Result<std::unique_ptr<HistoryWriter>> Open(const std::string& dir,
                                                     const std::vector<HistoryGroup>& groups,
                                                     const HistoryWriterOptions& options = {});
  // Writes what is buffered (without fsync; errors are lost: call Flush to
  // see them) and releases the directory.
  ~HistoryWriter();
  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  // Appends one record (buffered: cheap, no system call most of the time).
  // REQUIRES: group < groups.size(), v.values.size() == that group's
  // features (violations return kInvalidArgument and append nothing).
  // Errors are sticky: after a failed write every call returns that error.
  Status Append(uint32_t group, std::string_view key, const StoredVector& v);
  // Writes buffered records to the operating system (and fdatasyncs the
  // current segment if `sync`). After Flush(true), position() is durable.
  Status Flush(bool sync = false);
  // The end of the log, buffered records included.
  HistoryPosition position() const { return {segment_, offset_}; }

  // Cuts the log in `dir` back to `pos` (restoring a checkpoint): truncates
  // segment pos.segment at pos.offset and deletes later segments. `pos` must
  // be a record boundary the log reaches (a position() of an earlier
  // writer); anything else is an error and changes nothing.
  // REQUIRES: no writer has `dir` open (kFailedPrecondition otherwise).
  static Status TruncateTo(const std::string& dir, const HistoryPosition& pos);

  uint64_t records() const { return records_; }
  const std::string& dir() const { return dir_; }

 private:
  HistoryWriter() = default;
  Status WriteBuffer(size_t n);
  Status Roll();
  Status Fail(Status s);

  std::string dir_;
  HistoryWriterOptions options_;
  int lock_fd_ = -1;
  int fd_ = -1;
  uint32_t segment_ = 0;
  uint64_t offset_ = 0;  // bytes in the current segment, buffered included
  std::string buffer_;
  std::vector<size_t> group_sizes_;
  uint64_t records_ = 0;
  Status status_;  // sticky write error
};

// One record as Scan sees it. Views are valid during the callback only.
struct HistoryRecord {
  HistoryPosition position;  // where the record starts
  uint32_t group;
  std::string_view key;
  const StoredVector& vector;
  std::string_view encoded_vector;  // the bytes `vector` was decoded from
};

class HistoryReader {
 public:
  // Reads `dir`'s groups.json. kNotFound when `dir` holds no history.
  static Result<std::unique_ptr<HistoryReader>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::vector<HistoryGroup>& groups() const { return groups_; }
  // Index of the named group, or -1.
  int FindGroup(std::string_view name) const;

  // Calls fn(group, key, vector) for every record in append order. Stops and
  // returns fn's error if it returns one. Stops cleanly at a torn record at
  // the end of the last segment; returns kCorruption (naming the segment file
  // and offset) for a bad record anywhere else.
  Status Scan(const std::function<Status(uint32_t group, std::string_view key,
                                         const StoredVector& v)>& fn) const;
  // The same, with each record's position and encoded bytes.
  Status ScanRecords(const std::function<Status(const HistoryRecord&)>& fn) const;

 private:
  std::string dir_;
  std::vector<HistoryGroup> groups_;
};

// Writes the records of `group` (every group if empty) to `out_path` as
// "csv", "jsonl" or "parquet", in append order. Columns: group, key,
// event_time, available_at (ISO-8601, UTC), then the group's features by name
// (a feature named like one of the first four columns is written as
// "<group>.<name>"). JSON lines: one file, each row with its own group's
// features. CSV and Parquet are tables: with one group `out_path` is the file;
// with several, `out_path` is a directory holding "<group>.csv" (or
// ".parquet") per group. Output appears only when complete.
//
// Parquet is written by the Python interpreter `python` (empty: $EDDY_PYTHON,
// else $EDDY_VENV/bin/python, else the repository's .venv made by
// scripts/python-env.sh, found from the binary's place in build/<type>/bin,
// else ./.venv/bin/python, else python3) with pyarrow; without pyarrow
// there, the result is a kUnimplemented error saying how to install it.
Status ExportHistory(const HistoryReader& reader, std::string_view group, std::string_view format,
                     const std::string& out_path, const std::string& python = "");

}  // namespace eddy

#endif  // EDDY_STORE_HISTORY_H_
