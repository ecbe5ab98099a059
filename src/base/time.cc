#include "base/time.h"

#include <cmath>

#include "base/strings.h"

namespace eddy {
namespace {

constexpr std::string_view kDurationHint = "expected a duration like 500ms, 5s, 1m, 1h or 7d";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses exactly `n` digits at s[pos]; advances pos.
bool ParseFixedDigits(std::string_view s, size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return Status::InvalidArgument(StrCat("empty duration; ", kDurationHint));
  if (s[0] == '-') {
    return Status::InvalidArgument(
        StrCat("negative duration ", Quote(s), ": durations must be zero or positive"));
  }
  if (s == "0") return Duration::Zero();
  int64_t total = 0;
  size_t pos = 0;
  int64_t last_unit = INT64_MAX;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      while (pos < s.size() && IsDigit(s[pos])) ++pos;
    }
    if (pos == start || (pos == start + 1 && s[start] == '.')) {
      return Status::InvalidArgument(StrCat("bad duration ", Quote(s), ": ", kDurationHint));
    }
    std::string number(s.substr(start, pos - start));
    size_t ustart = pos;
    // Letters of either case, so "5S" is reported as an unknown unit 'S'
    // rather than as a number without a unit.
    while (pos < s.size() && ((s[pos] >= 'a' && s[pos] <= 'z') || (s[pos] >= 'A' && s[pos] <= 'Z')))
      ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    int64_t unit_us;
    if (unit == "us") {
      unit_us = 1;
    } else if (unit == "ms") {
      unit_us = 1000;
    } else if (unit == "s") {
      unit_us = 1000000;
    } else if (unit == "m") {
      unit_us = 60LL * 1000000;
    } else if (unit == "h") {
      unit_us = 3600LL * 1000000;
    } else if (unit == "d") {
      unit_us = 86400LL * 1000000;
    } else if (unit == "w") {
      unit_us = 7 * 86400LL * 1000000;
    } else if (unit.empty()) {
      return Status::InvalidArgument(
          StrCat("duration ", Quote(s), " has no unit; ", kDurationHint));
    } else {
      return Status::InvalidArgument(StrCat("unknown unit ", Quote(unit), " in duration ", Quote(s),
                                            "; units are us, ms, s, m, h, d, w"));
    }
    if (unit_us >= last_unit) {
      return Status::InvalidArgument(StrCat(
          "bad duration ", Quote(s), ": combine units from largest to smallest, like 1h30m"));
    }
    last_unit = unit_us;
    double v = std::strtod(number.c_str(), nullptr);
    double us = v * static_cast<double>(unit_us);
    if (!(us < 9.0e18) || total > INT64_MAX - static_cast<int64_t>(std::llround(us))) {
      return Status::OutOfRange(StrCat("duration ", Quote(s), " is too large"));
    }
    total += static_cast<int64_t>(std::llround(us));
  }
  return Duration::Micros(total);
}

std::string FormatDuration(Duration d) {
  if (d.is_infinite()) return "inf";
  int64_t us = d.micros();
  if (us == 0) return "0s";
  std::string out;
  if (us < 0) {
    out.push_back('-');
    us = -us;
  }
  struct Unit {
    int64_t us;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86400LL * 1000000, "d"},
                                    {3600LL * 1000000, "h"},
                                    {60LL * 1000000, "m"},
                                    {1000000, "s"},
                                    {1000, "ms"},
                                    {1, "us"}};
  for (const Unit& u : kUnits) {
    if (us >= u.us) {
      StrAppend(out, us / u.us, u.name);
      us %= u.us;
    }
  }
  return out;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm, valid for the proleptic Gregorian calendar.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

Result<EventTime> ParseIso8601(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        StrCat("bad timestamp ", Quote(text), ": ", why,
               " (expected ISO-8601 like 2024-05-01T12:00:00Z or 2024-05-01T12:00:00.5+02:00)"));
  };
  std::string_view s = text;
  size_t pos = 0;
  int year, month, day;
  if (!ParseFixedDigits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !ParseFixedDigits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' ||
      !ParseFixedDigits(s, pos, 2, day)) {
    return bad("date must be YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return bad("month out of range");
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day < 1 || day > kDaysIn[month - 1] || (month == 2 && day == 29 && !leap)) {
    return bad("day out of range");
  }
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (pos == s.size()) return EventTime::FromMicros(days * 86400LL * 1000000);
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad("expected 'T' after the date");
  ++pos;
  int hour, minute, second = 0;
  if (!ParseFixedDigits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
      !ParseFixedDigits(s, pos, 2, minute)) {
    return bad("time must be HH:MM[:SS[.fraction]]");
  }
  int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!ParseFixedDigits(s, pos, 2, second)) return bad("seconds must be two digits");
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t start = pos;
      int64_t scale = 100000;
      while (pos < s.size() && IsDigit(s[pos])) {
        if (scale > 0) {
          frac_us += (s[pos] - '0') * scale;
          scale /= 10;
        }
        ++pos;
      }
      if (pos == start) return bad("empty fraction of a second");
    }
  }
  if (hour > 23 || minute > 59 || second > 60) return bad("time of day out of range");
  if (second == 60) second = 59;  // a leap second folds onto the last second
  if (pos == s.size()) return bad("missing UTC offset (add Z or +HH:MM)");
  int64_t offset_s = 0;
  char c = s[pos];
  if (c == 'Z' || c == 'z') {
    ++pos;
  } else if (c == '+' || c == '-') {
    ++pos;
    int oh, om = 0;
    if (!ParseFixedDigits(s, pos, 2, oh)) return bad("UTC offset must be +HH:MM");
    // Minutes are optional ("+02"), but a colon must be followed by them.
    bool colon = pos < s.size() && s[pos] == ':';
    if (colon) ++pos;
    if ((colon || pos < s.size()) && !ParseFixedDigits(s, pos, 2, om)) {
      return bad("UTC offset must be +HH:MM");
    }
    if (oh > 23 || om > 59) return bad("UTC offset out of range");
    offset_s = (oh * 3600 + om * 60) * (c == '+' ? 1 : -1);
  } else {
    return bad("unexpected text after the time");
  }
  if (pos != s.size()) return bad("unexpected text after the UTC offset");
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return EventTime::FromMicros(secs * 1000000 + frac_us);
}

void AppendIso8601(std::string& out, EventTime t) {
  if (t == EventTime::Min()) {
    out.append("-inf");
    return;
  }
  if (t == EventTime::Max()) {
    out.append("+inf");
    return;
  }
  int64_t us = t.micros();
  // Floor division written so that it cannot overflow next to INT64_MIN.
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    --secs;
    frac += 1000000;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    --days;
    sod += 86400;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[64];
  int n;
  if (frac == 0) {
    n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                      static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                      static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  } else if (frac % 1000 == 0) {
    n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                      static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                      static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                      static_cast<long long>(frac / 1000));
  } else {
    n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                      static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                      static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                      static_cast<long long>(frac));
  }
  out.append(buf, static_cast<size_t>(n));
}

std::string FormatIso8601(EventTime t) {
  std::string out;
  AppendIso8601(out, t);
  return out;
}

}  // namespace eddy
