#include "base/coding.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace eddy {
namespace {

TEST(CodingTest, Crc32cMatchesRfc3720Vectors) {
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST(CodingTest, Crc32cCanBeComputedInPieces) {
  std::string data = "the quick brown fox jumps over the lazy dog, twice over";
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    uint32_t part = Crc32c(std::string_view(data).substr(0, cut));
    EXPECT_EQ(Crc32c(std::string_view(data).substr(cut), part), Crc32c(data)) << cut;
  }
}

TEST(CodingTest, IntegersRoundTrip) {
  std::string out;
  const uint64_t kUnsigned[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
  const int64_t kSigned[] = {0, -1, 1, -64, 64, INT64_MIN, INT64_MAX};
  for (uint64_t v : kUnsigned) PutVarint64(out, v);
  for (int64_t v : kSigned) PutSigned(out, v);
  PutFixed32(out, 0xDEADBEEF);
  PutFixed64(out, 0x0123456789ABCDEFull);
  PutDouble(out, -0.125);
  PutString(out, "hello");
  ByteReader in(out);
  for (uint64_t v : kUnsigned) {
    uint64_t got;
    ASSERT_TRUE(in.Varint64(got));
    EXPECT_EQ(got, v);
  }
  for (int64_t v : kSigned) {
    int64_t got;
    ASSERT_TRUE(in.Signed(got));
    EXPECT_EQ(got, v);
  }
  uint32_t f32;
  uint64_t f64;
  double d;
  std::string_view s;
  ASSERT_TRUE(in.Fixed32(f32) && in.Fixed64(f64) && in.Double(d) && in.String(s));
  EXPECT_EQ(f32, 0xDEADBEEFu);
  EXPECT_EQ(f64, 0x0123456789ABCDEFull);
  EXPECT_EQ(d, -0.125);
  EXPECT_EQ(s, "hello");
  EXPECT_TRUE(in.at_end());
}

TEST(CodingTest, TruncatedInputIsAnErrorNotAnOverread) {
  std::string out;
  PutString(out, "a longer string");
  for (size_t cut = 0; cut < out.size(); ++cut) {
    ByteReader in(std::string_view(out).substr(0, cut), "test input");
    std::string_view s;
    EXPECT_FALSE(in.String(s)) << cut;
    EXPECT_EQ(in.status().code(), StatusCode::kCorruption);
    EXPECT_NE(in.status().message().find("test input"), std::string::npos);
  }
}

TEST(CodingTest, OverlongVarintIsCorruption) {
  std::string bad(11, '\x80');
  ByteReader in(bad);
  uint64_t v;
  EXPECT_FALSE(in.Varint64(v));
  EXPECT_EQ(in.status().code(), StatusCode::kCorruption);
}

TEST(CodingTest, Varint32RejectsLargerValues) {
  std::string out;
  PutVarint64(out, uint64_t{1} << 40);
  ByteReader in(out);
  uint32_t v;
  EXPECT_FALSE(in.Varint32(v));
}

}  // namespace
}  // namespace eddy
