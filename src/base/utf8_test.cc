#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace eddy {
namespace {

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(Utf8Test, EmptyAndAsciiAreValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("hello, world"));
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));
  EXPECT_TRUE(IsValidUtf8("\x7f"));
}

TEST(Utf8Test, ValidMultiByteSequences) {
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9"));       // U+00E9, 2 bytes
  EXPECT_TRUE(IsValidUtf8("\xc2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xdf\xbf"));          // U+07FF, largest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xe0\xa0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));      // U+20AC euro sign
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));      // U+D7FF, just below surrogates
  EXPECT_TRUE(IsValidUtf8("\xee\x80\x80"));      // U+E000, just above surrogates
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xf0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));  // U+1F600 emoji
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the largest code point
  EXPECT_TRUE(IsValidUtf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"));
}

TEST(Utf8Test, OverlongFormsAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // U+0000 in 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // U+007F in 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\x80"));      // U+0000 in 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x9f\xbf"));      // U+07FF in 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\x80"));  // U+0000 in 4 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in 4 bytes
}

TEST(Utf8Test, SurrogatesAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // U+D800
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));  // U+DFFF
  // A CESU-8 style surrogate pair for U+1F600.
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\xbd\xed\xb8\x80"));
}

TEST(Utf8Test, CodePointsAboveMaxAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xf7\xbf\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // old 5-byte form
  EXPECT_FALSE(IsValidUtf8("\xfc\x84\x80\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(Utf8Test, TruncatedSequencesAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));
  EXPECT_FALSE(IsValidUtf8("abc\xf0\x9f"));
}

TEST(Utf8Test, BadContinuationBytesAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\x80"));  // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));  // second byte not a continuation
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82\x28"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98\x28"));
  EXPECT_FALSE(IsValidUtf8("\xc3\xa9\xa9"));  // one continuation too many
}

TEST(FirstInvalidUtf8Test, ValidTextGivesItsSize) {
  EXPECT_EQ(FirstInvalidUtf8(""), 0u);
  EXPECT_EQ(FirstInvalidUtf8("abc"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("caf\xc3\xa9"), 5u);
}

TEST(FirstInvalidUtf8Test, PointsAtTheStartOfTheBadSequence) {
  EXPECT_EQ(FirstInvalidUtf8("\xff"), 0u);
  EXPECT_EQ(FirstInvalidUtf8("ab\xffzz"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("caf\xc3\xa9\xc3"), 5u);            // truncated at the end
  EXPECT_EQ(FirstInvalidUtf8("\xe2\x82\xac\xed\xa0\x80x"), 3u);  // surrogate after a euro
  EXPECT_EQ(FirstInvalidUtf8("abc\xe2\x28\xa1"), 3u);            // bad 2nd byte: start of seq
  EXPECT_EQ(FirstInvalidUtf8("\xc3\xa9\x80"), 2u);               // stray continuation
}

TEST(FirstInvalidUtf8Test, AsciiFastPathBoundaries) {
  // The validator skips 8 ASCII bytes at a time; an invalid byte must be found
  // at every offset around and across those 8-byte blocks, for every length.
  for (size_t len = 0; len <= 33; ++len) {
    std::string ascii(len, 'a');
    EXPECT_EQ(FirstInvalidUtf8(ascii), len);
    for (size_t bad = 0; bad < len; ++bad) {
      std::string s = ascii;
      s[bad] = static_cast<char>(0xff);
      EXPECT_EQ(FirstInvalidUtf8(s), bad) << "len " << len;
      EXPECT_FALSE(IsValidUtf8(s));
    }
  }
}

TEST(FirstInvalidUtf8Test, MultiByteSequencesStraddlingEightByteBlocks) {
  // A 4-byte character at every offset around the 8-byte block edges, with
  // ASCII around it, is valid; the same character cut short is invalid at
  // its first byte.
  const std::string emoji = "\xf0\x9f\x98\x80";
  for (size_t prefix = 0; prefix <= 17; ++prefix) {
    for (size_t suffix = 0; suffix <= 9; ++suffix) {
      std::string s = std::string(prefix, 'x') + emoji + std::string(suffix, 'y');
      EXPECT_EQ(FirstInvalidUtf8(s), s.size()) << prefix << "+" << suffix;
    }
    std::string cut = std::string(prefix, 'x') + emoji.substr(0, 3);
    EXPECT_EQ(FirstInvalidUtf8(cut), prefix);
  }
}

TEST(Base64Test, Rfc4648TestVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, HighBytesUseTheWholeAlphabet) {
  EXPECT_EQ(Base64Encode(Bytes({0xff, 0xff, 0xff})), "////");
  EXPECT_EQ(Base64Encode(Bytes({0xfb, 0xef, 0xbe})), "++++");
  EXPECT_EQ(Base64Encode(Bytes({0x00, 0x00, 0x00})), "AAAA");
  EXPECT_EQ(Base64Encode(Bytes({0xff})), "/w==");
  EXPECT_EQ(Base64Encode(Bytes({0xff, 0xfe})), "//4=");
  EXPECT_EQ(
      Base64Encode(Bytes({0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f,
                          0x41, 0x14, 0x93, 0x51, 0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f,
                          0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf,
                          0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf})),
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

TEST(Base64Test, OutputLengthIsFourPerStartedTriple) {
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(Base64Encode(std::string(n, 'x')).size(), (n + 2) / 3 * 4);
  }
}

}  // namespace
}  // namespace eddy
