// WatermarkTracker: event-time progress of one source, and the lateness
// verdict for each record.
//
//   partition watermark = highest event time seen in the partition
//                         - max_out_of_orderness
//   source watermark    = min over partitions that are neither idle nor ended,
//                         never moving backwards
//
// A partition that has had no record for `idle_timeout` of processing time is
// idle and stops holding the source watermark back; it rejoins when its next
// record arrives. An ended partition (finite input consumed) never holds it
// back again; when every partition has ended the watermark is the end of
// time, which flushes everything downstream. When every live partition is idle
// the watermark stays where it is.
//
// A record is late when its event time is below
// (source watermark before the record) - allowed_lateness. Late records are
// reported and do not advance any watermark.
//
// Processing time is passed in by the caller (from an injectable Clock), so
// tests drive idleness deterministically. One thread uses a tracker.

#ifndef EDDY_TIME_WATERMARK_H_
#define EDDY_TIME_WATERMARK_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "base/types.h"
#include "config/pipeline.h"
#include "eddy/status.h"

namespace eddy {

class WatermarkTracker {
 public:
  // All partitions start active (not idle), having seen nothing, with their
  // idle clocks starting at `now`.
  WatermarkTracker(const WatermarkSpec& spec, int num_partitions, ProcessingTime now);

  struct Admission {
    bool late = false;
    Watermark watermark;  // the source watermark before this record
    Duration lateness;    // watermark - event time, when late
  };

  // Judges a record of `p` with event time `t` arriving at `now`, then
  // advances the watermarks. REQUIRES: p is a partition that has not ended.
  Admission Admit(Partition p, EventTime t, ProcessingTime now);

  // Re-evaluates idleness at `now`; call when no records arrive. Returns true
  // if the source watermark moved.
  bool Tick(ProcessingTime now);

  // Marks `p` as ended (its input is exhausted).
  void EndPartition(Partition p);

  // Checkpoints: per-partition progress and the source watermark. Idle
  // clocks restart at `now` on restore (processing time does not survive a
  // restart). REQUIRES for Restore: the same number of partitions.
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes, ProcessingTime now);

  Watermark current() const { return current_; }
  Watermark partition_watermark(Partition p) const;
  bool is_idle(Partition p) const { return parts_[Index(p)].idle; }
  bool has_ended(Partition p) const { return parts_[Index(p)].ended; }
  int num_partitions() const { return static_cast<int>(parts_.size()); }
  int num_idle() const;

 private:
  struct PartitionState {
    EventTime max_seen = EventTime::Min();
    ProcessingTime last_seen;
    bool idle = false;
    bool ended = false;
  };

  size_t Index(Partition p) const { return static_cast<size_t>(p.value()); }
  // Marks partitions idle whose silence reached the timeout. True if any changed.
  bool UpdateIdleness(ProcessingTime now);
  // Recomputes current_ from the partitions; keeps it monotonic.
  void Recompute();

  WatermarkSpec spec_;
  std::vector<PartitionState> parts_;
  Watermark current_ = Watermark::Min();
  // Earliest processing time at which some active partition becomes idle.
  ProcessingTime next_idle_check_;
};

}  // namespace eddy

#endif  // EDDY_TIME_WATERMARK_H_
