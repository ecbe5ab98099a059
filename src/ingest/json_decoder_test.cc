// JSON-lines decoding: conversion to the declared types and the error code
// of every kind of malformed record.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "ingest/decoder.h"

namespace eddy {
namespace {

FieldSpec F(std::string name, FieldType type, TimestampFormat format = TimestampFormat::kIso8601) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  f.timestamp_format = format;
  return f;
}

SourceSpec Spec() {
  SourceSpec s;
  s.name = "tx";
  s.format = SourceFormat::kJsonLines;
  s.fields = {F("id", FieldType::kString),
              F("amount", FieldType::kDouble),
              F("n", FieldType::kInt),
              F("ok", FieldType::kBool),
              F("ts", FieldType::kTimestamp),
              F("secs", FieldType::kTimestamp, TimestampFormat::kEpochSeconds),
              F("ms", FieldType::kTimestamp, TimestampFormat::kEpochMillis)};
  s.event_time_field = "ts";
  return s;
}
enum { kId, kAmount, kN, kOk, kTs, kSecs, kMs };

class JsonDecoderTest : public ::testing::Test {
 protected:
  void Init(const SourceSpec& spec) {
    auto s = Schema::Create(spec);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    schema_ = std::make_unique<Schema>(std::move(s).value());
    decoder_ = MakeJsonDecoder(*schema_);
  }
  void SetUp() override {
    ASSERT_TRUE(CheckJsonSupport().ok());
    Init(Spec());
  }

  // Decodes `text` as sources hand it over: followed by padding bytes (here
  // filled with garbage, to show the decoder never reads them as input).
  bool Decode(std::string_view text) {
    buf_.assign(text);
    buf_.append(kRecordPadding, '}');
    err_ = DecodeError{};
    return decoder_->Decode(std::string_view(buf_.data(), text.size()), row_, err_);
  }
  // Decodes `text`, expecting it to fail with `code` (and naming `field`).
  void ExpectError(std::string_view text, std::string_view code, std::string_view field = "") {
    EXPECT_FALSE(Decode(text)) << text;
    EXPECT_EQ(err_.code, code) << text << " -> " << err_.message;
    EXPECT_EQ(err_.field, field) << text << " -> " << err_.message;
    EXPECT_FALSE(err_.message.empty());
    if (!field.empty()) {
      EXPECT_NE(err_.message.find("'" + std::string(field) + "'"), std::string::npos)
          << "the reason names the field: " << err_.message;
    }
  }

  std::unique_ptr<Schema> schema_;
  std::unique_ptr<Decoder> decoder_;
  std::string buf_;
  Row row_;
  DecodeError err_;
};

TEST_F(JsonDecoderTest, DecodesEveryTypeInAnyOrder) {
  ASSERT_TRUE(Decode(R"({"ms":1714564800123,"secs":1714564800.5,"ts":"2024-05-01T14:00:00+02:00",)"
                     R"("ok":true,"n":-42,"amount":10.5,"id":"a"})"))
      << err_.message;
  ASSERT_EQ(row_.size(), 7u);
  EXPECT_EQ(row_.GetString(kId), "a");
  EXPECT_EQ(row_[kAmount].double_value(), 10.5);
  EXPECT_EQ(row_[kN].int_value(), -42);
  EXPECT_TRUE(row_[kOk].bool_value());
  EXPECT_EQ(row_[kTs].timestamp_value(), EventTime::FromMicros(1714564800LL * 1000000));
  EXPECT_EQ(row_[kSecs].timestamp_value(), EventTime::FromMicros(1714564800500000LL));
  EXPECT_EQ(row_[kMs].timestamp_value(), EventTime::FromMicros(1714564800123000LL));
}

TEST_F(JsonDecoderTest, MissingFieldsAndNullAreNull) {
  ASSERT_TRUE(Decode(R"({"id":"a","n":null})")) << err_.message;
  EXPECT_EQ(row_.GetString(kId), "a");
  for (int i : {kAmount, kN, kOk, kTs, kSecs, kMs}) EXPECT_TRUE(row_[i].is_null()) << i;
  ASSERT_TRUE(Decode("{}"));
  for (size_t i = 0; i < row_.size(); ++i) EXPECT_TRUE(row_[i].is_null());
  ASSERT_TRUE(Decode(" \t{ \"id\" : \"a\" }  "));
}

TEST_F(JsonDecoderTest, StringsAndKeysAreUnescaped) {
  ASSERT_TRUE(Decode(R"({"i\u0064":"x\"y\\z\n\u00e9\ud83d\ude00"})")) << err_.message;
  EXPECT_EQ(row_.GetString(kId), "x\"y\\z\n\xC3\xA9\xF0\x9F\x98\x80");
  ASSERT_TRUE(Decode(R"({"id":""})"));
  EXPECT_EQ(row_.GetString(kId), "");
}

TEST_F(JsonDecoderTest, RowIsResetBetweenRecords) {
  ASSERT_TRUE(Decode(R"({"id":"a","n":1})"));
  ExpectError(R"({"id":"b","n":"x"})", "wrong_type", "n");
  ASSERT_TRUE(Decode(R"({"amount":2})"));
  EXPECT_TRUE(row_[kId].is_null());
  EXPECT_TRUE(row_[kN].is_null());
  EXPECT_EQ(row_[kAmount].double_value(), 2);
}

TEST_F(JsonDecoderTest, UnknownFieldsAreIgnoredByDefault) {
  ASSERT_TRUE(Decode(
      R"({"extra":{"x":[1,{"y":null}]},"id":"a","more":[1,2,3],"big":1e999999,"s":"q","t":true})"))
      << err_.message;
  EXPECT_EQ(row_.GetString(kId), "a");
}

TEST_F(JsonDecoderTest, UnknownFieldsRejected) {
  SourceSpec spec = Spec();
  spec.unknown_fields = UnknownFieldPolicy::kReject;
  Init(spec);
  ASSERT_TRUE(Decode(R"({"id":"a"})"));
  ExpectError(R"({"id":"a","colour":"red"})", "unknown_field", "colour");
  EXPECT_NE(err_.message.find("reject"), std::string::npos);
}

TEST_F(JsonDecoderTest, WrongTypes) {
  ExpectError(R"({"id":5})", "wrong_type", "id");
  ExpectError(R"({"id":{"a":1}})", "wrong_type", "id");
  ExpectError(R"({"id":["a"]})", "wrong_type", "id");
  ExpectError(R"({"amount":"10"})", "wrong_type", "amount");
  EXPECT_NE(err_.message.find("expected a number"), std::string::npos) << err_.message;
  EXPECT_NE(err_.message.find("a string"), std::string::npos) << err_.message;
  ExpectError(R"({"amount":true})", "wrong_type", "amount");
  ExpectError(R"({"n":"1"})", "wrong_type", "n");
  ExpectError(R"({"n":1.5})", "wrong_type", "n");
  ExpectError(R"({"n":1e3})", "wrong_type", "n");
  ExpectError(R"({"n":1.0})", "wrong_type", "n");
  ExpectError(R"({"ok":1})", "wrong_type", "ok");
  ExpectError(R"({"ok":"true"})", "wrong_type", "ok");
  ExpectError(R"({"ts":1714564800})", "wrong_type", "ts");
  ExpectError(R"({"secs":"1714564800"})", "wrong_type", "secs");
  ExpectError(R"({"ms":[1]})", "wrong_type", "ms");
}

TEST_F(JsonDecoderTest, IntRange) {
  ASSERT_TRUE(Decode(R"({"n":9223372036854775807})"));
  EXPECT_EQ(row_[kN].int_value(), std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(Decode(R"({"n":-9223372036854775808})"));
  EXPECT_EQ(row_[kN].int_value(), std::numeric_limits<int64_t>::min());
  ASSERT_TRUE(Decode(R"({"n":-0})"));
  EXPECT_EQ(row_[kN].int_value(), 0);
  ExpectError(R"({"n":9223372036854775808})", "out_of_range", "n");
  EXPECT_NE(err_.message.find("64-bit"), std::string::npos) << err_.message;
  ExpectError(R"({"n":-9223372036854775809})", "out_of_range", "n");
  ExpectError(R"({"n":18446744073709551616})", "out_of_range", "n");
  ExpectError(R"({"n":99999999999999999999999999999})", "out_of_range", "n");
}

TEST_F(JsonDecoderTest, DoubleRange) {
  ASSERT_TRUE(Decode(R"({"amount":1.7976931348623157e308})"));
  ASSERT_TRUE(Decode(R"({"amount":99999999999999999999})")) << "big integers are doubles";
  EXPECT_EQ(row_[kAmount].double_value(), 1e20);
  ASSERT_TRUE(Decode(R"({"amount":1E2})"));
  EXPECT_EQ(row_[kAmount].double_value(), 100);
  ExpectError(R"({"amount":1e400})", "out_of_range", "amount");
  ExpectError(R"({"amount":-1e400})", "out_of_range", "amount");
  ExpectError(R"({"amount":1.8e308})", "out_of_range", "amount");
  ASSERT_TRUE(Decode(R"({"amount":1e-400})")) << err_.message;
  EXPECT_EQ(row_[kAmount].double_value(), 0.0);
}

TEST_F(JsonDecoderTest, NaNAndInfinityLiteralsAreInvalidJson) {
  for (std::string_view lit : {"NaN", "nan", "Infinity", "-Infinity", "inf"}) {
    std::string rec = "{\"id\":\"a\",\"amount\":" + std::string(lit) + "}";
    EXPECT_FALSE(Decode(rec)) << rec;
    EXPECT_EQ(err_.code, "invalid_json") << rec << " -> " << err_.message;
    // Also when the field is not declared: a malformed literal is never
    // accepted silently.
    rec = "{\"id\":\"a\",\"other\":" + std::string(lit) + "}";
    EXPECT_FALSE(Decode(rec)) << rec;
    EXPECT_EQ(err_.code, "invalid_json") << rec << " -> " << err_.message;
  }
}

TEST_F(JsonDecoderTest, MalformedLiterals) {
  ExpectError(R"({"id":"a","n":nul})", "invalid_json", "n");
  ExpectError(R"({"id":"a","ok":tru})", "invalid_json");
  ExpectError(R"({"id":"a","x":tru})", "invalid_json", "x");
  ExpectError(R"({"id":"a","x":01})", "invalid_json", "x");
  ExpectError(R"({"n":01})", "invalid_json");
  ExpectError(R"({"amount":1.})", "invalid_json", "amount");
  ExpectError(R"({"amount":-})", "invalid_json");
  ExpectError(R"({"id":"bad \x escape"})", "invalid_json");
}

TEST_F(JsonDecoderTest, TruncatedRecords) {
  for (std::string_view t :
       {R"({"id":"k","amount":5)", R"({"id":"k","amount":)", R"({"id":"k",)", R"({"id":"k)",
        R"({"id")", R"({)", R"({"id":"a","x":[1,2)", R"({"id":"a","x":{"y":1})"}) {
    EXPECT_FALSE(Decode(t)) << t;
    EXPECT_EQ(err_.code, "invalid_json") << t << " -> " << err_.message;
  }
}

TEST_F(JsonDecoderTest, TrailingContent) {
  ExpectError(R"({"id":"a"} x)", "invalid_json");
  ExpectError(R"({"id":"a"}{"id":"b"})", "invalid_json");
  ExpectError(R"({"id":"a"}})", "invalid_json");
  ExpectError(R"({"id":"a",})", "invalid_json");
}

TEST_F(JsonDecoderTest, NotAnObject) {
  for (std::string_view t : {"[1,2,3]", "5", "\"s\"", "null", "true", "[]"}) {
    EXPECT_FALSE(Decode(t)) << t;
    EXPECT_EQ(err_.code, "not_an_object") << t << " -> " << err_.message;
  }
  EXPECT_FALSE(Decode("hello"));
  EXPECT_EQ(err_.code, "invalid_json") << err_.message;
  EXPECT_FALSE(Decode("id,amount"));
  EXPECT_EQ(err_.code, "invalid_json") << err_.message;
}

TEST_F(JsonDecoderTest, InvalidUtf8) {
  ExpectError("{\"id\":\"caf\xE9\"}", "invalid_utf8");
  ExpectError("{\"i\xFF\":\"a\"}", "invalid_utf8");
  ExpectError("{\"id\":\"a\",\"other\":\"\xC0\xAF\"}", "invalid_utf8");  // overlong
  ExpectError("{\"id\":\"\xED\xA0\x80\"}", "invalid_utf8");              // surrogate
  ExpectError("{\"id\":\"\xF0\x9F\x98\"}", "invalid_utf8");              // cut short
}

TEST_F(JsonDecoderTest, DuplicateDeclaredField) {
  ExpectError(R"({"id":"a","n":1,"id":"b"})", "duplicate_field", "id");
  ExpectError(R"({"n":1,"n":1})", "duplicate_field", "n");
  // Undeclared duplicates are ignored with the rest of the undeclared fields.
  ASSERT_TRUE(Decode(R"({"x":1,"x":2,"id":"a"})"));
}

TEST_F(JsonDecoderTest, Timestamps) {
  ExpectError(R"({"ts":"2024-05-01 12:00:01"})", "bad_timestamp", "ts");
  ExpectError(R"({"ts":"yesterday"})", "bad_timestamp", "ts");
  ExpectError(R"({"secs":1e20})", "bad_timestamp", "secs");
  ExpectError(R"({"ms":-1e300})", "bad_timestamp", "ms");
  ExpectError(R"({"secs":99999999999999999999})", "bad_timestamp", "secs");
  ASSERT_TRUE(Decode(R"({"secs":-1,"ms":0})"));
  EXPECT_EQ(row_[kSecs].timestamp_value(), EventTime::FromMicros(-1000000));
  EXPECT_EQ(row_[kMs].timestamp_value(), EventTime::FromMicros(0));
  ASSERT_TRUE(Decode(R"({"ms":1.5})"));
  EXPECT_EQ(row_[kMs].timestamp_value(), EventTime::FromMicros(1500));
}

TEST_F(JsonDecoderTest, MalformedJsonInsideUndeclaredValuesIsRejected) {
  // Regression: simdjson skips undeclared values without validating their
  // structure, so these records were accepted.
  for (std::string_view t :
       {R"({"id":"a","x":[1,,2]})", R"({"id":"a","x":{"a" 1}})", R"({"id":"a","x":[}})",
        R"({"id":"a","x":{"y":nope}})", R"({"id":"a","x":[1 2]})", R"({"id":"a","x":{"y":1,}})",
        R"({"id":"a","x":[1,]})", R"({"id":"a","x":[{"y":[NaN]}]})", R"({"id":"a","x":{"y":"\q"}})",
        R"({"x":[tru],"id":"a"})"}) {
    EXPECT_FALSE(Decode(t)) << t;
    EXPECT_EQ(err_.code, "invalid_json") << t << " -> " << err_.message;
  }
  ASSERT_TRUE(Decode(R"({"id":"a","x":[[],{},[{"y":[1,-2.5e3,"s",true,false,null]}],{"":{}}]})"))
      << err_.message;
  EXPECT_EQ(row_.GetString(kId), "a");
}

TEST_F(JsonDecoderTest, DeepNestingIsAnErrorNotACrash) {
  auto nested = [](int depth) {
    return "{\"id\":\"a\",\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  EXPECT_TRUE(Decode(nested(500))) << err_.message;
  ExpectError(nested(513), "invalid_json", "x");
  ExpectError(nested(5000), "invalid_json", "x");
  EXPECT_NE(err_.message.find("deep"), std::string::npos) << err_.message;
}

TEST_F(JsonDecoderTest, LongValue) {
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(Decode("{\"id\":\"" + big + "\"}"));
  EXPECT_EQ(row_.GetString(kId), big);
}

}  // namespace
}  // namespace eddy
