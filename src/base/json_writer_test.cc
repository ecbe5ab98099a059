#include "base/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <string>

namespace eddy {
namespace {

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(AppendJsonStringTest, PlainTextIsQuoted) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("abc"), "\"abc\"");
}

TEST(AppendJsonStringTest, EscapesQuoteAndBackslash) {
  EXPECT_EQ(JsonString("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(JsonString("C:\\dir"), "\"C:\\\\dir\"");
}

TEST(AppendJsonStringTest, EscapesCommonControlCharactersShort) {
  EXPECT_EQ(JsonString("a\nb\rc\td\be\ff"), "\"a\\nb\\rc\\td\\be\\ff\"");
}

TEST(AppendJsonStringTest, EscapesOtherControlCharactersAsU00XX) {
  EXPECT_EQ(JsonString(std::string_view("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(JsonString("\x01\x1f"), "\"\\u0001\\u001f\"");
  EXPECT_EQ(JsonString("\x1b[0m"), "\"\\u001b[0m\"");
}

TEST(AppendJsonStringTest, KeepsDelSlashAndUtf8AsIs) {
  EXPECT_EQ(JsonString("\x7f/caf\xc3\xa9"), "\"\x7f/caf\xc3\xa9\"");
}

TEST(AppendJsonStringTest, EveryByteBelow0x20ReadsBack) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all.push_back(static_cast<char>(c));
  all += "\"\\ end";
  std::string json = JsonString(all);
  boost::json::value v = boost::json::parse(json);
  EXPECT_EQ(std::string(v.as_string().c_str(), v.as_string().size()), all);
}

TEST(JsonWriterTest, FlatObjectHasCommasBetweenMembers) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("a").Int(1).Key("b").String("x").Key("c").Bool(true).EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":"x","c":true})");
}

TEST(JsonWriterTest, EmptyContainers) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray().BeginObject().EndObject().BeginArray().EndArray().EndArray();
  EXPECT_EQ(out, "[{},[]]");
}

TEST(JsonWriterTest, NestedObjectsAndArrays) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("list").BeginArray().Int(1).Int(2).BeginObject().Key("k").Null().EndObject().EndArray();
  w.Key("obj").BeginObject().Key("inner").BeginArray().EndArray().Key("n").Int(-3).EndObject();
  w.Key("last").Bool(false);
  w.EndObject();
  EXPECT_EQ(out, R"({"list":[1,2,{"k":null}],"obj":{"inner":[],"n":-3},"last":false})");
  EXPECT_NO_THROW(boost::json::parse(out));
}

TEST(JsonWriterTest, TopLevelScalar) {
  std::string out;
  JsonWriter(out).String("x");
  EXPECT_EQ(out, "\"x\"");
}

TEST(JsonWriterTest, KeysAreEscaped) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("a\"b\n").Int(1).EndObject();
  EXPECT_EQ(out, R"({"a\"b\n":1})");
}

TEST(JsonWriterTest, IntegersAtTheirLimits) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray()
      .Int(std::numeric_limits<int64_t>::min())
      .Int(std::numeric_limits<int64_t>::max())
      .Uint(std::numeric_limits<uint64_t>::max())
      .Uint(0)
      .EndArray();
  EXPECT_EQ(out, "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

TEST(JsonWriterTest, DoublesInShortestRoundTripForm) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray().Double(0.1).Double(2.0).Double(-0.0).Double(1e300).Double(1.5e-7).EndArray();
  EXPECT_EQ(out, "[0.1,2,-0,1e+300,1.5e-07]");
  boost::json::value v = boost::json::parse(out);
  EXPECT_EQ(v.as_array()[0].to_number<double>(), 0.1);
  EXPECT_EQ(v.as_array()[3].to_number<double>(), 1e300);
}

TEST(JsonWriterTest, NonFiniteDoublesAreNull) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject()
      .Key("nan")
      .Double(std::numeric_limits<double>::quiet_NaN())
      .Key("inf")
      .Double(std::numeric_limits<double>::infinity())
      .Key("-inf")
      .Double(-std::numeric_limits<double>::infinity())
      .EndObject();
  EXPECT_EQ(out, R"({"nan":null,"inf":null,"-inf":null})");
}

TEST(JsonWriterTest, RawIsInsertedAsOneValueWithCommas) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("a").Raw(R"({"x":[1,2]})").Key("b").Raw("7").EndObject();
  EXPECT_EQ(out, R"({"a":{"x":[1,2]},"b":7})");

  std::string arr;
  JsonWriter(arr).BeginArray().Raw("1").Raw("\"two\"").Int(3).EndArray();
  EXPECT_EQ(arr, R"([1,"two",3])");
}

TEST(JsonWriterTest, AppendsAfterExistingText) {
  std::string out = "prefix ";
  JsonWriter(out).BeginArray().Int(1).EndArray();
  EXPECT_EQ(out, "prefix [1]");
}

TEST(JsonWriterTest, WriterCanBeReusedForSeveralDocuments) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("a").Int(1).EndObject();
  out += '\n';
  w.BeginObject().Key("b").Int(2).EndObject();
  // A new top-level value after a finished one gets no leading comma.
  EXPECT_EQ(out, "{\"a\":1}\n{\"b\":2}");
}

}  // namespace
}  // namespace eddy
