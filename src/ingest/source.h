// Sources deliver raw records, each with its (partition, offset). A source is
// split into partitions: a file is one partition, a directory one per file,
// standard input one, a Kafka topic one per Kafka partition. Offsets increase
// within a partition; (partition, offset) is what checkpoints store and replay
// seeks to.
//
// Threading: a Source is used by one thread (the engine's loop).

#ifndef EDDY_INGEST_SOURCE_H_
#define EDDY_INGEST_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "base/types.h"
#include "config/pipeline.h"
#include "eddy/status.h"

namespace eddy {

struct RawRecord {
  Partition partition;
  Offset offset;
  // The record without its line terminator. Followed in memory by at least
  // kRecordPadding readable bytes. Valid until the next Poll().
  std::string_view bytes;
  // Size of the whole record, without its line terminator. Larger than
  // bytes.size() only when truncated.
  uint64_t size = 0;
  // The record was longer than max_record_bytes: `bytes` is its first 64 KiB
  // (less up to 3 bytes, so as not to cut a UTF-8 character in two). A batch
  // holds at most one truncated record, and it is the batch's last.
  bool truncated = false;
  // The first record of a partition of a format with a header row.
  bool is_header = false;
};

struct PollBatch {
  std::vector<RawRecord> records;
  std::vector<Partition> ended;  // partitions that reached their end during this poll
  uint64_t bytes_read = 0;       // input bytes consumed (for throughput)
  // Nothing yet from a stream read as a file (SourceSpec::frame_as_file): its
  // next batch is not known until more bytes, or its end, arrive.
  bool waiting = false;
  void Clear() {
    records.clear();
    ended.clear();
    bytes_read = 0;
    waiting = false;
  }
};

class Source {
 public:
  virtual ~Source() = default;

  // Opens every partition. Fails with a clear message if the input does not
  // exist or cannot be read.
  virtual Status Open() = 0;

  virtual int num_partitions() const = 0;

  // A human-readable location of a record: "data/tx.jsonl:17" for files.
  virtual std::string Location(Partition p, Offset o) const = 0;

  // Fills `batch` with up to `max_records` records. Waits at most `timeout`
  // when no data is available yet (stdin, a socket). Returns an error only for
  // failures of the input itself (a read error); bad records are returned as
  // records and judged by the caller.
  virtual Status Poll(size_t max_records, Duration timeout, PollBatch& batch) = 0;

  // True once every partition has ended.
  virtual bool AtEnd() const = 0;

  // Appends the position of every partition (what a checkpoint records),
  // taken between polls.
  virtual void SaveState(std::string& out) const = 0;
  // Seeks every partition to positions written by SaveState. Fails with a
  // clear message when the input changed (other files, a shorter file, a
  // file that grew after it had ended, other bytes in the 4 KiB before the
  // position) or cannot seek (stdin).
  virtual Status RestoreState(std::string_view bytes) = 0;
};

// A source over a file, a directory of files, or "-" (stdin), framed as JSON
// lines or CSV according to `spec.format`.
std::unique_ptr<Source> MakeFileSource(const SourceSpec& spec);

}  // namespace eddy

#endif  // EDDY_INGEST_SOURCE_H_
