#include "base/clock.h"

#include <chrono>

namespace eddy {
namespace {

class SystemClock final : public Clock {
 public:
  ProcessingTime Now() const override {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return ProcessingTime::FromMicros(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  }
};

}  // namespace

Clock& Clock::System() {
  static SystemClock* clock = new SystemClock();  // never destroyed: usable during exit
  return *clock;
}

}  // namespace eddy
