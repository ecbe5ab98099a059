// Progress lines while a pipeline runs, and the summary at the end, both for
// people. Progress goes to stderr at a fixed processing-time interval: on a
// terminal one line is rewritten in place, otherwise one line per interval.

#ifndef EDDY_ENGINE_PROGRESS_H_
#define EDDY_ENGINE_PROGRESS_H_

#include <string>

#include "base/time.h"
#include "eddy/engine.h"

namespace eddy {

// 1234567 -> "1,234,567".
std::string FormatCount(uint64_t n);
// 1234567.0 -> "1.23M", 5321 -> "5.32K".
std::string FormatRate(double per_second);

class ProgressReporter {
 public:
  ProgressReporter(bool enabled, Duration interval, ProcessingTime start);

  // Prints a line if the interval has passed since the last one.
  void MaybeReport(ProcessingTime now, const RunSummary& snapshot);
  // Ends the in-place line, if any.
  void Finish();

 private:
  bool enabled_;
  bool tty_;
  Duration interval_;
  ProcessingTime start_;
  ProcessingTime last_;
  uint64_t last_records_ = 0;
  bool wrote_in_place_ = false;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_PROGRESS_H_
