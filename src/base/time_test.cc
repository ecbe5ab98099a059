#include "base/time.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace eddy {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t DurationMicros(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().ToString();
  return d.ok() ? d->micros() : -1;
}

std::string DurationError(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  EXPECT_FALSE(d.ok()) << text << " parsed as " << (d.ok() ? d->micros() : 0) << "us";
  return d.ok() ? "" : d.status().message();
}

int64_t IsoMicros(std::string_view text) {
  Result<EventTime> t = ParseIso8601(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? t->micros() : INT64_MIN;
}

std::string IsoError(std::string_view text) {
  Result<EventTime> t = ParseIso8601(text);
  EXPECT_FALSE(t.ok()) << text << " parsed as " << (t.ok() ? t->micros() : 0);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  return t.ok() ? "" : t.status().message();
}

// ---- ParseDuration ----

TEST(ParseDurationTest, SingleUnits) {
  EXPECT_EQ(DurationMicros("250us"), 250);
  EXPECT_EQ(DurationMicros("500ms"), 500 * 1000);
  EXPECT_EQ(DurationMicros("5s"), 5 * kSecond);
  EXPECT_EQ(DurationMicros("1m"), kMinute);
  EXPECT_EQ(DurationMicros("2h"), 2 * kHour);
  EXPECT_EQ(DurationMicros("7d"), 7 * kDay);
  EXPECT_EQ(DurationMicros("2w"), 14 * kDay);
}

TEST(ParseDurationTest, CombinedUnitsLargestFirst) {
  EXPECT_EQ(DurationMicros("1h30m"), kHour + 30 * kMinute);
  EXPECT_EQ(DurationMicros("1d2h3m4s5ms6us"),
            kDay + 2 * kHour + 3 * kMinute + 4 * kSecond + 5 * 1000 + 6);
  EXPECT_EQ(DurationMicros("1m500ms"), kMinute + 500 * 1000);
}

TEST(ParseDurationTest, Fractions) {
  EXPECT_EQ(DurationMicros("1.5h"), kHour + 30 * kMinute);
  EXPECT_EQ(DurationMicros("0.5s"), 500 * 1000);
  EXPECT_EQ(DurationMicros(".25s"), 250 * 1000);
  EXPECT_EQ(DurationMicros("1.5ms"), 1500);
}

TEST(ParseDurationTest, ZeroWithOrWithoutUnit) {
  EXPECT_EQ(DurationMicros("0"), 0);
  EXPECT_EQ(DurationMicros("0s"), 0);
  EXPECT_EQ(DurationMicros("0ms"), 0);
}

TEST(ParseDurationTest, SurroundingWhitespaceIsIgnored) {
  EXPECT_EQ(DurationMicros("  5s "), 5 * kSecond);
}

TEST(ParseDurationTest, NegativeIsRejected) {
  std::string msg = DurationError("-5s");
  EXPECT_NE(msg.find("durations must be zero or positive"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'-5s'"), std::string::npos) << msg;
}

TEST(ParseDurationTest, MissingUnitIsRejected) {
  std::string msg = DurationError("5");
  EXPECT_NE(msg.find("has no unit"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a duration like"), std::string::npos) << msg;
}

TEST(ParseDurationTest, UnknownUnitIsRejected) {
  std::string msg = DurationError("5x");
  EXPECT_NE(msg.find("unknown unit 'x'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("units are us, ms, s, m, h, d, w"), std::string::npos) << msg;
}

TEST(ParseDurationTest, UppercaseUnitIsAnUnknownUnit) {
  std::string msg = DurationError("5S");
  EXPECT_NE(msg.find("unknown unit 'S'"), std::string::npos) << msg;
}

TEST(ParseDurationTest, EmptyIsRejected) {
  EXPECT_NE(DurationError("").find("empty duration"), std::string::npos);
  EXPECT_NE(DurationError("   ").find("empty duration"), std::string::npos);
}

TEST(ParseDurationTest, UnitsOutOfOrderAreRejected) {
  std::string msg = DurationError("30m1h");
  EXPECT_NE(msg.find("largest to smallest"), std::string::npos) << msg;
  EXPECT_NE(DurationError("1s1s").find("largest to smallest"), std::string::npos);
}

TEST(ParseDurationTest, MalformedNumbersAreRejected) {
  DurationError("abc");
  DurationError("s");
  DurationError(".s");
  DurationError("1h 30m");
  DurationError("1h30");
}

TEST(ParseDurationTest, TooLargeIsOutOfRange) {
  Result<Duration> d = ParseDuration("9999999999999w");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(d.status().message().find("too large"), std::string::npos);
}

// ---- FormatDuration ----

TEST(FormatDurationTest, ShortestForm) {
  EXPECT_EQ(FormatDuration(Duration::Zero()), "0s");
  EXPECT_EQ(FormatDuration(Duration::Millis(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(Duration::Days(14)), "14d");
  EXPECT_EQ(FormatDuration(Duration::Micros(1001)), "1ms1us");
  EXPECT_EQ(FormatDuration(Duration::Seconds(-5)), "-5s");
  EXPECT_EQ(FormatDuration(Duration::Infinite()), "inf");
}

TEST(FormatDurationTest, RoundTripsThroughParseDuration) {
  const int64_t samples[] = {0,     1,    999,      1000,     1500,        kSecond,  kMinute,
                             kHour, kDay, 7 * kDay, 90061001, 86399999999, kDay + 1, 123456789012};
  for (int64_t us : samples) {
    Duration d = Duration::Micros(us);
    std::string text = FormatDuration(d);
    EXPECT_EQ(DurationMicros(text), us) << text;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    int64_t us = static_cast<int64_t>(rng() >> 8);  // up to ~2^56 us, about 2000 years
    std::string text = FormatDuration(Duration::Micros(us));
    ASSERT_EQ(DurationMicros(text), us) << text;
  }
}

// ---- ParseIso8601 ----

TEST(ParseIso8601Test, UtcWithZ) {
  EXPECT_EQ(IsoMicros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00Z"), 1714564800 * kSecond);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00z"), 1714564800 * kSecond);
}

TEST(ParseIso8601Test, PositiveOffsetWithColon) {
  EXPECT_EQ(IsoMicros("2024-05-01T14:00:00+02:00"), 1714564800 * kSecond);
}

TEST(ParseIso8601Test, NegativeOffsetWithoutColon) {
  EXPECT_EQ(IsoMicros("2024-05-01T07:00:00-0500"), 1714564800 * kSecond);
}

TEST(ParseIso8601Test, OffsetWithMinutes) {
  EXPECT_EQ(IsoMicros("2024-05-01T17:45:00+05:45"), 1714564800 * kSecond);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00+00:00"), 1714564800 * kSecond);
}

TEST(ParseIso8601Test, OffsetOfHoursOnly) {
  EXPECT_EQ(IsoMicros("2024-05-01T14:00:00+02"), 1714564800 * kSecond);
}

TEST(ParseIso8601Test, FractionsOfASecond) {
  const int64_t base = 1714564800 * kSecond;
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00.5Z"), base + 500000);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00.123Z"), base + 123000);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00.123456Z"), base + 123456);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00,25Z"), base + 250000);
}

TEST(ParseIso8601Test, FractionsBeyondMicrosecondsAreTruncated) {
  const int64_t base = 1714564800 * kSecond;
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00.1234567Z"), base + 123456);
  EXPECT_EQ(IsoMicros("2024-05-01T12:00:00.999999999Z"), base + 999999);
}

TEST(ParseIso8601Test, DateAloneIsMidnightUtc) {
  EXPECT_EQ(IsoMicros("2024-05-01"), IsoMicros("2024-05-01T00:00:00Z"));
  EXPECT_EQ(IsoMicros("1970-01-02"), kDay);
}

TEST(ParseIso8601Test, SpaceSeparatorAndLowercaseT) {
  EXPECT_EQ(IsoMicros("2024-05-01 12:00:00Z"), 1714564800 * kSecond);
  EXPECT_EQ(IsoMicros("2024-05-01t12:00:00Z"), 1714564800 * kSecond);
  EXPECT_EQ(IsoMicros("2024-05-01 12:00:00-0500"), (1714564800 + 5 * 3600) * kSecond);
}

TEST(ParseIso8601Test, SecondsAreOptional) {
  EXPECT_EQ(IsoMicros("2024-05-01T12:00Z"), 1714564800 * kSecond);
}

TEST(ParseIso8601Test, LeapSecondFoldsOntoTheLastSecond) {
  EXPECT_EQ(IsoMicros("2016-12-31T23:59:60Z"), IsoMicros("2016-12-31T23:59:59Z"));
}

TEST(ParseIso8601Test, DatesBefore1970AreNegative) {
  EXPECT_EQ(IsoMicros("1969-12-31T23:59:59Z"), -kSecond);
  EXPECT_EQ(IsoMicros("1969-12-31T23:59:59.5Z"), -500000);
  EXPECT_EQ(IsoMicros("1900-01-01T00:00:00Z"), -2208988800LL * kSecond);
  EXPECT_EQ(IsoMicros("0001-01-01T00:00:00Z"), -62135596800LL * kSecond);
  EXPECT_EQ(IsoMicros("1970-01-01T00:00:00+01:00"), -kHour);
}

TEST(ParseIso8601Test, LeapDayIsAcceptedInLeapYears) {
  EXPECT_EQ(IsoMicros("2024-02-29T00:00:00Z"), IsoMicros("2024-03-01T00:00:00Z") - kDay);
  EXPECT_EQ(IsoMicros("2000-02-29"), IsoMicros("2000-03-01") - kDay);
}

TEST(ParseIso8601Test, LeapDayIsRejectedInOtherYears) {
  EXPECT_NE(IsoError("2023-02-29T00:00:00Z").find("day out of range"), std::string::npos);
  EXPECT_NE(IsoError("1900-02-29").find("day out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-02-30").find("day out of range"), std::string::npos);
}

TEST(ParseIso8601Test, BadMonthOrDayIsRejected) {
  EXPECT_NE(IsoError("2024-13-01T00:00:00Z").find("month out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-00-01T00:00:00Z").find("month out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-04-31T00:00:00Z").find("day out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-00T00:00:00Z").find("day out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-32").find("day out of range"), std::string::npos);
}

TEST(ParseIso8601Test, BadTimeOfDayIsRejected) {
  EXPECT_NE(IsoError("2024-05-01T24:00:00Z").find("time of day out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:60:00Z").find("time of day out of range"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:61Z").find("time of day out of range"), std::string::npos);
}

TEST(ParseIso8601Test, MissingOffsetIsRejected) {
  std::string msg = IsoError("2024-05-01T12:00:00");
  EXPECT_NE(msg.find("missing UTC offset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'2024-05-01T12:00:00'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected ISO-8601"), std::string::npos) << msg;
  EXPECT_NE(IsoError("2024-05-01T12:00:00.5").find("missing UTC offset"), std::string::npos);
}

TEST(ParseIso8601Test, BadOffsetsAreRejected) {
  EXPECT_NE(IsoError("2024-05-01T12:00:00+2").find("UTC offset must be"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00+02:0").find("UTC offset must be"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00+02:").find("UTC offset must be"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00+24:00").find("UTC offset out of range"),
            std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00+02:60").find("UTC offset out of range"),
            std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00Zjunk").find("unexpected text after the UTC offset"),
            std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00 Z").find("unexpected text after the time"),
            std::string::npos);
}

TEST(ParseIso8601Test, MalformedDatesAndTimesAreRejected) {
  EXPECT_NE(IsoError("").find("date must be YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(IsoError("24-05-01").find("date must be YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(IsoError("2024/05/01").find("date must be YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(IsoError("2024-5-1").find("date must be YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(IsoError("-2024-05-01").find("date must be YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01X12:00:00Z").find("expected 'T'"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T1:00:00Z").find("time must be"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:0Z").find("seconds must be two digits"), std::string::npos);
  EXPECT_NE(IsoError("2024-05-01T12:00:00.Z").find("empty fraction"), std::string::npos);
  EXPECT_NE(IsoError("1714564800").find("date must be YYYY-MM-DD"), std::string::npos);
}

// ---- FormatIso8601 ----

TEST(FormatIso8601Test, WholeSeconds) {
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(1714564800 * kSecond)), "2024-05-01T12:00:00Z");
}

TEST(FormatIso8601Test, MillisecondFractionUsesThreeDigits) {
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(1714564800 * kSecond + 250000)),
            "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(FormatIso8601(EventTime::FromMillis(1)), "1970-01-01T00:00:00.001Z");
}

TEST(FormatIso8601Test, MicrosecondFractionUsesSixDigits) {
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(1714564800 * kSecond + 123456)),
            "2024-05-01T12:00:00.123456Z");
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(1)), "1970-01-01T00:00:00.000001Z");
}

TEST(FormatIso8601Test, TimesBefore1970) {
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(-1)), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(-500000)), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(-kDay)), "1969-12-31T00:00:00Z");
  EXPECT_EQ(FormatIso8601(EventTime::FromMicros(-62135596800LL * kSecond)), "0001-01-01T00:00:00Z");
}

TEST(FormatIso8601Test, MinAndMaxPrintAsInfinities) {
  EXPECT_EQ(FormatIso8601(EventTime::Min()), "-inf");
  EXPECT_EQ(FormatIso8601(EventTime::Max()), "+inf");
}

TEST(FormatIso8601Test, TimesNextToMinAndMaxFormatWithoutOverflow) {
  // Regression: flooring the seconds of Min() + 1us used to negate and add to
  // a value next to INT64_MIN, overflowing.
  std::string near_min = FormatIso8601(EventTime::Min() + Duration::Micros(1));
  EXPECT_EQ(near_min, "-290308-12-21T19:59:05.224193Z");
  std::string near_max = FormatIso8601(EventTime::Max() - Duration::Micros(1));
  EXPECT_EQ(near_max, "294247-01-10T04:00:54.775806Z");
}

TEST(FormatIso8601Test, AppendsToExistingText) {
  std::string out = "t=";
  AppendIso8601(out, EventTime::FromMicros(0));
  EXPECT_EQ(out, "t=1970-01-01T00:00:00Z");
}

TEST(FormatIso8601Test, RoundTripsThroughParseIso8601) {
  std::mt19937_64 rng(99);
  // 0001-01-01 .. 9999-12-31, the years ParseIso8601 can read.
  const int64_t lo = -62135596800LL * kSecond;
  const int64_t hi = 253402300799LL * kSecond + 999999;
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  for (int i = 0; i < 20000; ++i) {
    int64_t us = dist(rng);
    if (i % 3 == 0) us -= us % kSecond;  // whole seconds
    if (i % 3 == 1) us -= us % 1000;     // whole milliseconds
    std::string text = FormatIso8601(EventTime::FromMicros(us));
    ASSERT_EQ(IsoMicros(text), us) << text;
  }
}

// ---- Civil dates ----

TEST(CivilDaysTest, KnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1970, 1, 2), 1);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 5, 1), 19844);
  EXPECT_EQ(DaysFromCivil(0, 3, 1), -719468);
}

TEST(CivilDaysTest, RoundTripsOverAWideRange) {
  // About +-2.7 million years around the epoch, every day in a window around
  // the epoch and around era boundaries, and a coarse sweep beyond.
  int64_t prev_y = 0;
  unsigned prev_m = 0, prev_d = 0;
  for (int64_t days = -1000000; days <= 1000000; ++days) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    ASSERT_GE(m, 1u);
    ASSERT_LE(m, 12u);
    ASSERT_GE(d, 1u);
    ASSERT_LE(d, 31u);
    ASSERT_EQ(DaysFromCivil(y, m, d), days) << y << "-" << m << "-" << d;
    if (days > -1000000) {
      // Consecutive days are consecutive dates.
      bool next_day = y == prev_y && m == prev_m && d == prev_d + 1;
      bool next_month = y == prev_y && m == prev_m + 1 && d == 1;
      bool next_year = y == prev_y + 1 && m == 1 && d == 1 && prev_m == 12 && prev_d == 31;
      ASSERT_TRUE(next_day || next_month || next_year)
          << prev_y << "-" << prev_m << "-" << prev_d << " then " << y << "-" << m << "-" << d;
    }
    prev_y = y;
    prev_m = m;
    prev_d = d;
  }
  for (int64_t days = -1000000000; days <= 1000000000; days += 9973) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    ASSERT_EQ(DaysFromCivil(y, m, d), days);
  }
}

// ---- Saturating arithmetic ----

TEST(EventTimeTest, ArithmeticSaturatesAtMin) {
  EXPECT_EQ(EventTime::Min() - Duration::Hours(1), EventTime::Min());
  EXPECT_EQ(EventTime::Min() + Duration::Micros(-1), EventTime::Min());
  EXPECT_EQ(EventTime::Min() - Duration::Infinite(), EventTime::Min());
}

TEST(EventTimeTest, ArithmeticSaturatesAtMax) {
  EXPECT_EQ(EventTime::Max() + Duration::Hours(1), EventTime::Max());
  EXPECT_EQ(EventTime::Max() - Duration::Micros(-1), EventTime::Max());
  EXPECT_EQ(EventTime::FromMicros(1) + Duration::Infinite(), EventTime::Max());
}

TEST(EventTimeTest, OrdinaryArithmetic) {
  EventTime t = EventTime::FromMicros(1000);
  EXPECT_EQ((t + Duration::Millis(1)).micros(), 2000);
  EXPECT_EQ((t - Duration::Millis(2)).micros(), -1000);
  EXPECT_EQ((EventTime::FromMicros(5000) - t).micros(), 4000);
  EXPECT_EQ(EventTime::FromMillis(3).micros(), 3000);
  EXPECT_LT(EventTime::Min(), t);
  EXPECT_LT(t, EventTime::Max());
}

TEST(EventTimeTest, DifferenceOfExtremesSaturates) {
  EXPECT_EQ(EventTime::Max() - EventTime::Min(), Duration::Infinite());
  EXPECT_EQ((EventTime::Min() - EventTime::Max()).micros(), INT64_MIN);
}

TEST(DurationTest, UnitConstructors) {
  EXPECT_EQ(Duration::Millis(1).micros(), 1000);
  EXPECT_EQ(Duration::Seconds(1).micros(), kSecond);
  EXPECT_EQ(Duration::Minutes(1).micros(), kMinute);
  EXPECT_EQ(Duration::Hours(1).micros(), kHour);
  EXPECT_EQ(Duration::Days(1).micros(), kDay);
  EXPECT_DOUBLE_EQ(Duration::Millis(1500).seconds(), 1.5);
  EXPECT_DOUBLE_EQ(Duration::Micros(2500).millis(), 2.5);
}

TEST(DurationTest, ArithmeticSaturates) {
  EXPECT_EQ(Duration::Infinite() + Duration::Seconds(1), Duration::Infinite());
  EXPECT_TRUE((Duration::Infinite() + Duration::Seconds(1)).is_infinite());
  EXPECT_EQ((Duration::Micros(INT64_MIN) - Duration::Seconds(1)).micros(), INT64_MIN);
  EXPECT_EQ((-Duration::Micros(INT64_MIN)).micros(), INT64_MAX);
  EXPECT_EQ((Duration::Seconds(2) - Duration::Seconds(3)).micros(), -kSecond);
}

TEST(WatermarkTest, MinAndEndOfTime) {
  EXPECT_TRUE(Watermark().is_min());
  EXPECT_TRUE(Watermark::Min().is_min());
  EXPECT_TRUE(Watermark::EndOfTime().is_end_of_time());
  EXPECT_LT(Watermark(EventTime::FromMicros(5)), Watermark::EndOfTime());
}

TEST(ProcessingTimeTest, ArithmeticSaturates) {
  ProcessingTime p = ProcessingTime::FromMicros(INT64_MAX - 1);
  EXPECT_EQ((p + Duration::Seconds(1)).micros(), INT64_MAX);
  EXPECT_EQ((ProcessingTime::FromMicros(10) - ProcessingTime::FromMicros(4)).micros(), 6);
}

}  // namespace
}  // namespace eddy
