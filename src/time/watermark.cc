#include "time/watermark.h"

#include <algorithm>

#include "base/check.h"
#include "base/coding.h"
#include "base/strings.h"

namespace eddy {

WatermarkTracker::WatermarkTracker(const WatermarkSpec& spec, int num_partitions,
                                   ProcessingTime now)
    : spec_(spec), parts_(static_cast<size_t>(num_partitions)) {
  EDDY_CHECK_GE(num_partitions, 0);
  for (PartitionState& p : parts_) p.last_seen = now;
  next_idle_check_ = spec_.idle_timeout == Duration::Zero() ? ProcessingTime::FromMicros(INT64_MAX)
                                                            : now + spec_.idle_timeout;
  if (parts_.empty()) current_ = Watermark::EndOfTime();
}

Watermark WatermarkTracker::partition_watermark(Partition p) const {
  const PartitionState& s = parts_[Index(p)];
  if (s.ended) return Watermark::EndOfTime();
  return Watermark(s.max_seen - spec_.max_out_of_orderness);
}

int WatermarkTracker::num_idle() const {
  int n = 0;
  for (const PartitionState& p : parts_) n += (p.idle && !p.ended) ? 1 : 0;
  return n;
}

WatermarkTracker::Admission WatermarkTracker::Admit(Partition p, EventTime t, ProcessingTime now) {
  EDDY_DCHECK(Index(p) < parts_.size());
  PartitionState& s = parts_[Index(p)];
  EDDY_CHECK(!s.ended) << "record for ended partition " << p;

  Admission a;
  a.watermark = current_;
  EventTime threshold = current_.time() - spec_.allowed_lateness;
  a.late = t < threshold;
  if (a.late) a.lateness = current_.time() - t;

  bool changed = false;
  s.last_seen = now;
  if (spec_.idle_timeout != Duration::Zero()) {
    // A rejoining partition may become idle before the recorded deadline.
    next_idle_check_ = std::min(next_idle_check_, now + spec_.idle_timeout);
  }
  if (s.idle) {
    s.idle = false;  // rejoins
    changed = true;
  }
  if (!a.late && t > s.max_seen) {
    // Only a partition at the minimum can move the source watermark.
    bool was_min = s.max_seen - spec_.max_out_of_orderness <= current_.time();
    s.max_seen = t;
    changed |= was_min;
  }
  if (now >= next_idle_check_) changed |= UpdateIdleness(now);
  if (changed) Recompute();
  return a;
}

bool WatermarkTracker::Tick(ProcessingTime now) {
  if (now < next_idle_check_) return false;
  if (!UpdateIdleness(now)) return false;
  Watermark before = current_;
  Recompute();
  return current_ != before;
}

void WatermarkTracker::EndPartition(Partition p) {
  PartitionState& s = parts_[Index(p)];
  if (s.ended) return;
  s.ended = true;
  Recompute();
}

bool WatermarkTracker::UpdateIdleness(ProcessingTime now) {
  if (spec_.idle_timeout == Duration::Zero()) return false;
  bool changed = false;
  ProcessingTime next = ProcessingTime::FromMicros(INT64_MAX);
  for (PartitionState& s : parts_) {
    if (s.ended || s.idle) continue;
    ProcessingTime deadline = s.last_seen + spec_.idle_timeout;
    if (now >= deadline) {
      s.idle = true;
      changed = true;
    } else {
      next = std::min(next, deadline);
    }
  }
  next_idle_check_ = next;
  return changed;
}

void WatermarkTracker::Recompute() {
  bool any_live = false, any_active = false;
  EventTime min = EventTime::Max();
  for (const PartitionState& s : parts_) {
    if (s.ended) continue;
    any_live = true;
    if (s.idle) continue;
    any_active = true;
    min = std::min(min, s.max_seen - spec_.max_out_of_orderness);
  }
  Watermark candidate;
  if (!any_live) {
    candidate = Watermark::EndOfTime();
  } else if (!any_active) {
    return;  // every live partition is idle: hold
  } else {
    candidate = Watermark(min);
  }
  if (candidate > current_) current_ = candidate;
}

void WatermarkTracker::SaveState(std::string& out) const {
  PutSigned(out, current_.time().micros());
  PutVarint64(out, parts_.size());
  for (const PartitionState& p : parts_) {
    PutSigned(out, p.max_seen.micros());
    out.push_back(static_cast<char>((p.idle ? 1 : 0) | (p.ended ? 2 : 0)));
  }
}

Status WatermarkTracker::RestoreState(std::string_view bytes, ProcessingTime now) {
  ByteReader in(bytes, "watermark state");
  int64_t current;
  uint64_t n;
  if (!in.Signed(current) || !in.Varint64(n)) return in.status();
  if (n != parts_.size()) {
    return Status::FailedPrecondition(
        StrCat("the checkpoint has ", n, " partition(s), the source ", parts_.size()));
  }
  for (PartitionState& p : parts_) {
    int64_t max_seen;
    uint8_t flags;
    if (!in.Signed(max_seen) || !in.Byte(flags)) return in.status();
    p.max_seen = EventTime::FromMicros(max_seen);
    p.idle = (flags & 1) != 0;
    p.ended = (flags & 2) != 0;
    p.last_seen = now;
  }
  current_ = Watermark(EventTime::FromMicros(current));
  next_idle_check_ = spec_.idle_timeout == Duration::Zero() ? ProcessingTime::FromMicros(INT64_MAX)
                                                            : now + spec_.idle_timeout;
  return Status::OK();
}

}  // namespace eddy
