// CSV decoding (RFC 4180): the header maps columns to fields by name, quoted
// cells, nulls versus empty strings, and the error code of each bad row.

#include <gtest/gtest.h>

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
  s.format = SourceFormat::kCsv;
  s.fields = {F("id", FieldType::kString),     F("note", FieldType::kString),
              F("amount", FieldType::kDouble), F("n", FieldType::kInt),
              F("ok", FieldType::kBool),       F("ts", FieldType::kTimestamp)};
  s.event_time_field = "ts";
  return s;
}
enum { kId, kNote, kAmount, kN, kOk, kTs };

class CsvDecoderTest : public ::testing::Test {
 protected:
  void Init(const SourceSpec& spec) {
    auto s = Schema::Create(spec);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    schema_ = std::make_unique<Schema>(std::move(s).value());
    decoder_ = MakeDecoder(spec, *schema_);
    ASSERT_TRUE(decoder_->has_header());
  }
  void SetUp() override { Init(Spec()); }

  bool Header(std::string_view text) {
    err_ = DecodeError{};
    return decoder_->ReadHeader(Pad(text), err_);
  }
  bool Decode(std::string_view text) {
    err_ = DecodeError{};
    return decoder_->Decode(Pad(text), row_, err_);
  }
  void ExpectError(std::string_view text, std::string_view code, std::string_view field = "") {
    EXPECT_FALSE(Decode(text)) << text;
    EXPECT_EQ(err_.code, code) << text << " -> " << err_.message;
    EXPECT_EQ(err_.field, field) << text << " -> " << err_.message;
    if (!field.empty()) {
      EXPECT_NE(err_.message.find("'" + std::string(field) + "'"), std::string::npos)
          << "the reason names the field: " << err_.message;
    }
  }

  std::string_view Pad(std::string_view text) {
    buf_.assign(text);
    buf_.append(kRecordPadding, '"');
    return std::string_view(buf_.data(), text.size());
  }

  std::unique_ptr<Schema> schema_;
  std::unique_ptr<Decoder> decoder_;
  std::string buf_;
  Row row_;
  DecodeError err_;
};

TEST_F(CsvDecoderTest, ColumnsAreMatchedByNameInAnyOrder) {
  ASSERT_TRUE(Header("ts,n,id,amount,ok,note"));
  ASSERT_TRUE(Decode("2024-05-01T12:00:00Z,7,a,10.5,true,hello")) << err_.message;
  EXPECT_EQ(row_.GetString(kId), "a");
  EXPECT_EQ(row_.GetString(kNote), "hello");
  EXPECT_EQ(row_[kAmount].double_value(), 10.5);
  EXPECT_EQ(row_[kN].int_value(), 7);
  EXPECT_TRUE(row_[kOk].bool_value());
  EXPECT_EQ(row_[kTs].timestamp_value(), EventTime::FromMicros(1714564800LL * 1000000));
}

TEST_F(CsvDecoderTest, HeaderNamesAreTrimmedAndUnknownColumnsIgnored) {
  ASSERT_TRUE(Header(" id , extra ,\"amount\",ts"));
  ASSERT_TRUE(Decode("a,whatever,1,2024-05-01T12:00:00Z")) << err_.message;
  EXPECT_EQ(row_.GetString(kId), "a");
  EXPECT_EQ(row_[kAmount].double_value(), 1);
  // Columns the header does not name are null.
  EXPECT_TRUE(row_[kNote].is_null());
  EXPECT_TRUE(row_[kN].is_null());
}

TEST_F(CsvDecoderTest, QuotedCells) {
  ASSERT_TRUE(Header("id,note,amount"));
  ASSERT_TRUE(Decode(R"("a","x, y",1)"));
  EXPECT_EQ(row_.GetString(kNote), "x, y");
  ASSERT_TRUE(Decode(R"(a,"she said ""hi""","2")"));
  EXPECT_EQ(row_.GetString(kNote), "she said \"hi\"");
  EXPECT_EQ(row_[kAmount].double_value(), 2);
  ASSERT_TRUE(Decode("a,\"line1\nline2\r\nline3\",3"));
  EXPECT_EQ(row_.GetString(kNote), "line1\nline2\r\nline3");
  ASSERT_TRUE(Decode(R"("""",""""""," 4 ")"));
  EXPECT_EQ(row_.GetString(kId), "\"");
  EXPECT_EQ(row_.GetString(kNote), "\"\"");
  EXPECT_EQ(row_[kAmount].double_value(), 4) << "numbers are trimmed, also when quoted";
}

TEST_F(CsvDecoderTest, EmptyUnquotedIsNullQuotedEmptyIsEmptyString) {
  ASSERT_TRUE(Header("id,note,amount,n"));
  ASSERT_TRUE(Decode(R"(,"",,)"));
  EXPECT_TRUE(row_[kId].is_null());
  ASSERT_EQ(row_[kNote].kind(), Value::Kind::kString);
  EXPECT_EQ(row_.GetString(kNote), "");
  EXPECT_TRUE(row_[kAmount].is_null());
  EXPECT_TRUE(row_[kN].is_null()) << "a trailing empty cell is a cell too";
  // Blank numeric cells are null; a string cell keeps its spaces.
  ASSERT_TRUE(Decode(R"(  ,"", ,"")"));
  EXPECT_EQ(row_.GetString(kId), "  ");
  EXPECT_TRUE(row_[kAmount].is_null());
  EXPECT_TRUE(row_[kN].is_null());
}

TEST_F(CsvDecoderTest, TooManyOrTooFewColumns) {
  ASSERT_TRUE(Header("id,note,amount"));
  ExpectError("a,b,1,extra", "csv_columns");
  EXPECT_NE(err_.message.find("4 columns"), std::string::npos) << err_.message;
  EXPECT_NE(err_.message.find("header has 3"), std::string::npos) << err_.message;
  ExpectError("a,b", "csv_columns");
  ExpectError("a", "csv_columns");
  EXPECT_NE(err_.message.find("1 column,"), std::string::npos) << err_.message;
  ExpectError("a,b,1,", "csv_columns");
  // The decoder recovers for the next row.
  ASSERT_TRUE(Decode("a,b,1"));
}

TEST_F(CsvDecoderTest, NaNAndInfinityTextAreRejected) {
  ASSERT_TRUE(Header("id,amount"));
  ExpectError("a,NaN", "not_finite", "amount");
  ExpectError("a,Infinity", "not_finite", "amount");
  ExpectError("a,-inf", "not_finite", "amount");
  ExpectError("a,1e400", "out_of_range", "amount");
}

TEST_F(CsvDecoderTest, WrongTypesAndRanges) {
  ASSERT_TRUE(Header("id,amount,n,ok,ts"));
  ExpectError("a,ten,1,true,2024-05-01T12:00:00Z", "wrong_type", "amount");
  ExpectError("a,1,1.5,true,2024-05-01T12:00:00Z", "wrong_type", "n");
  ExpectError("a,1,99999999999999999999,true,2024-05-01T12:00:00Z", "out_of_range", "n");
  ExpectError("a,1,1,maybe,2024-05-01T12:00:00Z", "wrong_type", "ok");
  ExpectError("a,1,1,1,2024-05-01T12:00:00", "bad_timestamp", "ts");
  ASSERT_TRUE(Decode("a,-1,-1,0,2024-05-01")) << err_.message;
  EXPECT_FALSE(row_[kOk].bool_value());
}

TEST_F(CsvDecoderTest, Timestamps) {
  SourceSpec spec = Spec();
  spec.fields.push_back(F("secs", FieldType::kTimestamp, TimestampFormat::kEpochSeconds));
  spec.fields.push_back(F("ms", FieldType::kTimestamp, TimestampFormat::kEpochMillis));
  Init(spec);
  ASSERT_TRUE(Header("ts,secs,ms"));
  ASSERT_TRUE(Decode("2024-05-01T14:00:00+02:00, 1714564800 ,1714564800123")) << err_.message;
  EXPECT_EQ(row_[kTs].timestamp_value(), EventTime::FromMicros(1714564800LL * 1000000));
  EXPECT_EQ(row_[6].timestamp_value(), EventTime::FromMicros(1714564800LL * 1000000));
  EXPECT_EQ(row_[7].timestamp_value(), EventTime::FromMicros(1714564800123000LL));
  ExpectError("2024-05-01T14:00:00,,", "bad_timestamp", "ts");
  ExpectError(",x,", "wrong_type", "secs");
  ExpectError(",,1e30", "bad_timestamp", "ms");
}

TEST_F(CsvDecoderTest, QuoteErrors) {
  ASSERT_TRUE(Header("id,note,amount"));
  ExpectError(R"(a,"unterminated,1)", "csv_quote");
  ExpectError(R"(a,"x"y,1)", "csv_quote");
  // A quote inside an unquoted cell is an ordinary character.
  ASSERT_TRUE(Decode(R"(a,5" screen,1)"));
  EXPECT_EQ(row_.GetString(kNote), "5\" screen");
}

TEST_F(CsvDecoderTest, InvalidUtf8) {
  ASSERT_TRUE(Header("id,note"));
  ExpectError("a,caf\xE9", "invalid_utf8");
  EXPECT_NE(err_.message.find("byte 5"), std::string::npos) << err_.message;
  ASSERT_TRUE(Decode("a,caf\xC3\xA9"));
  EXPECT_EQ(row_.GetString(kNote), "caf\xC3\xA9");
}

TEST_F(CsvDecoderTest, UnknownColumnsRejected) {
  SourceSpec spec = Spec();
  spec.unknown_fields = UnknownFieldPolicy::kReject;
  Init(spec);
  ASSERT_TRUE(Header("id,colour,amount"));
  ExpectError("a,red,1", "unknown_field", "colour");
}

TEST_F(CsvDecoderTest, BadHeaderRejectsEveryRow) {
  EXPECT_FALSE(Header("id,amount,id"));
  EXPECT_EQ(err_.code, "bad_header");
  EXPECT_EQ(err_.field, "id");
  ExpectError("a,1,b", "bad_header", "id");
  EXPECT_NE(err_.message.find("twice"), std::string::npos) << err_.message;
  ExpectError("a,1,b", "bad_header", "id");
}

TEST_F(CsvDecoderTest, RowBeforeHeader) { ExpectError("a,1", "bad_header"); }

TEST_F(CsvDecoderTest, RejectedHeaderRejectsEveryRowWithTheReason) {
  DecodeError why;
  why.Set("too_large", "", "header is 200 bytes, more than max_record_bytes (100)");
  decoder_->RejectHeader(why);
  ExpectError("a,1", "bad_header");
  EXPECT_NE(err_.message.find("header is 200 bytes"), std::string::npos) << err_.message;
}

TEST_F(CsvDecoderTest, CustomDelimiterAndQuote) {
  SourceSpec spec = Spec();
  spec.csv.delimiter = ';';
  spec.csv.quote = '\'';
  Init(spec);
  ASSERT_TRUE(Header("id;note;amount"));
  ASSERT_TRUE(Decode("a;'x; ''y'', z';1.5")) << err_.message;
  EXPECT_EQ(row_.GetString(kNote), "x; 'y', z");
  EXPECT_EQ(row_[kAmount].double_value(), 1.5);
  ASSERT_TRUE(Decode("a;\"q\";1")) << "the default quote is ordinary here";
  EXPECT_EQ(row_.GetString(kNote), "\"q\"");
  ExpectError("a;b;1,5", "wrong_type", "amount");
}

TEST_F(CsvDecoderTest, TabDelimiter) {
  SourceSpec spec = Spec();
  spec.csv.delimiter = '\t';
  Init(spec);
  ASSERT_TRUE(Header("id\tamount"));
  ASSERT_TRUE(Decode("a, b\t2.5")) << err_.message;
  EXPECT_EQ(row_.GetString(kId), "a, b");
  EXPECT_EQ(row_[kAmount].double_value(), 2.5);
}

}  // namespace
}  // namespace eddy
