// The JSON reader used for model files: numbers must read back bit for bit
// (Boost.JSON 1.81's own conversion does not), and it must never crash.

#include "model/json_dom.h"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <random>
#include <string>

namespace eddy::model_internal {
namespace {

TEST(JsonDomTest, NumbersReadBackExactly) {
  std::mt19937_64 rng(1);
  std::string doc = "[";
  std::vector<double> want;
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d = std::bit_cast<double>(bits);
    if (!std::isfinite(d)) continue;
    if (i % 2) d = std::uniform_real_distribution<double>(-10, 10)(rng);
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), d);
    if (!want.empty()) doc += ",";
    doc.append(buf, r.ptr);
    want.push_back(d);
  }
  doc += "]";
  auto v = ParseJson(doc);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->is_number_array());
  ASSERT_EQ(v->numbers().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(v->numbers()[i]), std::bit_cast<uint64_t>(want[i])) << i;
  }
}

TEST(JsonDomTest, StructureAndTypes) {
  auto v = ParseJson(R"({"a": [1, 2, 3], "b": [1, "x", null], "c": {"d": true}, "e": "s\u00e9",
                        "f": -2.5e3, "g": []})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->is_object());
  EXPECT_EQ(v->keys(), (std::vector<std::string>{"a", "b", "c", "e", "f", "g"}));
  const JsonValue* a = v->Find("a");
  ASSERT_TRUE(a && a->is_number_array() && a->all_integers());
  EXPECT_EQ(a->numbers(), (std::vector<double>{1, 2, 3}));
  const JsonValue* b = v->Find("b");
  ASSERT_TRUE(b && b->is_array() && !b->is_number_array());
  ASSERT_EQ(b->items().size(), 3u);
  EXPECT_EQ(b->items()[0].number(), 1);
  EXPECT_EQ(b->items()[1].str(), "x");
  EXPECT_TRUE(b->items()[2].is_null());
  EXPECT_TRUE(v->Find("c")->Find("d")->bool_value());
  EXPECT_EQ(v->Find("e")->str(), "s\xc3\xa9");
  EXPECT_EQ(v->Find("f")->number(), -2500);
  EXPECT_FALSE(v->Find("f")->is_integer());
  EXPECT_TRUE(v->Find("g")->is_number_array());
  EXPECT_EQ(v->Find("g")->size(), 0u);
  EXPECT_EQ(v->Find("zz"), nullptr);
}

TEST(JsonDomTest, NanLiteralsOnlyWhenAllowed) {
  EXPECT_FALSE(ParseJson("[1, NaN]").ok());
  auto v = ParseJson(R"([1, NaN, Infinity, -Infinity, "NaN"])", 64, true);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->items().size(), 5u);
  EXPECT_TRUE(std::isnan(v->items()[1].number()));
  EXPECT_EQ(v->items()[2].number(), INFINITY);
  EXPECT_EQ(v->items()[3].number(), -INFINITY);
  EXPECT_EQ(v->items()[4].str(), "NaN");              // inside a string: untouched
  EXPECT_FALSE(ParseJson("[1e999]", 64, true).ok());  // overflow is still an error
}

// Regression (found by fuzz_model_file): an array of numbers that turned
// mixed with a NaN already in it cast NaN to an integer (UBSan error).
TEST(JsonDomTest, RegressionNanBeforeNonNumberInArray) {
  auto v = ParseJson(R"([NaN, 1e300, -1e300, "x"])", 64, true);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->items().size(), 4u);
  EXPECT_FALSE(v->items()[0].is_integer());
  EXPECT_TRUE(v->items()[1].is_integer());
}

TEST(JsonDomTest, ErrorsAreStatuses) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "[1] 2", "\"\\x\"", "[\"\xff\"]", "01"}) {
    auto v = ParseJson(bad);
    EXPECT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  }
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep).ok());
  EXPECT_TRUE(ParseJson(deep, 200).ok());
}

}  // namespace
}  // namespace eddy::model_internal
