// Time quantities. Event time (when something happened, as the record says),
// watermarks (how far event time has certainly progressed) and processing
// time (the machine's clock) are distinct types so that one cannot be passed
// where another is meant. All are microseconds since the Unix epoch, UTC, in
// an int64; arithmetic saturates at the ends instead of overflowing, so
// EventTime::Min() - 1h is still EventTime::Min().

#ifndef EDDY_BASE_TIME_H_
#define EDDY_BASE_TIME_H_

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "eddy/status.h"

namespace eddy {

namespace internal {
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kI64Max : kI64Min;
  return r;
}
constexpr int64_t SatSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kI64Max : kI64Min;
  return r;
}
}  // namespace internal

// A signed span of time in microseconds.
class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration Micros(int64_t us) { return Duration(us); }
  static constexpr Duration Millis(int64_t ms) { return Duration(ms * 1000); }
  static constexpr Duration Seconds(int64_t s) { return Duration(s * 1000000); }
  static constexpr Duration Minutes(int64_t m) { return Seconds(m * 60); }
  static constexpr Duration Hours(int64_t h) { return Seconds(h * 3600); }
  static constexpr Duration Days(int64_t d) { return Seconds(d * 86400); }
  static constexpr Duration Zero() { return Duration(0); }
  static constexpr Duration Infinite() { return Duration(internal::kI64Max); }

  constexpr int64_t micros() const { return us_; }
  constexpr double seconds() const { return static_cast<double>(us_) / 1e6; }
  constexpr double millis() const { return static_cast<double>(us_) / 1e3; }
  constexpr bool is_infinite() const { return us_ == internal::kI64Max; }

  constexpr Duration operator+(Duration o) const { return Duration(internal::SatAdd(us_, o.us_)); }
  constexpr Duration operator-(Duration o) const { return Duration(internal::SatSub(us_, o.us_)); }
  constexpr Duration operator-() const { return Duration(internal::SatSub(0, us_)); }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

// The time an event happened, as carried by the event itself.
class EventTime {
 public:
  constexpr EventTime() = default;
  static constexpr EventTime FromMicros(int64_t us) { return EventTime(us); }
  static constexpr EventTime FromMillis(int64_t ms) {
    return EventTime(internal::SatAdd(0, ms) * 1000);
  }
  // The earliest and latest representable times. Max() is "the end of time":
  // a watermark there means no more events will come.
  static constexpr EventTime Min() { return EventTime(internal::kI64Min); }
  static constexpr EventTime Max() { return EventTime(internal::kI64Max); }

  constexpr int64_t micros() const { return us_; }

  constexpr EventTime operator+(Duration d) const {
    return EventTime(internal::SatAdd(us_, d.micros()));
  }
  constexpr EventTime operator-(Duration d) const {
    return EventTime(internal::SatSub(us_, d.micros()));
  }
  constexpr Duration operator-(EventTime o) const {
    return Duration::Micros(internal::SatSub(us_, o.us_));
  }
  constexpr auto operator<=>(const EventTime&) const = default;

 private:
  constexpr explicit EventTime(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

// The claim "no more events with event time below time() are expected"
// (except late ones). Watermarks only move forward; Min() means nothing is
// known yet and EndOfTime() means the input has ended.
class Watermark {
 public:
  constexpr Watermark() = default;
  constexpr explicit Watermark(EventTime t) : t_(t) {}
  static constexpr Watermark Min() { return Watermark(EventTime::Min()); }
  static constexpr Watermark EndOfTime() { return Watermark(EventTime::Max()); }

  constexpr EventTime time() const { return t_; }
  constexpr bool is_min() const { return t_ == EventTime::Min(); }
  constexpr bool is_end_of_time() const { return t_ == EventTime::Max(); }
  constexpr auto operator<=>(const Watermark&) const = default;

 private:
  EventTime t_ = EventTime::Min();
};

// Wall-clock time of the machine running Eddy (when something was processed).
class ProcessingTime {
 public:
  constexpr ProcessingTime() = default;
  static constexpr ProcessingTime FromMicros(int64_t us) { return ProcessingTime(us); }
  constexpr int64_t micros() const { return us_; }
  constexpr ProcessingTime operator+(Duration d) const {
    return ProcessingTime(internal::SatAdd(us_, d.micros()));
  }
  constexpr Duration operator-(ProcessingTime o) const {
    return Duration::Micros(internal::SatSub(us_, o.us_));
  }
  constexpr auto operator<=>(const ProcessingTime&) const = default;

 private:
  constexpr explicit ProcessingTime(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

// Parses "500ms", "5s", "1m", "1h30m", "7d", "2w", "250us", "1.5h" (units: us,
// ms, s, m, h, d, w; components may be combined, largest first). "0" alone is
// allowed. A leading '-' is rejected with an error that says durations must not
// be negative.
Result<Duration> ParseDuration(std::string_view text);

// The shortest form ParseDuration reads back: "1h30m", "500ms", "0s".
std::string FormatDuration(Duration d);

// Parses an ISO-8601 date-time with a UTC offset: "2024-05-01T12:00:00Z",
// "2024-05-01T12:00:00.123456+02:00", "2024-05-01 12:00:00-0500". Fractions
// beyond microseconds are truncated. A date alone ("2024-05-01") is midnight
// UTC. A date-time without offset is an error: event time must be unambiguous.
Result<EventTime> ParseIso8601(std::string_view text);

// "2024-05-01T12:00:00Z", with ".123" or ".123456" when the time has a
// fraction of a second. Min() and Max() print as "-inf" and "+inf".
std::string FormatIso8601(EventTime t);
void AppendIso8601(std::string& out, EventTime t);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t& y, unsigned& m, unsigned& d);

}  // namespace eddy

#endif  // EDDY_BASE_TIME_H_
