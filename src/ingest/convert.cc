#include "ingest/convert.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "base/strings.h"

namespace eddy {
namespace {

// Years 0001 to 9999, in microseconds since the epoch.
constexpr int64_t kMinTimeUs = -62135596800LL * 1000000;
constexpr int64_t kMaxTimeUs = 253402300799LL * 1000000 + 999999;

}  // namespace

bool EpochToEventTime(double value, TimestampFormat format, EventTime& out) {
  if (!std::isfinite(value)) return false;
  double us = format == TimestampFormat::kEpochMillis ? value * 1e3 : value * 1e6;
  if (us < static_cast<double>(kMinTimeUs) || us > static_cast<double>(kMaxTimeUs)) return false;
  out = EventTime::FromMicros(static_cast<int64_t>(std::llround(us)));
  return true;
}

bool EpochToEventTime(int64_t value, TimestampFormat format, EventTime& out) {
  int64_t scale = format == TimestampFormat::kEpochMillis ? 1000 : 1000000;
  int64_t us;
  if (__builtin_mul_overflow(value, scale, &us) || us < kMinTimeUs || us > kMaxTimeUs) {
    return false;
  }
  out = EventTime::FromMicros(us);
  return true;
}

bool ConvertText(std::string_view text, const FieldSpec& field, size_t index, Row& row,
                 DecodeError& err) {
  auto wrong = [&](std::string_view expected) {
    err.Set("wrong_type", field.name,
            StrCat("field ", Quote(field.name), ": expected ", expected, ", got ", Quote(text)));
    return false;
  };
  switch (field.type) {
    case FieldType::kString:
      row.SetString(index, text);
      return true;
    case FieldType::kInt: {
      int64_t v;
      auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (r.ec == std::errc::result_out_of_range && r.ptr == text.data() + text.size()) {
        err.Set("out_of_range", field.name,
                StrCat("field ", Quote(field.name), ": ", Quote(text),
                       " does not fit in a 64-bit int"));
        return false;
      }
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return wrong("an int");
      row.Set(index, Value::Int(v));
      return true;
    }
    case FieldType::kDouble: {
      double v;
      auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (r.ec == std::errc::result_out_of_range && r.ptr == text.data() + text.size()) {
        // from_chars reports underflow ("1e-400") like overflow. JSON reads
        // such numbers as zero, so CSV does too: only overflow is an error.
        v = std::strtod(std::string(text).c_str(), nullptr);
        if (!std::isfinite(v)) {
          err.Set(
              "out_of_range", field.name,
              StrCat("field ", Quote(field.name), ": ", Quote(text), " is out of double range"));
          return false;
        }
        row.Set(index, Value::Double(v));
        return true;
      }
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return wrong("a number");
      if (!std::isfinite(v)) {
        err.Set("not_finite", field.name,
                StrCat("field ", Quote(field.name), ": ", Quote(text),
                       " is not a finite number (NaN and infinities are rejected)"));
        return false;
      }
      row.Set(index, Value::Double(v));
      return true;
    }
    case FieldType::kBool: {
      if (text == "true" || text == "TRUE" || text == "True" || text == "1") {
        row.Set(index, Value::Bool(true));
        return true;
      }
      if (text == "false" || text == "FALSE" || text == "False" || text == "0") {
        row.Set(index, Value::Bool(false));
        return true;
      }
      return wrong("a bool (true/false/1/0)");
    }
    case FieldType::kTimestamp: {
      if (field.timestamp_format == TimestampFormat::kIso8601) {
        auto t = ParseIso8601(text);
        if (!t.ok()) {
          err.Set("bad_timestamp", field.name,
                  StrCat("field ", Quote(field.name), ": ", t.status().message()));
          return false;
        }
        row.Set(index, Value::Timestamp(*t));
        return true;
      }
      EventTime t;
      int64_t iv;
      auto r = std::from_chars(text.data(), text.data() + text.size(), iv);
      bool ok;
      if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
        ok = EpochToEventTime(iv, field.timestamp_format, t);
      } else {
        double dv;
        auto rd = std::from_chars(text.data(), text.data() + text.size(), dv);
        if (rd.ec != std::errc() || rd.ptr != text.data() + text.size()) {
          return wrong(field.timestamp_format == TimestampFormat::kEpochMillis
                           ? "epoch milliseconds"
                           : "epoch seconds");
        }
        ok = EpochToEventTime(dv, field.timestamp_format, t);
      }
      if (!ok) {
        err.Set("bad_timestamp", field.name,
                StrCat("field ", Quote(field.name), ": ", Quote(text),
                       " is not a time between years 1 and 9999"));
        return false;
      }
      row.Set(index, Value::Timestamp(t));
      return true;
    }
  }
  return false;
}

}  // namespace eddy
