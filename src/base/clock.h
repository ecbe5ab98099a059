// The source of processing time. Everything that depends on the machine's
// clock (idleness, progress, availability time of features, TTLs) reads it
// through a Clock so that tests can drive time deterministically.
//
// Thread safety: Now() may be called from any thread.

#ifndef EDDY_BASE_CLOCK_H_
#define EDDY_BASE_CLOCK_H_

#include <atomic>

#include "base/time.h"

namespace eddy {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual ProcessingTime Now() const = 0;

  // The process-wide wall clock. Never null; lives for the whole process.
  static Clock& System();
};

// A clock that moves only when told to. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(ProcessingTime start = ProcessingTime::FromMicros(0))
      : now_(start.micros()) {}
  ProcessingTime Now() const override { return ProcessingTime::FromMicros(now_.load()); }
  void Advance(Duration d) { now_.fetch_add(d.micros()); }
  void Set(ProcessingTime t) { now_.store(t.micros()); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace eddy

#endif  // EDDY_BASE_CLOCK_H_
