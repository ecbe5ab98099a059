#include "base/strings.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/utf8.h"

namespace eddy {
namespace {

std::string Double(double v) {
  std::string out;
  AppendDouble(out, v);
  return out;
}

TEST(AppendDoubleTest, ShortestFormOfDecimalFractions) {
  EXPECT_EQ(Double(0.1), "0.1");
  EXPECT_EQ(Double(0.25), "0.25");
  EXPECT_EQ(Double(-2.5), "-2.5");
  EXPECT_EQ(Double(0.1 + 0.2), "0.30000000000000004");
}

TEST(AppendDoubleTest, IntegralValuesPrintWithoutFraction) {
  EXPECT_EQ(Double(0.0), "0");
  EXPECT_EQ(Double(3.0), "3");
  EXPECT_EQ(Double(-42.0), "-42");
  EXPECT_EQ(Double(123456.0), "123456");
}

TEST(AppendDoubleTest, NegativeZeroKeepsItsSign) { EXPECT_EQ(Double(-0.0), "-0"); }

TEST(AppendDoubleTest, LargeAndSmallMagnitudesUseExponents) {
  EXPECT_EQ(Double(1e300), "1e+300");
  EXPECT_EQ(Double(1e-300), "1e-300");
  EXPECT_EQ(Double(1e21), "1e+21");
  EXPECT_EQ(Double(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(Double(std::numeric_limits<double>::denorm_min()), "5e-324");
}

TEST(AppendDoubleTest, NonFiniteValues) {
  EXPECT_EQ(Double(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(Double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(Double(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(AppendDoubleTest, AppendsToExistingText) {
  std::string out = "x=";
  AppendDouble(out, 1.5);
  EXPECT_EQ(out, "x=1.5");
}

TEST(AppendDoubleTest, RandomBitPatternsReadBackExactly) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    if (!std::isfinite(v)) continue;
    std::string text = Double(v);
    double back = std::strtod(text.c_str(), nullptr);
    uint64_t back_bits;
    std::memcpy(&back_bits, &back, sizeof(back));
    ASSERT_EQ(back_bits, bits) << text;
  }
}

TEST(AppendIntTest, ExtremesAndZero) {
  std::string out;
  AppendInt(out, 0);
  out += ' ';
  AppendInt(out, std::numeric_limits<int64_t>::min());
  out += ' ';
  AppendInt(out, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(out, "0 -9223372036854775808 9223372036854775807");
}

TEST(StrCatTest, ConcatenatesMixedTypes) {
  std::string s = "str";
  std::string_view sv = "view";
  EXPECT_EQ(StrCat("a", s, sv, 'c', 42, -7, true, false, 2.5), "astrviewc42-7truefalse2.5");
}

TEST(StrCatTest, IntegersOfEveryWidth) {
  EXPECT_EQ(StrCat(uint64_t{18446744073709551615u}), "18446744073709551615");
  EXPECT_EQ(StrCat(int64_t{-9223372036854775807 - 1}), "-9223372036854775808");
  EXPECT_EQ(StrCat(static_cast<uint8_t>(200)), "200");
  EXPECT_EQ(StrCat(size_t{0}), "0");
}

TEST(StrCatTest, NoArgumentsIsEmpty) { EXPECT_EQ(StrCat(), ""); }

TEST(StrAppendTest, AppendsInPlace) {
  std::string out = "n=";
  StrAppend(out, 1, ", m=", 0.5);
  EXPECT_EQ(out, "n=1, m=0.5");
}

TEST(StrJoinTest, JoinsWithSeparator) {
  std::vector<std::string> items = {"a", "b", "c"};
  EXPECT_EQ(StrJoin(items, ", "), "a, b, c");
  EXPECT_EQ(StrJoin(items, ", ", /*quote=*/true), "'a', 'b', 'c'");
  EXPECT_EQ(StrJoin(std::vector<std::string>{}, ", "), "");
  EXPECT_EQ(StrJoin(std::vector<std::string>{"only"}, ", "), "only");
}

TEST(QuoteTest, WrapsInSingleQuotes) {
  EXPECT_EQ(Quote("abc"), "'abc'");
  EXPECT_EQ(Quote(""), "''");
}

TEST(QuoteTest, EscapesControlCharacters) {
  EXPECT_EQ(Quote("a\nb"), "'a\\nb'");
  EXPECT_EQ(Quote("a\rb\tc"), "'a\\rb\\tc'");
  EXPECT_EQ(Quote(std::string_view("\x01\x1f\x7f", 3)), "'\\x01\\x1f\\x7f'");
  EXPECT_EQ(Quote(std::string_view("a\0b", 3)), "'a\\x00b'");
}

TEST(QuoteTest, KeepsQuotesBackslashesAndUtf8AsIs) {
  EXPECT_EQ(Quote("it's"), "'it's'");
  EXPECT_EQ(Quote("a\\b"), "'a\\b'");
  EXPECT_EQ(Quote("caf\xc3\xa9"), "'caf\xc3\xa9'");
}

TEST(QuoteTest, EscapesBytesThatAreNotUtf8) {
  // Messages go into JSON output, which must be valid UTF-8.
  EXPECT_EQ(Quote("a\xff\xfe"), "'a\\xff\\xfe'");
  EXPECT_EQ(Quote("\xc3("), "'\\xc3('");                  // truncated sequence
  EXPECT_EQ(Quote("\xed\xa0\x80"), "'\\xed\\xa0\\x80'");  // surrogate
  EXPECT_EQ(Quote("\xe2\x82\xac\x80"), "'\xe2\x82\xac\\x80'");
}

TEST(QuoteTest, ShorteningNeverSplitsACharacter) {
  // "é" is two bytes; a limit that falls inside it stops before it.
  EXPECT_EQ(Quote("ab\xc3\xa9", 3), "'ab...'");
  EXPECT_EQ(Quote("ab\xc3\xa9", 4), "'ab\xc3\xa9'");
  EXPECT_EQ(Quote("\xf0\x9f\x98\x80x", 2), "'...'");
  std::string accents;
  for (int k = 0; k < 100; ++k) accents += "a\xc3\xa9";
  std::string q = Quote(accents);
  EXPECT_TRUE(IsValidUtf8(q)) << q;
  EXPECT_TRUE(q.ends_with("...'"));
}

TEST(QuoteTest, TruncatesLongTextWithEllipsis) {
  EXPECT_EQ(Quote("abcdef", 3), "'abc...'");
  EXPECT_EQ(Quote("abc", 3), "'abc'");
  std::string long_text(200, 'x');
  EXPECT_EQ(Quote(long_text), "'" + std::string(80, 'x') + "...'");
}

TEST(EditDistanceTest, ClassicExamples) {
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("flaw", "lawn"), 2u);
  EXPECT_EQ(EditDistance("same", "same"), 0u);
}

TEST(EditDistanceTest, EmptyStringsCostTheOtherLength) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("abcd", ""), 4u);
}

TEST(EditDistanceTest, IsSymmetric) {
  EXPECT_EQ(EditDistance("amount", "amout"), EditDistance("amout", "amount"));
  EXPECT_EQ(EditDistance("idle_timeout", "timeout"), EditDistance("timeout", "idle_timeout"));
}

TEST(SuggestNameTest, SuggestsTheClosestCandidateForATypo) {
  std::vector<std::string> keys = {"max_out_of_orderness", "allowed_lateness", "idle_timeout"};
  EXPECT_EQ(SuggestName("idle_timout", keys), "idle_timeout");
  EXPECT_EQ(SuggestName("alowed_lateness", keys), "allowed_lateness");
  EXPECT_EQ(SuggestName("Idle_Timeout", keys), "idle_timeout");
}

TEST(SuggestNameTest, SuggestsACandidateThatStartsWithATruncatedName) {
  std::vector<std::string> keys = {"max_out_of_orderness", "allowed_lateness", "idle_timeout"};
  EXPECT_EQ(SuggestName("max_out_of_order", keys), "max_out_of_orderness");
}

TEST(SuggestNameTest, ShortNamesAllowOneEdit) {
  std::vector<std::string> names = {"id", "key", "amount"};
  EXPECT_EQ(SuggestName("ky", names), "key");
  EXPECT_EQ(SuggestName("xyz", names), "");
}

TEST(SuggestNameTest, NoSuggestionForUnrelatedNames) {
  std::vector<std::string> keys = {"max_out_of_orderness", "allowed_lateness", "idle_timeout"};
  EXPECT_EQ(SuggestName("color", keys), "");
  EXPECT_EQ(SuggestName("partitions", keys), "");
  EXPECT_EQ(SuggestName("x", std::vector<std::string>{}), "");
}

TEST(TrimTest, RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim("\tx"), "x");
  EXPECT_EQ(Trim("x"), "x");
  EXPECT_EQ(Trim(" \n\t "), "");
  EXPECT_EQ(Trim(""), "");
}

TEST(StartsEndsWithTest, Basics) {
  EXPECT_TRUE(StartsWith("pipeline.yaml", "pipe"));
  EXPECT_TRUE(StartsWith("x", ""));
  EXPECT_FALSE(StartsWith("pi", "pipe"));
  EXPECT_TRUE(EndsWith("pipeline.yaml", ".yaml"));
  EXPECT_FALSE(EndsWith("yaml", ".yaml"));
}

}  // namespace
}  // namespace eddy
