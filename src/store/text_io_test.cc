// The store's text helpers: the JSON reader (groups.json, label rows), the
// RFC 4180 CSV reader (label files), CSV cells, and all-or-nothing output
// files.

#include "store/text_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "test_util.h"

namespace eddy::store_internal {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

TEST(JsonReaderTest, ParsesEveryKindOfValue) {
  const std::string text =
      R"( {"s": "a\"b\\c\/\n\u00e9\ud83d\ude00", "n": -1.5e3, "i": 0, "t": true, "f": false,
           "z": null, "a": [1, [2], {}], "o": {"k": "v"}} )";
  JsonValue v;
  ASSERT_TRUE(ParseJson(text, v).ok());
  ASSERT_EQ(v.type(), JsonValue::Type::kObject);
  EXPECT_EQ(v.keys().size(), 8u);
  EXPECT_EQ(v.Find("s")->str(), "a\"b\\c/\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(v.Find("n")->raw(), "-1.5e3");
  EXPECT_EQ(v.Find("i")->raw(), "0");
  EXPECT_TRUE(v.Find("t")->bool_value());
  EXPECT_EQ(v.Find("f")->type(), JsonValue::Type::kBool);
  EXPECT_FALSE(v.Find("f")->bool_value());
  EXPECT_TRUE(v.Find("z")->is_null());
  EXPECT_EQ(v.Find("a")->raw(), "[1, [2], {}]");
  EXPECT_EQ(v.Find("a")->items().size(), 3u);
  EXPECT_EQ(v.Find("o")->Find("k")->str(), "v");
  EXPECT_EQ(v.Find("missing"), nullptr);
}

TEST(JsonReaderTest, RejectsMalformedInputWithTheOffset) {
  for (const char* bad :
       {"",        "{",       "{\"a\":}",  "{\"a\" 1}",   "{\"a\":1,}",  "[1,]",     "01",
        "1.",      "-",       "+1",        ".5",          "1e",          "tru",      "nul",
        "\"abc",   "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\tb\"", "{} {}",
        "{'a':1}", "\"\xff\""}) {
    JsonValue v;
    Status s = ParseJson(bad, v);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
  JsonValue v;
  Status s = ParseJson("{\"a\": tru}", v);
  EXPECT_NE(s.message().find("at byte 6"), std::string::npos) << s.message();
}

TEST(JsonReaderTest, LimitsNesting) {
  JsonValue v;
  EXPECT_TRUE(ParseJson(std::string(60, '[') + std::string(60, ']'), v).ok());
  Status s = ParseJson(std::string(100000, '['), v);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nesting"), std::string::npos) << s.message();
}

TEST(JsonReaderTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\":,0123456789.eE+-truefalsn \\u";
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 24, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    JsonValue v;
    (void)ParseJson(text, v);
  }
}

TEST(JsonReaderTest, NumberGrammar) {
  for (const char* ok : {"0", "-0", "12", "1.5", "1e9", "1E-9", "-0.0e+1"}) {
    EXPECT_TRUE(IsJsonNumber(ok)) << ok;
  }
  for (const char* bad : {"", "007", "1.", ".1", "+1", "1e", "0x10", "1 ", "inf", "NaN"}) {
    EXPECT_FALSE(IsJsonNumber(bad)) << bad;
  }
}

std::vector<CsvRecord> ReadCsv(const std::string& text) {
  TempDir dir;
  WriteFile(dir.File("f.csv"), text);
  auto r = CsvReader::Open(dir.File("f.csv"));
  EXPECT_TRUE(r.ok());
  std::vector<CsvRecord> out;
  CsvRecord rec;
  while (true) {
    auto more = (*r)->Next(rec);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    out.push_back(rec);
  }
  return out;
}

TEST(CsvReaderTest, QuotedCellsNullsAndLineNumbers) {
  auto recs = ReadCsv("a,b,c\r\n\n\"x,1\",\"say \"\"hi\"\"\",\"\"\n,,\n\"two\nlines\",z,\n last ");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].cells, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(recs[0].line, 1u);
  EXPECT_EQ(recs[1].cells, (std::vector<std::string>{"x,1", "say \"hi\"", ""}));
  EXPECT_EQ(recs[1].quoted, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(recs[1].line, 3u) << "the blank line is skipped but counted";
  EXPECT_EQ(recs[2].cells, (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(recs[2].quoted, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(recs[3].cells, (std::vector<std::string>{"two\nlines", "z", ""}));
  EXPECT_EQ(recs[3].line, 5u);
  EXPECT_EQ(recs[4].cells, (std::vector<std::string>{" last "}));
  EXPECT_EQ(recs[4].line, 7u);
  for (const CsvRecord& r : recs) EXPECT_TRUE(r.error.empty()) << r.error;
}

TEST(CsvReaderTest, MalformedRecordsAreReportedAndReadingGoesOn) {
  auto recs = ReadCsv("a\"b,c\n\"a\"b,c\nok,1\n\"open,\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].error, "cell 1 has a '\"' but does not start with one");
  EXPECT_EQ(recs[1].error, "text after the closing quote of cell 1");
  EXPECT_TRUE(recs[2].error.empty());
  EXPECT_EQ(recs[3].error, "a quoted cell is not closed before the end of the file");
  EXPECT_EQ(recs[3].line, 4u);
}

TEST(CsvWriterTest, QuotesOnlyWhenNeededAndEmptyStringsAlways) {
  std::string out;
  AppendCsvText(out, "plain");
  out.push_back('|');
  AppendCsvText(out, "a,b");
  out.push_back('|');
  AppendCsvText(out, "q\"q");
  out.push_back('|');
  AppendCsvText(out, "");
  out.push_back('|');
  AppendCsvValue(out, FeatureValue::Null());
  out.push_back('|');
  AppendCsvValue(out, FeatureValue::Double(0.1));
  out.push_back('|');
  AppendCsvValue(out, FeatureValue::String(""));
  EXPECT_EQ(out, "plain|\"a,b\"|\"q\"\"q\"|\"\"||0.1|\"\"");
}

TEST(OutputFileTest, AppearsOnlyWhenCommitted) {
  TempDir dir;
  const std::string path = dir.File("sub/dir/out.txt");
  {
    auto f = OutputFile::Create(path);
    ASSERT_TRUE(f.ok());
    (*f)->buffer() = "abandoned";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.File("sub/dir"))) << "no temporary file is left";
  auto f = OutputFile::Create(path);
  ASSERT_TRUE(f.ok());
  (*f)->buffer() = std::string(3 << 20, 'x');
  ASSERT_TRUE((*f)->MaybeWrite().ok());
  (*f)->buffer() += "end";
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE((*f)->Commit().ok());
  EXPECT_EQ(ReadFile(path), std::string(3 << 20, 'x') + "end");
}

}  // namespace
}  // namespace eddy::store_internal
