// The hashes decide where hashed features land and whether snapshots are
// intact: check them against published / independently computed values
// (the Python mmh3 package for MurmurHash3).

#include "model/hashing.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace eddy {
namespace {

TEST(HashingTest, MurmurHash3x86_32KnownValues) {
  EXPECT_EQ(MurmurHash3_x86_32("", 0), 0u);
  EXPECT_EQ(MurmurHash3_x86_32("", 1), 0x514E28B7u);
  EXPECT_EQ(MurmurHash3_x86_32("", 0xFFFFFFFF), 0x81F16F39u);
  EXPECT_EQ(MurmurHash3_x86_32(std::string_view("\0\0\0\0", 4), 0), 0x2362F9DEu);
  EXPECT_EQ(MurmurHash3_x86_32("aaaa", 0x9747B28C), 0x5A97808Au);
  EXPECT_EQ(MurmurHash3_x86_32("Hello, world!", 0x9747B28C), 0x24884CBAu);
  EXPECT_EQ(MurmurHash3_x86_32("The quick brown fox jumps over the lazy dog", 0x9747B28C),
            0x2FA826CDu);
  EXPECT_EQ(MurmurHash3_x86_32("country=FR", 0), 0xB8D22113u);
}

TEST(HashingTest, MurmurHash3x64_128KnownValues) {
  EXPECT_EQ(MurmurHash3_x64_128("", 0), (std::array<uint64_t, 2>{0, 0}));
  EXPECT_EQ(MurmurHash3_x64_128("hello", 0),
            (std::array<uint64_t, 2>{0xcbd8a7b341bd9b02ULL, 0x5b1e906a48ae1d19ULL}));
  EXPECT_EQ(MurmurHash3_x64_128("The quick brown fox jumps over the lazy dog", 42),
            (std::array<uint64_t, 2>{0x740dcf93fe0bd5d7ULL, 0xc4546cf4ec705c8fULL}));
  EXPECT_EQ(ContentHash("hello"), "cbd8a7b341bd9b025b1e906a48ae1d19");
}

TEST(HashingTest, Crc32cCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(HashingTest, FeatureHasherIsFieldEqualsValue) {
  FeatureHasher h(10, 0, /*signed_hash=*/false);
  EXPECT_EQ(h.size(), 1024u);
  auto s = h.Hash("country", "FR");
  EXPECT_EQ(s.index, 0xB8D22113u & 1023);
  EXPECT_EQ(s.sign, 1.0);
  FeatureHasher signed_h(10, 0, /*signed_hash=*/true);
  EXPECT_EQ(signed_h.Hash("country", "FR").sign, -1.0);  // bit 31 of 0xB8D22113 is set
  // Keys longer than the stack buffer hash the same way.
  const std::string long_value(1000, 'x');
  EXPECT_EQ(h.Hash("f", long_value).index, MurmurHash3_x86_32("f=" + long_value, 0) & 1023);
  // The field is part of the key.
  EXPECT_NE(FeatureHasher(20, 0, false).Hash("a", "x").index,
            FeatureHasher(20, 0, false).Hash("b", "x").index);
}

TEST(HashingTest, SpreadsValues) {
  FeatureHasher h(16, 7, false);
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(h.Hash("user", std::to_string(i)).index);
  EXPECT_GT(seen.size(), 990u);
}

}  // namespace
}  // namespace eddy
