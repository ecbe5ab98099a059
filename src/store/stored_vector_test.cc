#include "store/stored_vector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "base/coding.h"
#include "test_util.h"

namespace eddy {
namespace {

FeatureValue List(std::initializer_list<std::string_view> items) {
  FeatureValue v;
  auto& list = v.SetList();
  for (std::string_view s : items) list.emplace_back(s);
  return v;
}

// One value of every type, with the edge cases of each.
StoredVector EveryType() {
  StoredVector v;
  v.event_time = EventTime::FromMicros(1714564800123456);  // 2024-05-01T12:00:00.123456Z
  v.computed_at = ProcessingTime::FromMicros(1714564801000000);
  v.values = {
      FeatureValue::Null(),
      FeatureValue::Bool(false),
      FeatureValue::Bool(true),
      FeatureValue::Int(0),
      FeatureValue::Int(-1),
      FeatureValue::Int(std::numeric_limits<int64_t>::min()),
      FeatureValue::Int(std::numeric_limits<int64_t>::max()),
      FeatureValue::Double(0.1),
      FeatureValue::Double(-2.5e300),
      FeatureValue::Double(std::numeric_limits<double>::denorm_min()),
      FeatureValue::String(""),
      FeatureValue::String("DE"),
      FeatureValue::String("h\xC3\xA9llo, \xE2\x82\xAC"),
      FeatureValue::String(std::string_view("a\0b", 3)),
      List({}),
      List({"m1", "", "m\xC3\xBC"}),
  };
  return v;
}

std::string Encode(const StoredVector& v) {
  std::string out;
  EncodeStoredVector(v, out);
  return out;
}

TEST(StoredVectorTest, EveryValueTypeRoundTrips) {
  const StoredVector v = EveryType();
  Result<StoredVector> back = DecodeStoredVector(Encode(v));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, v);
  ASSERT_EQ(back->values.size(), v.values.size());
  EXPECT_EQ(back->values[10].type(), FeatureValue::Type::kString);  // "" is not null
  EXPECT_EQ(back->values[14].type(), FeatureValue::Type::kList);    // [] is not null
  EXPECT_EQ(back->values[13].string_value(), std::string("a\0b", 3));
}

TEST(StoredVectorTest, EmptyVectorAndExtremeTimesRoundTrip) {
  for (int64_t t : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    StoredVector v;
    v.event_time = EventTime::FromMicros(t);
    v.computed_at = ProcessingTime::FromMicros(t / -3);
    Result<StoredVector> back = DecodeStoredVector(Encode(v));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, v) << t;
  }
}

TEST(StoredVectorTest, EncodingAppendsAndStartsWithTheVersion) {
  std::string out = "prefix";
  EncodeStoredVector(EveryType(), out);
  ASSERT_GT(out.size(), 6u);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out[6], 1);  // format version 1
}

TEST(StoredVectorTest, EveryTruncationIsACorruptionError) {
  const std::string bytes = Encode(EveryType());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<StoredVector> r = DecodeStoredVector(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "a prefix of " << n << " bytes decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  }
}

TEST(StoredVectorTest, EveryFlippedByteFailsCleanlyOrDecodes) {
  // No single corrupted byte may crash the decoder; it either reports
  // corruption or yields some vector (a flipped bit inside a value is not
  // detectable without a checksum, which the store's layer provides).
  const std::string bytes = Encode(EveryType());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      Result<StoredVector> r = DecodeStoredVector(bad);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
      }
    }
  }
}

TEST(StoredVectorTest, TrailingBytesAreCorruption) {
  Result<StoredVector> r = DecodeStoredVector(Encode(EveryType()) + "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("trailing"), std::string::npos) << r.status().message();
}

TEST(StoredVectorTest, UnknownVersionIsCorruptionNamingTheVersion) {
  std::string bytes = Encode(EveryType());
  bytes[0] = 2;
  Result<StoredVector> r = DecodeStoredVector(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("version 2"), std::string::npos) << r.status().message();
}

TEST(StoredVectorTest, EmptyInputIsCorruption) {
  Result<StoredVector> r = DecodeStoredVector("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

// The header of a version-1 vector with `n` values.
std::string Header(uint64_t n) {
  std::string out(1, '\x01');
  PutSigned(out, 10);
  PutSigned(out, 20);
  PutVarint64(out, n);
  return out;
}

TEST(StoredVectorTest, UnknownTagIsCorruption) {
  std::string bytes = Header(1);
  bytes.push_back(7);
  Result<StoredVector> r = DecodeStoredVector(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("unknown value tag 7"), std::string::npos)
      << r.status().message();
}

TEST(StoredVectorTest, ImpossibleCountsAreCorruptionNotAllocation) {
  // A count larger than the bytes left cannot be honest; the decoder must not
  // try to allocate it.
  Result<StoredVector> values = DecodeStoredVector(Header(uint64_t{1} << 62));
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kCorruption);

  std::string list = Header(1);
  list.push_back(6);  // list
  PutVarint64(list, uint64_t{1} << 40);
  Result<StoredVector> items = DecodeStoredVector(list);
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), StatusCode::kCorruption);

  std::string str = Header(1);
  str.push_back(5);  // string
  PutVarint64(str, 1000);
  str += "short";
  Result<StoredVector> s = DecodeStoredVector(str);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
}

TEST(StoredVectorTest, NonFiniteDoubleBitsDecodeAsNull) {
  // Encoders never write them (FeatureValue turns them into null); a reader
  // keeps the "never NaN" promise for bytes from elsewhere.
  for (double d : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    std::string bytes = Header(1);
    bytes.push_back(4);  // double
    PutDouble(bytes, d);
    Result<StoredVector> r = DecodeStoredVector(bytes);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->values.size(), 1u);
    EXPECT_TRUE(r->values[0].is_null());
  }
}

// The worked example of docs/formats/feature-vector.md.
TEST(StoredVectorTest, DocumentedExampleEncodesAsShown) {
  StoredVector v;
  v.event_time = EventTime::FromMicros(1714564800000000);
  v.computed_at = ProcessingTime::FromMicros(1714564800000150);
  v.values = {FeatureValue::Int(3), FeatureValue::Double(12.5), FeatureValue::String("DE"),
              FeatureValue::Null()};
  const unsigned char expected[] = {
      0x01,                                                  // version
      0x80, 0xc0, 0xc9, 0x9d, 0xe7, 0xd8, 0x8b, 0x06,        // event_time
      0xac, 0xc2, 0xc9, 0x9d, 0xe7, 0xd8, 0x8b, 0x06,        // computed_at
      0x04,                                                  // 4 values
      0x03, 0x06,                                            // int 3
      0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x29, 0x40,  // double 12.5
      0x05, 0x02, 'D',  'E',                                 // string "DE"
      0x00,                                                  // null
  };
  EXPECT_EQ(Encode(v), std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

// src/store/testdata/vector_v1.bin was written once by the version-1 encoder
// from EveryType(). If this fails, the format changed: bump the version, keep
// a reader for version 1 and document both in docs/formats/feature-vector.md.
TEST(StoredVectorTest, ReadsAFileWrittenByVersion1) {
  const std::string file =
      testing::ReadFile(testing::SourceDir() + "/src/store/testdata/vector_v1.bin");
  ASSERT_FALSE(file.empty());
  Result<StoredVector> v = DecodeStoredVector(file);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, EveryType());
  EXPECT_EQ(Encode(EveryType()), file) << "the encoder no longer writes version 1 bytes";
}

}  // namespace
}  // namespace eddy
