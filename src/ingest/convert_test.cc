// Text to typed value conversions shared by the decoders (CSV cells).

#include "ingest/convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace eddy {
namespace {

FieldSpec Field(FieldType type, TimestampFormat format = TimestampFormat::kIso8601) {
  FieldSpec f;
  f.name = "x";
  f.type = type;
  f.timestamp_format = format;
  return f;
}

// Converts `text` into a one-field row; on failure returns the error code.
struct Converted {
  bool ok;
  Row row;
  DecodeError err;
};
Converted Convert(std::string_view text, const FieldSpec& f) {
  Converted c{false, Row(1), {}};
  c.ok = ConvertText(text, f, 0, c.row, c.err);
  return c;
}

TEST(EpochToEventTimeTest, SecondsAndMillis) {
  EventTime t;
  ASSERT_TRUE(EpochToEventTime(int64_t{1714564800}, TimestampFormat::kEpochSeconds, t));
  EXPECT_EQ(t, EventTime::FromMicros(1714564800LL * 1000000));
  ASSERT_TRUE(EpochToEventTime(int64_t{1714564800123}, TimestampFormat::kEpochMillis, t));
  EXPECT_EQ(t, EventTime::FromMicros(1714564800123LL * 1000));
  ASSERT_TRUE(EpochToEventTime(1714564800.25, TimestampFormat::kEpochSeconds, t));
  EXPECT_EQ(t, EventTime::FromMicros(1714564800250000LL));
  ASSERT_TRUE(EpochToEventTime(1.5, TimestampFormat::kEpochMillis, t));
  EXPECT_EQ(t, EventTime::FromMicros(1500));
  ASSERT_TRUE(EpochToEventTime(int64_t{-1}, TimestampFormat::kEpochSeconds, t));
  EXPECT_EQ(t, EventTime::FromMicros(-1000000));
}

TEST(EpochToEventTimeTest, RejectsOutsideYears1To9999AndNonFinite) {
  EventTime t;
  // 9999-12-31T23:59:59Z is the last second accepted.
  EXPECT_TRUE(EpochToEventTime(int64_t{253402300799}, TimestampFormat::kEpochSeconds, t));
  EXPECT_FALSE(EpochToEventTime(int64_t{253402300800}, TimestampFormat::kEpochSeconds, t));
  EXPECT_TRUE(EpochToEventTime(int64_t{-62135596800}, TimestampFormat::kEpochSeconds, t));
  EXPECT_FALSE(EpochToEventTime(int64_t{-62135596801}, TimestampFormat::kEpochSeconds, t));
  // Multiplication overflow is a rejection, not UB.
  EXPECT_FALSE(
      EpochToEventTime(std::numeric_limits<int64_t>::max(), TimestampFormat::kEpochSeconds, t));
  EXPECT_FALSE(
      EpochToEventTime(std::numeric_limits<int64_t>::min(), TimestampFormat::kEpochMillis, t));
  EXPECT_FALSE(EpochToEventTime(std::nan(""), TimestampFormat::kEpochSeconds, t));
  EXPECT_FALSE(EpochToEventTime(HUGE_VAL, TimestampFormat::kEpochMillis, t));
  EXPECT_FALSE(EpochToEventTime(1e300, TimestampFormat::kEpochSeconds, t));
}

TEST(ConvertTextTest, String) {
  auto c = Convert(" a b ", Field(FieldType::kString));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row.GetString(0), " a b ");
}

TEST(ConvertTextTest, Int) {
  auto c = Convert("-42", Field(FieldType::kInt));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].int_value(), -42);
  c = Convert("9223372036854775807", Field(FieldType::kInt));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].int_value(), std::numeric_limits<int64_t>::max());
}

TEST(ConvertTextTest, IntErrors) {
  for (std::string_view bad :
       {"1.5", "1e3", "abc", "12abc", "-", "0x10", "nan", "+1", "99999999999999999999abc"}) {
    auto c = Convert(bad, Field(FieldType::kInt));
    EXPECT_FALSE(c.ok) << bad;
    EXPECT_EQ(c.err.code, "wrong_type") << bad;
    EXPECT_EQ(c.err.field, "x");
    EXPECT_NE(c.err.message.find("expected an int"), std::string::npos) << c.err.message;
  }
  for (std::string_view big :
       {"9223372036854775808", "-9223372036854775809", "99999999999999999999999"}) {
    auto c = Convert(big, Field(FieldType::kInt));
    EXPECT_FALSE(c.ok) << big;
    EXPECT_EQ(c.err.code, "out_of_range") << big;
    EXPECT_NE(c.err.message.find("64-bit"), std::string::npos) << c.err.message;
  }
}

TEST(ConvertTextTest, Double) {
  auto c = Convert("10.5", Field(FieldType::kDouble));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].double_value(), 10.5);
  c = Convert("-1e3", Field(FieldType::kDouble));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].double_value(), -1000);
  c = Convert("7", Field(FieldType::kDouble));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].kind(), Value::Kind::kDouble);
}

TEST(ConvertTextTest, DoubleRejectsNaNAndInfinityText) {
  for (std::string_view bad : {"NaN", "nan", "-nan", "Infinity", "inf", "-Infinity", "INF"}) {
    auto c = Convert(bad, Field(FieldType::kDouble));
    EXPECT_FALSE(c.ok) << bad;
    EXPECT_EQ(c.err.code, "not_finite") << bad;
    EXPECT_NE(c.err.message.find("not a finite number"), std::string::npos) << c.err.message;
  }
}

TEST(ConvertTextTest, DoubleOutOfRange) {
  for (std::string_view big : {"1e400", "-1e400"}) {
    auto c = Convert(big, Field(FieldType::kDouble));
    EXPECT_FALSE(c.ok) << big;
    EXPECT_EQ(c.err.code, "out_of_range") << big;
  }
}

TEST(ConvertTextTest, DoubleUnderflowIsZeroLikeJson) {
  // A number too small for a double is (a signed) zero, as simdjson reads it
  // in JSON; it is not "out of range".
  auto c = Convert("1e-400", Field(FieldType::kDouble));
  ASSERT_TRUE(c.ok) << c.err.message;
  EXPECT_EQ(c.row[0].double_value(), 0.0);
  c = Convert("-1e-400", Field(FieldType::kDouble));
  ASSERT_TRUE(c.ok) << c.err.message;
  EXPECT_EQ(c.row[0].double_value(), 0.0);
  c = Convert("4.9e-324", Field(FieldType::kDouble));  // the smallest subnormal
  ASSERT_TRUE(c.ok) << c.err.message;
  EXPECT_GT(c.row[0].double_value(), 0.0);
}

TEST(ConvertTextTest, DoubleWrongType) {
  for (std::string_view bad : {"abc", "1.2.3", "1,5", "--1"}) {
    auto c = Convert(bad, Field(FieldType::kDouble));
    EXPECT_FALSE(c.ok) << bad;
    EXPECT_EQ(c.err.code, "wrong_type") << bad;
  }
}

TEST(ConvertTextTest, Bool) {
  for (std::string_view t : {"true", "TRUE", "True", "1"}) {
    auto c = Convert(t, Field(FieldType::kBool));
    ASSERT_TRUE(c.ok) << t;
    EXPECT_TRUE(c.row[0].bool_value()) << t;
  }
  for (std::string_view f : {"false", "FALSE", "False", "0"}) {
    auto c = Convert(f, Field(FieldType::kBool));
    ASSERT_TRUE(c.ok) << f;
    EXPECT_FALSE(c.row[0].bool_value()) << f;
  }
  for (std::string_view bad : {"yes", "2", "t"}) {
    auto c = Convert(bad, Field(FieldType::kBool));
    EXPECT_FALSE(c.ok) << bad;
    EXPECT_EQ(c.err.code, "wrong_type") << bad;
  }
}

TEST(ConvertTextTest, TimestampIso8601) {
  auto c = Convert("2024-05-01T14:00:00+02:00", Field(FieldType::kTimestamp));
  ASSERT_TRUE(c.ok) << c.err.message;
  EXPECT_EQ(c.row[0].timestamp_value(), EventTime::FromMicros(1714564800LL * 1000000));
  c = Convert("2024-05-01T12:00:00.250Z", Field(FieldType::kTimestamp));
  ASSERT_TRUE(c.ok) << c.err.message;
  EXPECT_EQ(c.row[0].timestamp_value(), EventTime::FromMicros(1714564800250000LL));
  c = Convert("2024-05-01 12:00:00", Field(FieldType::kTimestamp));
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.err.code, "bad_timestamp");
  EXPECT_EQ(c.err.field, "x");
  c = Convert("1714564800", Field(FieldType::kTimestamp));
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.err.code, "bad_timestamp");
}

TEST(ConvertTextTest, TimestampEpoch) {
  auto s = Field(FieldType::kTimestamp, TimestampFormat::kEpochSeconds);
  auto ms = Field(FieldType::kTimestamp, TimestampFormat::kEpochMillis);
  auto c = Convert("1714564800", s);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].timestamp_value(), EventTime::FromMicros(1714564800LL * 1000000));
  c = Convert("1714564800.5", s);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].timestamp_value(), EventTime::FromMicros(1714564800500000LL));
  c = Convert("1714564800123", ms);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.row[0].timestamp_value(), EventTime::FromMicros(1714564800123000LL));
  c = Convert("1714564800123", s);  // millis read as seconds: year > 9999
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.err.code, "bad_timestamp");
  c = Convert("2024-05-01T12:00:00Z", ms);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.err.code, "wrong_type");
  EXPECT_NE(c.err.message.find("epoch milliseconds"), std::string::npos);
  c = Convert("nan", s);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.err.code, "bad_timestamp");
}

}  // namespace
}  // namespace eddy
