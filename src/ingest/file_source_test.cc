// File, directory and stdin sources: record framing, (partition, offset) of
// every record, line endings, byte-order marks, oversized records.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/source.h"
#include "test_util.h"

namespace eddy {
namespace {

using testing::TempDir;
using testing::WriteFile;

struct Rec {
  int partition;
  int64_t offset;
  std::string bytes;
  uint64_t size;
  bool truncated;
  bool is_header;
};

SourceSpec Spec(const std::string& path, SourceFormat format = SourceFormat::kJsonLines,
                uint64_t max_record_bytes = 16 << 20) {
  SourceSpec s;
  s.name = "tx";
  s.format = format;
  s.path = path;
  s.max_record_bytes = max_record_bytes;
  return s;
}

// Polls `src` until it ends, handing every batch to `on_batch`.
template <typename OnBatch>
void PollToEnd(Source& src, size_t max_records, Duration wait, OnBatch on_batch) {
  PollBatch batch;
  for (int polls = 0; !src.AtEnd(); ++polls) {
    if (polls > 1000000) {
      ADD_FAILURE() << "source never ends";
      return;
    }
    Status s = src.Poll(max_records, wait, batch);
    if (!s.ok()) {
      ADD_FAILURE() << s.ToString();
      return;
    }
    on_batch(batch);
  }
}

// Polls `src` to its end, copying every record (views die at the next poll).
// Also checks the padding contract: kRecordPadding readable bytes follow
// every record (ASan reports a violation).
std::vector<Rec> ReadAll(Source& src, size_t max_records = 1024,
                         std::vector<int>* ended = nullptr) {
  std::vector<Rec> out;
  PollToEnd(src, max_records, Duration::Millis(10), [&](const PollBatch& batch) {
    EXPECT_LE(batch.records.size(), max_records);
    for (size_t i = 0; i + 1 < batch.records.size(); ++i) {
      EXPECT_FALSE(batch.records[i].truncated) << "only the last record of a batch is truncated";
    }
    for (const RawRecord& r : batch.records) {
      volatile char sink = 0;
      for (size_t i = 0; i < kRecordPadding; ++i) sink = sink ^ r.bytes.data()[r.bytes.size() + i];
      (void)sink;
    }
    // All views of one batch are valid together: copy only after the loop
    // above has touched them all.
    for (const RawRecord& r : batch.records) {
      out.push_back({r.partition.value(), r.offset.value(), std::string(r.bytes), r.size,
                     r.truncated, r.is_header});
    }
    if (ended != nullptr) {
      for (Partition p : batch.ended) ended->push_back(p.value());
    }
  });
  return out;
}

std::unique_ptr<Source> OpenSource(const SourceSpec& spec) {
  auto src = MakeFileSource(spec);
  Status s = src->Open();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return src;
}

TEST(FileSourceTest, JsonLinesOffsetsAreLineIndexes) {
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), "{\"a\":1}\n\n{\"a\":2}\n   \n{\"a\":3}");
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  EXPECT_EQ(src->num_partitions(), 1);
  std::vector<int> ended;
  auto recs = ReadAll(*src, 1024, &ended);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].bytes, "{\"a\":1}");
  EXPECT_EQ(recs[1].bytes, "") << "blank lines are records (the pipeline counts them)";
  EXPECT_EQ(recs[2].bytes, "{\"a\":2}");
  EXPECT_EQ(recs[3].bytes, "   ");
  EXPECT_EQ(recs[4].bytes, "{\"a\":3}") << "last line without newline";
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(recs[i].partition, 0);
    EXPECT_FALSE(recs[i].truncated);
    EXPECT_FALSE(recs[i].is_header);
    EXPECT_EQ(recs[i].size, recs[i].bytes.size()) << "size excludes the line terminator";
  }
  EXPECT_EQ(ended, std::vector<int>{0});
  EXPECT_TRUE(src->AtEnd());
  EXPECT_EQ(src->Location(Partition(0), Offset(2)), dir.File("a.jsonl") + ":3");
}

TEST(FileSourceTest, TrailingNewlineDoesNotMakeAnExtraRecord) {
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), "1\n2\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].bytes, "2");
}

TEST(FileSourceTest, CrlfAndByteOrderMark) {
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), "\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"a\":2}\r\n{\"a\":3}\r");
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].bytes, "{\"a\":1}");
  EXPECT_EQ(recs[1].bytes, "");
  EXPECT_EQ(recs[2].bytes, "{\"a\":2}");
  EXPECT_EQ(recs[3].bytes, "{\"a\":3}");
  EXPECT_EQ(recs[3].offset, 3);
  for (const Rec& r : recs) EXPECT_EQ(r.size, r.bytes.size());
}

TEST(FileSourceTest, OnlyALeadingByteOrderMarkIsRemoved) {
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), "x\n\xEF\xBB\xBFy\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].bytes, "\xEF\xBB\xBFy");
}

TEST(FileSourceTest, EmptyFile) {
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), "");
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  std::vector<int> ended;
  EXPECT_TRUE(ReadAll(*src, 10, &ended).empty());
  EXPECT_EQ(ended, std::vector<int>{0});
}

TEST(FileSourceTest, BatchesRespectMaxRecords) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{\"i\":" + std::to_string(i) + "}\n";
  WriteFile(dir.File("a.jsonl"), text);
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src, 7);
  ASSERT_EQ(recs.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(recs[i].offset, i);
    EXPECT_EQ(recs[i].bytes, "{\"i\":" + std::to_string(i) + "}");
  }
}

TEST(FileSourceTest, RecordsSpanningReadChunks) {
  // Reads are 1 MiB: records straddle chunk boundaries.
  TempDir dir;
  std::string text;
  std::vector<std::string> lines;
  for (int i = 0; text.size() < (3 << 20); ++i) {
    lines.push_back("{\"i\":" + std::to_string(i) + ",\"pad\":\"" +
                    std::string(static_cast<size_t>(i * 7919 % 5000), 'p') + "\"}");
    text += lines.back() + "\n";
  }
  WriteFile(dir.File("a.jsonl"), text);
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(recs[i].bytes, lines[i]) << i;
    ASSERT_EQ(recs[i].offset, static_cast<int64_t>(i));
  }
}

TEST(FileSourceTest, CsvHeaderAndMultiLineRecords) {
  TempDir dir;
  WriteFile(dir.File("a.csv"),
            "\n"
            "id,note\r\n"
            "a,\"two\nlines\"\r\n"
            "b,\"three\r\nlines\nhere\"\r\n"
            "\r\n"
            "c,\"\"\"quoted\"\"\nnewline\"\n"
            "d,plain");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 7u);
  EXPECT_EQ(recs[0].bytes, "");
  EXPECT_FALSE(recs[0].is_header) << "a blank line is never the header";
  EXPECT_EQ(recs[1].bytes, "id,note");
  EXPECT_TRUE(recs[1].is_header);
  EXPECT_EQ(recs[1].offset, 1);
  EXPECT_EQ(recs[2].bytes, "a,\"two\nlines\"");
  EXPECT_EQ(recs[2].offset, 2);
  EXPECT_EQ(recs[3].bytes, "b,\"three\r\nlines\nhere\"");
  EXPECT_EQ(recs[3].offset, 4) << "the previous record spanned two lines";
  EXPECT_EQ(recs[4].bytes, "");
  EXPECT_EQ(recs[4].offset, 7) << "the previous record spanned three lines";
  EXPECT_EQ(recs[5].bytes, "c,\"\"\"quoted\"\"\nnewline\"");
  EXPECT_EQ(recs[5].offset, 8);
  EXPECT_EQ(recs[6].bytes, "d,plain");
  EXPECT_EQ(recs[6].offset, 10);
  for (size_t i = 2; i < recs.size(); ++i) EXPECT_FALSE(recs[i].is_header);
  EXPECT_EQ(src->Location(Partition(0), Offset(4)), dir.File("a.csv") + ":5");
}

TEST(FileSourceTest, CsvHeaderAtOffsetZeroAfterByteOrderMark) {
  TempDir dir;
  WriteFile(dir.File("a.csv"), "\xEF\xBB\xBFid,amount\n1,2\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].bytes, "id,amount");
  EXPECT_TRUE(recs[0].is_header);
  EXPECT_EQ(recs[0].offset, 0);
  EXPECT_EQ(recs[1].offset, 1);
}

TEST(FileSourceTest, CsvStrayQuoteInsideACellDoesNotSwallowTheFollowingLines) {
  // Regression: the framer toggled its in-quote state at every quote
  // character, while the decoder (RFC 4180) only opens a quoted cell at the
  // start of a cell. One stray quote merged the rest of the file into one
  // record.
  TempDir dir;
  WriteFile(dir.File("a.csv"),
            "id,note\n"
            "a,5\" screen\n"
            "b,ok\n"
            "c,\"x\"y\n"
            "d,ok\n"
            "e,\"multi\nline\"\n"
            "f,ok\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 7u);
  EXPECT_EQ(recs[1].bytes, "a,5\" screen");
  EXPECT_EQ(recs[2].bytes, "b,ok");
  EXPECT_EQ(recs[2].offset, 2);
  EXPECT_EQ(recs[3].bytes, "c,\"x\"y");
  EXPECT_EQ(recs[4].bytes, "d,ok");
  EXPECT_EQ(recs[5].bytes, "e,\"multi\nline\"");
  EXPECT_EQ(recs[6].bytes, "f,ok");
  EXPECT_EQ(recs[6].offset, 7);
}

TEST(FileSourceTest, CsvFramingUsesTheConfiguredDelimiterAndQuote) {
  TempDir dir;
  WriteFile(dir.File("a.csv"),
            "id;note\n"
            "a;'x\ny'\n"
            "b;\"q\n"
            "c;x'y\n"
            "d;ok\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv);
  spec.csv.delimiter = ';';
  spec.csv.quote = '\'';
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[1].bytes, "a;'x\ny'");
  EXPECT_EQ(recs[2].bytes, "b;\"q");
  EXPECT_EQ(recs[2].offset, 3);
  EXPECT_EQ(recs[3].bytes, "c;x'y");
  EXPECT_EQ(recs[4].bytes, "d;ok");
  EXPECT_EQ(recs[4].offset, 5);
}

TEST(FileSourceTest, CsvUnterminatedQuoteRunsToEndOfFile) {
  TempDir dir;
  WriteFile(dir.File("a.csv"), "id,note\na,\"open\nb,x\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].bytes, "a,\"open\nb,x\n");
  EXPECT_EQ(recs[1].offset, 1);
}

TEST(FileSourceTest, TenMegabyteLineIsAcceptedUnderTheDefaultLimit) {
  TempDir dir;
  std::string big = "{\"id\":\"" + std::string(10 << 20, 'x') + "\"}";
  WriteFile(dir.File("a.jsonl"), "{\"a\":1}\n" + big + "\n{\"a\":2}\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_FALSE(recs[1].truncated);
  EXPECT_EQ(recs[1].bytes.size(), big.size());
  EXPECT_TRUE(recs[1].bytes == big);
  EXPECT_EQ(recs[2].bytes, "{\"a\":2}");
  EXPECT_EQ(recs[2].offset, 2);
}

// An oversized record arrives in several 1 MiB reads: it is discarded as it
// streams in, keeping a 64 KiB prefix and the full size.
TEST(FileSourceTest, TenMegabyteLineIsTooLargeUnderASmallerLimit) {
  TempDir dir;
  std::string big = "{\"id\":\"" + std::string(10 << 20, 'x') + "\"}";
  WriteFile(dir.File("a.jsonl"), "{\"a\":1}\n" + big + "\r\n{\"a\":2}\n\n{\"a\":3}\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"), SourceFormat::kJsonLines, 100000);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].bytes, "{\"a\":1}");
  EXPECT_TRUE(recs[1].truncated);
  EXPECT_EQ(recs[1].offset, 1);
  EXPECT_EQ(recs[1].bytes.size(), 64u * 1024);
  EXPECT_EQ(recs[1].bytes, big.substr(0, 64 * 1024));
  EXPECT_EQ(recs[1].size, big.size()) << "the full size, without the line terminator";
  EXPECT_EQ(recs[2].bytes, "{\"a\":2}");
  EXPECT_EQ(recs[2].offset, 2);
  EXPECT_FALSE(recs[2].truncated);
  EXPECT_EQ(recs[3].offset, 3);
  EXPECT_EQ(recs[4].bytes, "{\"a\":3}");
  EXPECT_EQ(recs[4].offset, 4);
}

TEST(FileSourceTest, OversizedLastLineWithoutNewline) {
  TempDir dir;
  std::string big(3 << 20, 'y');
  WriteFile(dir.File("a.jsonl"), "1\n" + big);
  SourceSpec spec = Spec(dir.File("a.jsonl"), SourceFormat::kJsonLines, 1000);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[1].truncated);
  EXPECT_EQ(recs[1].size, big.size());
  EXPECT_EQ(recs[1].offset, 1);
}

// Oversized records that fit in one read are cut to their prefix; several
// in one batch each keep their own prefix.
TEST(FileSourceTest, SeveralOversizedRecordsInOneBatch) {
  TempDir dir;
  std::string a(300, 'a'), b(200, 'b'), c(250, 'c');
  WriteFile(dir.File("a.jsonl"), a + "\nok1\n" + b + "\nok2\n" + c + "\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"), SourceFormat::kJsonLines, 100);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_TRUE(recs[0].truncated);
  EXPECT_EQ(recs[0].bytes, a);  // shorter than 64 KiB: all of it is kept
  EXPECT_EQ(recs[0].size, 300u);
  EXPECT_EQ(recs[1].bytes, "ok1");
  EXPECT_TRUE(recs[2].truncated);
  EXPECT_EQ(recs[2].bytes, b);
  EXPECT_EQ(recs[2].size, 200u);
  EXPECT_EQ(recs[3].bytes, "ok2");
  EXPECT_EQ(recs[4].bytes, c);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(recs[i].offset, i);
}

TEST(FileSourceTest, TruncatedPrefixDoesNotSplitAUtf8Sequence) {
  // "a" then two-byte characters: a 64 KiB cut would fall inside one.
  std::string e_acute = "\xC3\xA9";
  std::string small = "a", large = "a";
  for (int i = 0; i < 40000; ++i) small += e_acute;   // framed whole, then cut
  for (int i = 0; i < 700000; ++i) large += e_acute;  // discarded as it streams
  for (const std::string& rec : {small, large}) {
    TempDir dir;
    WriteFile(dir.File("a.jsonl"), rec + "\nnext\n");
    SourceSpec spec = Spec(dir.File("a.jsonl"), SourceFormat::kJsonLines, 1000);
    auto src = OpenSource(spec);
    auto recs = ReadAll(*src);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_TRUE(recs[0].truncated);
    EXPECT_EQ(recs[0].size, rec.size());
    EXPECT_EQ(recs[0].bytes.size(), 64u * 1024 - 1);
    EXPECT_EQ(recs[0].bytes, rec.substr(0, 64 * 1024 - 1));
    EXPECT_EQ(recs[1].bytes, "next");
    EXPECT_EQ(recs[1].offset, 1);
  }
}

TEST(FileSourceTest, RecordExactlyAtTheLimitIsAccepted) {
  TempDir dir;
  std::string at(100, 'a'), over(101, 'b');
  WriteFile(dir.File("a.jsonl"), at + "\r\n" + over + "\r\n" + at + "\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"), SourceFormat::kJsonLines, 100);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_FALSE(recs[0].truncated) << "the CR of a CRLF is not part of the record";
  EXPECT_TRUE(recs[1].truncated);
  EXPECT_EQ(recs[1].size, 101u);
  EXPECT_EQ(recs[1].bytes, over);
  EXPECT_FALSE(recs[2].truncated);
}

TEST(FileSourceTest, CsvOversizedMultiLineRecordKeepsLaterOffsets) {
  // A quoted cell of 3 MiB holding 1000 newlines: too large, and the records
  // after it still start at the right lines.
  TempDir dir;
  std::string cell;
  for (int i = 0; i < 1000; ++i) cell += std::string(3 << 10, 'z') + "\n";
  WriteFile(dir.File("a.csv"), "id,note\na,ok\nb,\"" + cell + "\"\nc,ok\nd,\"x\ny\"\ne,ok\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv, 100000);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[1].bytes, "a,ok");
  EXPECT_EQ(recs[2].offset, 2);
  EXPECT_TRUE(recs[2].truncated);
  EXPECT_EQ(recs[2].size, cell.size() + 4);
  EXPECT_EQ(recs[3].bytes, "c,ok");
  EXPECT_EQ(recs[3].offset, 1003) << "b spans 1001 lines (2..1002)";
  EXPECT_EQ(recs[4].bytes, "d,\"x\ny\"");
  EXPECT_EQ(recs[4].offset, 1004);
  EXPECT_EQ(recs[5].bytes, "e,ok");
  EXPECT_EQ(recs[5].offset, 1006);
}

TEST(FileSourceTest, CsvOversizedRecordInOneRead) {
  TempDir dir;
  std::string cell = "l1\nl2\nl3\n" + std::string(500, 'q');
  WriteFile(dir.File("a.csv"), "id,note\nb,\"" + cell + "\"\nc,ok\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv, 100);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_TRUE(recs[1].truncated);
  EXPECT_EQ(recs[1].offset, 1);
  EXPECT_EQ(recs[2].bytes, "c,ok");
  EXPECT_EQ(recs[2].offset, 5);
}

TEST(FileSourceTest, CsvOversizedHeader) {
  TempDir dir;
  WriteFile(dir.File("a.csv"), std::string(200, 'h') + "\na,b\n");
  SourceSpec spec = Spec(dir.File("a.csv"), SourceFormat::kCsv, 100);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].truncated);
  EXPECT_TRUE(recs[0].is_header);
  EXPECT_FALSE(recs[1].is_header);
}

TEST(FileSourceTest, DirectoryIsOnePartitionPerFileInNameOrder) {
  TempDir dir;
  WriteFile(dir.File("in/b.jsonl"), "b0\nb1\n");
  WriteFile(dir.File("in/a.jsonl"), "a0\n\na2\n");
  WriteFile(dir.File("in/.hidden"), "h0\n");
  WriteFile(dir.File("in/sub/c.jsonl"), "c0\n");
  WriteFile(dir.File("in/c.jsonl"), "");
  SourceSpec spec = Spec(dir.File("in"));
  auto src = OpenSource(spec);
  ASSERT_EQ(src->num_partitions(), 3);
  EXPECT_EQ(src->Location(Partition(0), Offset(0)), dir.File("in/a.jsonl") + ":1");
  EXPECT_EQ(src->Location(Partition(1), Offset(1)), dir.File("in/b.jsonl") + ":2");
  EXPECT_EQ(src->Location(Partition(2), Offset(0)), dir.File("in/c.jsonl") + ":1");
  std::vector<int> ended;
  auto recs = ReadAll(*src, 1024, &ended);
  std::vector<std::vector<std::pair<int64_t, std::string>>> by_partition(3);
  for (const Rec& r : recs) by_partition[r.partition].emplace_back(r.offset, r.bytes);
  using V = std::vector<std::pair<int64_t, std::string>>;
  EXPECT_EQ(by_partition[0], (V{{0, "a0"}, {1, ""}, {2, "a2"}}));
  EXPECT_EQ(by_partition[1], (V{{0, "b0"}, {1, "b1"}}));
  EXPECT_TRUE(by_partition[2].empty());
  std::sort(ended.begin(), ended.end());
  EXPECT_EQ(ended, (std::vector<int>{0, 1, 2}));
}

TEST(FileSourceTest, CsvDirectoryHasAHeaderPerFile) {
  TempDir dir;
  WriteFile(dir.File("in/1.csv"), "id\nx\n");
  WriteFile(dir.File("in/2.csv"), "id\ny\n");
  SourceSpec spec = Spec(dir.File("in"), SourceFormat::kCsv);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  int headers = 0;
  for (const Rec& r : recs) {
    if (r.is_header) {
      ++headers;
      EXPECT_EQ(r.offset, 0);
      EXPECT_EQ(r.bytes, "id");
    }
  }
  EXPECT_EQ(headers, 2);
}

TEST(FileSourceTest, MissingInputNamesSourceAndPath) {
  TempDir dir;
  SourceSpec spec = Spec(dir.File("nope.jsonl"));
  auto src = MakeFileSource(spec);
  Status s = src->Open();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("'tx'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(dir.File("nope.jsonl")), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.message();
}

TEST(FileSourceTest, EmptyDirectoryIsAnError) {
  TempDir dir;
  WriteFile(dir.File("in/.only_hidden"), "x\n");
  SourceSpec spec = Spec(dir.File("in"));
  auto src = MakeFileSource(spec);
  Status s = src->Open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'tx'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(dir.File("in")), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no files"), std::string::npos) << s.message();
}

TEST(FileSourceTest, UnreadableFileNamesSourceAndPath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads anything";
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), "1\n");
  ASSERT_EQ(::chmod(dir.File("a.jsonl").c_str(), 0), 0);
  SourceSpec spec = Spec(dir.File("a.jsonl"));
  auto src = MakeFileSource(spec);
  Status s = src->Open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'tx'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(dir.File("a.jsonl")), std::string::npos) << s.message();
}

TEST(FileSourceTest, TruncatedPrefixDoesNotSplitAFourByteSequence) {
  std::string rec = "a";
  for (int i = 0; i < 30000; ++i) rec += "\xF0\x9F\x98\x80";
  TempDir dir;
  WriteFile(dir.File("a.jsonl"), rec + "\n");
  SourceSpec spec = Spec(dir.File("a.jsonl"), SourceFormat::kJsonLines, 1000);
  auto src = OpenSource(spec);
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 1u);
  // 65536 = 1 + 4 * 16383 + 3: the last, incomplete character is dropped.
  EXPECT_EQ(recs[0].bytes.size(), 65533u);
}

// Replaces standard input with a pipe for the duration of a test.
class StdinPipe {
 public:
  StdinPipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    saved_ = ::dup(STDIN_FILENO);
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[0]);
    write_fd_ = fds[1];
  }
  ~StdinPipe() {
    CloseWriter();
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }
  void Write(std::string_view s) { EXPECT_EQ(::write(write_fd_, s.data(), s.size()), s.size()); }
  void CloseWriter() {
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
  }

 private:
  int saved_ = -1;
  int write_fd_ = -1;
};

TEST(FileSourceTest, Stdin) {
  StdinPipe in;
  SourceSpec spec = Spec("-", SourceFormat::kCsv);
  auto src = OpenSource(spec);
  ASSERT_EQ(src->num_partitions(), 1);
  EXPECT_EQ(src->Location(Partition(0), Offset(1)), "<stdin>:2");

  // Nothing written yet: a poll waits (briefly) and returns nothing.
  PollBatch batch;
  ASSERT_TRUE(src->Poll(10, Duration::Millis(1), batch).ok());
  EXPECT_TRUE(batch.records.empty());
  EXPECT_FALSE(src->AtEnd());

  // A record is only framed once its newline (outside quotes) arrives.
  in.Write("id,note\na,\"x\n");
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(src->Poll(10, Duration::Millis(1), batch).ok());
    for (const RawRecord& r : batch.records) seen.emplace_back(r.bytes);
  }
  EXPECT_EQ(seen, std::vector<std::string>{"id,note"});
  in.Write("y\"\nb,z");
  in.CloseWriter();
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].bytes, "a,\"x\ny\"");
  EXPECT_EQ(recs[0].offset, 1);
  EXPECT_EQ(recs[1].bytes, "b,z");
  EXPECT_EQ(recs[1].offset, 3);
  EXPECT_TRUE(src->AtEnd());
}

TEST(FileSourceTest, StdinByteOrderMarkInPieces) {
  StdinPipe in;
  SourceSpec spec = Spec("-", SourceFormat::kCsv);
  auto src = OpenSource(spec);
  PollBatch batch;
  in.Write("\xEF");
  ASSERT_TRUE(src->Poll(10, Duration::Millis(100), batch).ok());
  in.Write("\xBB");
  ASSERT_TRUE(src->Poll(10, Duration::Millis(100), batch).ok());
  in.Write("\xBF\"id\",note\na,b\n");
  in.CloseWriter();
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].bytes, "\"id\",note");
  EXPECT_TRUE(recs[0].is_header);
  EXPECT_EQ(recs[1].bytes, "a,b");
}

TEST(FileSourceTest, StdinWithoutByteOrderMark) {
  StdinPipe in;
  SourceSpec spec = Spec("-");
  auto src = OpenSource(spec);
  in.Write("\xEF\xBB");
  in.CloseWriter();
  auto recs = ReadAll(*src);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].bytes, "\xEF\xBB") << "a partial mark at the end is data";
}

// What a consumer sees of a source, poll by poll, until its end: each poll's
// record offsets and ended partitions. Polls of a stream framed as a file
// that are still waiting for its chunk are left out: the engine waits them
// out (they have no counterpart in a file).
std::vector<std::string> PollTrace(Source& src, size_t max_records) {
  std::vector<std::string> trace;
  PollToEnd(src, max_records, Duration::Millis(5), [&](const PollBatch& batch) {
    if (batch.waiting && batch.records.empty() && batch.ended.empty()) return;
    std::string line;
    for (const RawRecord& r : batch.records) {
      line += std::to_string(r.offset.value()) + (r.truncated ? "t " : " ");
    }
    for (Partition p : batch.ended) line += "end" + std::to_string(p.value());
    trace.push_back(line);
  });
  return trace;
}

// Lines of 40 to 400 bytes up to `size` bytes; the last ends with a newline
// or not.
std::string Lines(size_t size, bool final_newline, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  for (int i = 0; out.size() < size; ++i) {
    std::string line = "{\"i\":" + std::to_string(i) + ",\"pad\":\"";
    line.append(40 + rng() % 360, 'x');
    line += "\"}\n";
    out += line;
  }
  out.resize(size);
  out.back() = final_newline ? '\n' : 'x';
  return out;
}

// The trace of `data` written through a pipe in pieces of random size (1 byte
// to 96 KiB) with pauses, read as stdin.
std::vector<std::string> PipeTrace(const std::string& data, bool frame_as_file,
                                   size_t max_records) {
  StdinPipe in;
  SourceSpec spec = Spec("-");
  spec.frame_as_file = frame_as_file;
  auto src = OpenSource(spec);
  std::thread writer([&] {
    std::mt19937 rng(7);
    for (size_t at = 0; at < data.size();) {
      size_t n = std::min<size_t>(data.size() - at, 1 + rng() % (96 << 10));
      in.Write(std::string_view(data).substr(at, n));
      at += n;
      if (rng() % 4 == 0) ::usleep(200);
    }
    in.CloseWriter();
  });
  std::vector<std::string> trace = PollTrace(*src, max_records);
  writer.join();
  return trace;
}

// `eddy replay --input -` reads a pipe as a file (SourceSpec::frame_as_file)
// so that it interleaves sources as a replay of the file does: every poll
// gives the records, and reports the end, exactly where a file poll does,
// across several 1 MiB read chunks, a record spanning each chunk boundary,
// and however the writes are cut.
TEST(FileSourceTest, StreamFramedAsFilePollsAsTheFileDoes) {
  TempDir dir;
  struct Case {
    size_t size;
    bool final_newline;
  };
  // 2 MiB exactly: the input ends at a chunk boundary.
  for (Case c : {Case{2'600'000, true}, Case{2'600'000, false}, Case{size_t{2} << 20, true}}) {
    SCOPED_TRACE(::testing::Message()
                 << c.size << (c.final_newline ? " with" : " without") << " a final newline");
    const std::string data = Lines(c.size, c.final_newline, static_cast<uint32_t>(c.size));
    WriteFile(dir.File("in.jsonl"), data);
    for (size_t max_records : {size_t{1000}, size_t{37}}) {
      auto file = OpenSource(Spec(dir.File("in.jsonl")));
      const std::vector<std::string> expected = PollTrace(*file, max_records);
      ASSERT_GT(expected.size(), 3u);
      EXPECT_EQ(PipeTrace(data, /*frame_as_file=*/true, max_records), expected);
      if (max_records == 1000) {
        // A pipe read as a stream gives other batches: the test can tell.
        EXPECT_NE(PipeTrace(data, /*frame_as_file=*/false, max_records), expected);
      }
    }
  }
}

}  // namespace
}  // namespace eddy
