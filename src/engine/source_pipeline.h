// SourcePipeline: everything that happens to one record of one source before
// feature computation, in order:
//
//   raw bytes -> decode (JSON/CSV, per-partition decoder) -> schema checks
//     -> event time -> lateness verdict + watermark update -> filter
//     -> handler.OnAccepted / OnLate / OnDeadLetter
//
// It owns the source's compiled schema and filter, one decoder per partition
// and the watermark tracker, and counts every outcome. It does no I/O: the
// engine feeds it records polled from a Source and gives it a RecordHandler
// that writes outputs (and, later, updates features). Benchmarks drive it the
// same way, so they measure the real path.
//
// One thread uses a SourcePipeline.

#ifndef EDDY_ENGINE_SOURCE_PIPELINE_H_
#define EDDY_ENGINE_SOURCE_PIPELINE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/value.h"
#include "config/pipeline.h"
#include "expr/expression.h"
#include "ingest/decoder.h"
#include "ingest/schema.h"
#include "ingest/source.h"
#include "time/watermark.h"

namespace eddy {

class SourcePipeline;

// Receives the outcome of every record. References are valid only during the
// call.
class RecordHandler {
 public:
  virtual ~RecordHandler() = default;
  virtual void OnAccepted(const SourcePipeline& source, const RawRecord& rec, const Row& row,
                          EventTime t) = 0;
  virtual void OnLate(const SourcePipeline& source, const RawRecord& rec, const Row& row,
                      EventTime t, const WatermarkTracker::Admission& admission) = 0;
  virtual void OnDeadLetter(const SourcePipeline& source, const RawRecord& rec,
                            const DecodeError& err) = 0;
  // The source watermark advanced (after a record, an ended partition, or an
  // idle partition stopping holding it back). Called once per advance.
  virtual void OnWatermark(const SourcePipeline& source, Watermark wm) {}
};

struct SourceCounters {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t accepted = 0;
  uint64_t late = 0;
  uint64_t dead_letter = 0;
  uint64_t filtered = 0;
  uint64_t blank = 0;
  uint64_t headers = 0;
  // Dead letters by error code (codes are static strings).
  std::vector<std::pair<std::string_view, uint64_t>> errors;

  void CountError(std::string_view code);
};

class SourcePipeline {
 public:
  // Compiles the schema and the filter of `spec`. Errors carry the pipeline
  // file location of the offending option.
  static Result<std::unique_ptr<SourcePipeline>> Create(const SourceSpec& spec);

  // Prepares per-partition state. Must be called once before Process().
  void Attach(int num_partitions, ProcessingTime now);

  // Judges one raw record and reports its outcome to `handler`.
  void Process(const RawRecord& rec, ProcessingTime now, RecordHandler& handler);

  // Partition `p` reached the end of its input.
  void EndPartition(Partition p) { tracker_->EndPartition(p); }
  // The same, reporting a watermark advance to `handler`.
  void EndPartition(Partition p, RecordHandler& handler);
  void Tick(ProcessingTime now, RecordHandler& handler);
  // Lets idle partitions stop holding the watermark back.
  bool Tick(ProcessingTime now) { return tracker_->Tick(now); }

  // Checkpoints: counters, the watermark tracker and every decoder's state.
  // REQUIRES: Attach() was called with the checkpoint's number of partitions.
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes, ProcessingTime now);

  const SourceSpec& spec() const { return spec_; }
  const Schema& schema() const { return schema_; }
  const WatermarkTracker& tracker() const { return *tracker_; }
  Watermark watermark() const { return tracker_->current(); }
  SourceCounters& counters() { return counters_; }
  const SourceCounters& counters() const { return counters_; }
  bool has_filter() const { return filter_.has_value(); }

  // The filter's variables: the schema's fields. Timestamps are epoch seconds.
  static std::vector<ExprVariable> FieldVariables(const SourceSpec& spec);

 private:
  SourcePipeline(const SourceSpec& spec, Schema schema);
  bool PassesFilter(const Row& row);
  void ReportWatermark(RecordHandler& handler);

  SourceSpec spec_;
  Schema schema_;
  std::optional<Expression> filter_;
  std::vector<ExprValue> filter_values_;
  std::vector<std::unique_ptr<Decoder>> decoders_;
  std::unique_ptr<WatermarkTracker> tracker_;
  Row row_;
  DecodeError err_;
  SourceCounters counters_;
  Watermark reported_ = Watermark::Min();  // last watermark given to a handler
};

}  // namespace eddy

#endif  // EDDY_ENGINE_SOURCE_PIPELINE_H_
