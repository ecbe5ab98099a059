// The offline history log (docs/formats/history.md): append/scan across
// segment rolls, positions and truncation for checkpoints, crash tolerance
// (torn tails), corruption reports, the groups.json contract, the checked-in
// version 1 files, and CSV / JSON lines / Parquet export.

#include "store/history.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"
#include "test_util.h"

namespace eddy {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

EventTime T(int64_t us) { return EventTime::FromMicros(us); }
ProcessingTime P(int64_t us) { return ProcessingTime::FromMicros(us); }

const int64_t kDay = 1714521600LL * 1000000;  // 2024-05-01T00:00:00Z

StoredVector V(int64_t event_us, int64_t computed_us, std::vector<FeatureValue> values) {
  StoredVector v;
  v.event_time = T(event_us);
  v.computed_at = P(computed_us);
  v.values = std::move(values);
  return v;
}

FeatureValue List(std::vector<std::string> items) {
  FeatureValue v;
  v.SetList() = std::move(items);
  return v;
}

const std::vector<HistoryGroup> kGroups = {
    {"user", {"count", "mean", "country"}},
    {"merchant", {"total"}},
};

struct Rec {
  uint32_t group;
  std::string key;
  StoredVector v;
  friend bool operator==(const Rec&, const Rec&) = default;
};

// `n` varied records of kGroups.
std::vector<Rec> MakeRecords(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<Rec> out;
  for (size_t i = 0; i < n; ++i) {
    int64_t et = kDay + static_cast<int64_t>(rng() % 1000000000);
    int64_t ca = et + static_cast<int64_t>(rng() % 5000000);
    if (i % 3 == 2) {
      out.push_back({1, StrCat("m", rng() % 7), V(et, ca, {FeatureValue::Double(i * 0.25)})});
    } else {
      std::string country(1 + rng() % 40, static_cast<char>('A' + rng() % 26));
      out.push_back({0, StrCat("u", rng() % 50),
                     V(et, ca,
                       {FeatureValue::Int(static_cast<int64_t>(i)),
                        i % 5 == 0 ? FeatureValue::Null() : FeatureValue::Double(1.0 / (i + 1)),
                        FeatureValue::String(country)})});
    }
  }
  return out;
}

std::vector<Rec> ScanAll(const std::string& dir, Status* status = nullptr) {
  std::vector<Rec> out;
  auto r = HistoryReader::Open(dir);
  if (!r.ok()) {
    if (status != nullptr) *status = r.status();
    return out;
  }
  Status s = (*r)->Scan([&](uint32_t g, std::string_view key, const StoredVector& v) {
    out.push_back({g, std::string(key), v});
    return Status::OK();
  });
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return out;
}

std::unique_ptr<HistoryWriter> OpenWriter(const std::string& dir,
                                          const HistoryWriterOptions& options = {}) {
  auto w = HistoryWriter::Open(dir, kGroups, options);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(w).value() : nullptr;
}

void AppendAll(HistoryWriter& w, const std::vector<Rec>& recs,
               std::vector<HistoryPosition>* ends = nullptr) {
  for (const Rec& r : recs) {
    ASSERT_TRUE(w.Append(r.group, r.key, r.v).ok());
    if (ends != nullptr) ends->push_back(w.position());
  }
}

std::string Seg(const std::string& dir, int n) {
  char name[32];
  std::snprintf(name, sizeof(name), "/history-%06d.log", n);
  return dir + name;
}

int CountSegments(const std::string& dir) {
  int n = 0;
  while (std::filesystem::exists(Seg(dir, n))) ++n;
  return n;
}

uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

HistoryWriterOptions SmallSegments() {
  HistoryWriterOptions o;
  o.segment_bytes = 4096;
  o.buffer_bytes = 1000;
  return o;
}

// ---------------------------------------------------------------- round trip

TEST(HistoryTest, AppendThenScanReturnsEveryRecordInOrderAcrossSegmentRolls) {
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(3000);
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, recs);
    EXPECT_EQ(w->records(), recs.size());
    ASSERT_TRUE(w->Flush().ok());
  }
  EXPECT_GT(CountSegments(dir.path()), 10);
  for (int n = 0; n + 1 < CountSegments(dir.path()); ++n) {
    EXPECT_LE(FileSize(Seg(dir.path(), n)), 4096u) << "segment " << n;
  }
  EXPECT_EQ(ScanAll(dir.path()), recs);
}

TEST(HistoryTest, ScanRecordsReportsPositionsAndEncodedBytes) {
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(300);
  std::vector<HistoryPosition> ends;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    EXPECT_EQ(w->position(), (HistoryPosition{0, 8}));
    AppendAll(*w, recs, &ends);
  }
  auto r = HistoryReader::Open(dir.path());
  ASSERT_TRUE(r.ok());
  size_t i = 0;
  HistoryPosition previous_end{0, 8};
  ASSERT_TRUE((*r)->ScanRecords([&](const HistoryRecord& rec) {
                    // A record starts where the previous ended, or at the
                    // start of the next segment.
                    if (rec.position.segment == previous_end.segment) {
                      EXPECT_EQ(rec.position, previous_end) << i;
                    } else {
                      EXPECT_EQ(rec.position, (HistoryPosition{previous_end.segment + 1, 8})) << i;
                    }
                    EXPECT_EQ(ends[i].segment, rec.position.segment) << i;
                    auto decoded = DecodeStoredVector(rec.encoded_vector);
                    EXPECT_TRUE(decoded.ok() && *decoded == rec.vector);
                    previous_end = ends[i];
                    ++i;
                    return Status::OK();
                  })
                  .ok());
  EXPECT_EQ(i, recs.size());
}

TEST(HistoryTest, ReopenedWriterAppendsAfterExistingRecords) {
  TempDir dir;
  std::vector<Rec> recs = MakeRecords(500);
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, std::vector<Rec>(recs.begin(), recs.begin() + 200));
  }
  HistoryPosition end_of_first;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    end_of_first = w->position();
    AppendAll(*w, std::vector<Rec>(recs.begin() + 200, recs.end()));
  }
  EXPECT_EQ(ScanAll(dir.path()), recs);
  EXPECT_GT(end_of_first.offset, 8u);
}

TEST(HistoryTest, ScanStopsWithTheCallbacksError) {
  TempDir dir;
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, MakeRecords(10));
  }
  auto r = HistoryReader::Open(dir.path());
  ASSERT_TRUE(r.ok());
  int calls = 0;
  Status s = (*r)->Scan([&](uint32_t, std::string_view, const StoredVector&) {
    return ++calls == 3 ? Status::Cancelled("enough") : Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_EQ(calls, 3);
}

TEST(HistoryTest, EmptyHistoryScansNothing) {
  TempDir dir;
  OpenWriter(dir.path()).reset();
  Status s;
  EXPECT_TRUE(ScanAll(dir.path(), &s).empty());
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(HistoryTest, AppendRejectsUnknownGroupAndWrongWidth) {
  TempDir dir;
  auto w = OpenWriter(dir.path());
  EXPECT_EQ(w->Append(2, "k", V(0, 0, {FeatureValue::Int(1)})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(w->Append(1, "k", V(0, 0, {})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w->records(), 0u);
  EXPECT_TRUE(w->Append(1, "k", V(0, 0, {FeatureValue::Int(1)})).ok());
}

TEST(HistoryTest, ReaderOnADirectoryWithoutHistoryIsNotFound) {
  TempDir dir;
  auto r = HistoryReader::Open(dir.File("nothing"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("groups.json"), std::string::npos);
}

// ---------------------------------------------------------------- groups

TEST(HistoryTest, ReopeningWithOtherGroupsIsAClearError) {
  TempDir dir;
  OpenWriter(dir.path()).reset();
  std::vector<HistoryGroup> changed = kGroups;
  changed[0].feature_names.push_back("new_feature");
  auto w = HistoryWriter::Open(dir.path(), changed);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(w.status().message().find("new history directory"), std::string::npos)
      << w.status().message();
  EXPECT_NE(w.status().message().find("new_feature"), std::string::npos);
  // Same groups in another order is a change too (group ids are positions).
  auto swapped = HistoryWriter::Open(dir.path(), {kGroups[1], kGroups[0]});
  EXPECT_EQ(swapped.status().code(), StatusCode::kFailedPrecondition);
  // The original groups still open.
  EXPECT_NE(OpenWriter(dir.path()), nullptr);
}

TEST(HistoryTest, InvalidGroupsAreRejected) {
  TempDir dir;
  EXPECT_EQ(HistoryWriter::Open(dir.path(), {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HistoryWriter::Open(dir.path(), {{"a", {"x"}}, {"a", {"y"}}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HistoryWriter::Open(dir.path(), {{"a", {"x", "x"}}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(HistoryTest, ReaderSeesTheRecordedGroups) {
  TempDir dir;
  OpenWriter(dir.path()).reset();
  auto r = HistoryReader::Open(dir.path());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->groups(), kGroups);
  EXPECT_EQ((*r)->FindGroup("merchant"), 1);
  EXPECT_EQ((*r)->FindGroup("nope"), -1);
}

TEST(HistoryTest, ASecondWriterIsRefused) {
  TempDir dir;
  auto first = OpenWriter(dir.path());
  auto second = HistoryWriter::Open(dir.path(), kGroups);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  first.reset();
  EXPECT_TRUE(HistoryWriter::Open(dir.path(), kGroups).ok());
}

// ---------------------------------------------------------------- positions

TEST(HistoryTest, TruncateToAnEarlierPositionKeepsExactlyThePrefix) {
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(1000);
  std::vector<HistoryPosition> ends;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, recs, &ends);
    ASSERT_TRUE(w->Flush(true).ok());
  }
  const int segments_before = CountSegments(dir.path());
  const size_t keep = 317;
  const HistoryPosition checkpoint = ends[keep - 1];
  ASSERT_LT(static_cast<int>(checkpoint.segment) + 1, segments_before);
  ASSERT_TRUE(HistoryWriter::TruncateTo(dir.path(), checkpoint).ok());
  EXPECT_EQ(CountSegments(dir.path()), static_cast<int>(checkpoint.segment) + 1);
  EXPECT_EQ(FileSize(Seg(dir.path(), static_cast<int>(checkpoint.segment))), checkpoint.offset);
  EXPECT_EQ(ScanAll(dir.path()), std::vector<Rec>(recs.begin(), recs.begin() + keep));

  // Replaying after the checkpoint appends the same records again: the log
  // ends as it would have without the restart.
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    EXPECT_EQ(w->position(), checkpoint);
    AppendAll(*w, std::vector<Rec>(recs.begin() + keep, recs.end()));
  }
  EXPECT_EQ(ScanAll(dir.path()), recs);
  EXPECT_EQ(CountSegments(dir.path()), segments_before);
}

TEST(HistoryTest, TruncateToTheStartEmptiesTheLog) {
  TempDir dir;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, MakeRecords(200));
  }
  ASSERT_TRUE(HistoryWriter::TruncateTo(dir.path(), {0, 8}).ok());
  EXPECT_TRUE(ScanAll(dir.path()).empty());
  EXPECT_EQ(CountSegments(dir.path()), 1);
  // And to the current end changes nothing.
  const std::vector<Rec> recs = MakeRecords(20);
  HistoryPosition end;
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, recs);
    end = w->position();
  }
  ASSERT_TRUE(HistoryWriter::TruncateTo(dir.path(), end).ok());
  EXPECT_EQ(ScanAll(dir.path()), recs);
}

TEST(HistoryTest, TruncateToRejectsPositionsThatAreNotRecordBoundaries) {
  TempDir dir;
  std::vector<HistoryPosition> ends;
  const std::vector<Rec> recs = MakeRecords(50);
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, recs, &ends);
  }
  const std::string before = ReadFile(Seg(dir.path(), 0));
  // Inside a record.
  HistoryPosition inside = ends[10];
  inside.offset -= 3;
  EXPECT_EQ(HistoryWriter::TruncateTo(dir.path(), inside).code(), StatusCode::kCorruption);
  // Past the end of the log, and a segment that does not exist.
  HistoryPosition past = ends.back();
  past.offset += 10;
  Status s = HistoryWriter::TruncateTo(dir.path(), past);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("does not reach"), std::string::npos) << s.message();
  EXPECT_FALSE(HistoryWriter::TruncateTo(dir.path(), {5, 100}).ok());
  // Inside the segment header.
  EXPECT_EQ(HistoryWriter::TruncateTo(dir.path(), {0, 4}).code(), StatusCode::kInvalidArgument);
  // Nothing changed.
  EXPECT_EQ(ReadFile(Seg(dir.path(), 0)), before);
  EXPECT_EQ(ScanAll(dir.path()), recs);
}

TEST(HistoryTest, TruncateToRefusesWhileAWriterIsOpen) {
  TempDir dir;
  auto w = OpenWriter(dir.path());
  AppendAll(*w, MakeRecords(5));
  ASSERT_TRUE(w->Flush().ok());
  EXPECT_EQ(HistoryWriter::TruncateTo(dir.path(), {0, 8}).code(), StatusCode::kFailedPrecondition);
}

TEST(HistoryTest, TruncateToOnADirectoryWithoutHistory) {
  TempDir dir;
  EXPECT_TRUE(HistoryWriter::TruncateTo(dir.File("none"), {0, 8}).ok());
  EXPECT_EQ(HistoryWriter::TruncateTo(dir.File("none"), {0, 100}).code(), StatusCode::kNotFound);
}

TEST(HistoryTest, FlushMakesRecordsVisibleToReaders) {
  TempDir dir;
  auto w = OpenWriter(dir.path());
  const std::vector<Rec> recs = MakeRecords(10);
  AppendAll(*w, recs);
  EXPECT_TRUE(ScanAll(dir.path()).empty()) << "appends are buffered";
  ASSERT_TRUE(w->Flush().ok());
  EXPECT_EQ(ScanAll(dir.path()), recs);
}

// ---------------------------------------------------------------- crashes

class TornTailTest : public ::testing::TestWithParam<int> {};

// A crash mid-write leaves part of the last record: readers stop before it,
// and the next writer cuts it off and appends after the good prefix. The
// parameter is how many bytes of the last record survive.
TEST_P(TornTailTest, ReaderStopsCleanlyAndTheNextWriterAppendsAfterTheGoodPrefix) {
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(40);
  std::vector<HistoryPosition> ends;
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, recs, &ends);
  }
  const HistoryPosition good = ends[ends.size() - 2];
  const uint64_t last_len = ends.back().offset - good.offset;
  const uint64_t kept = std::min<uint64_t>(static_cast<uint64_t>(GetParam()), last_len - 1);
  ASSERT_EQ(::truncate(Seg(dir.path(), 0).c_str(), static_cast<off_t>(good.offset + kept)), 0);

  std::vector<Rec> prefix(recs.begin(), recs.end() - 1);
  Status s;
  EXPECT_EQ(ScanAll(dir.path(), &s), prefix);
  EXPECT_TRUE(s.ok()) << s.ToString();

  const std::vector<Rec> more = MakeRecords(5, 7);
  {
    auto w = OpenWriter(dir.path());
    EXPECT_EQ(w->position(), good);
    AppendAll(*w, more);
  }
  prefix.insert(prefix.end(), more.begin(), more.end());
  EXPECT_EQ(ScanAll(dir.path()), prefix);
}

INSTANTIATE_TEST_SUITE_P(BytesOfTheLastRecord, TornTailTest,
                         ::testing::Values(1, 4, 7, 8, 9, 20, 1000));

TEST(HistoryTest, ZerosAfterTheLastRecordAreATornTail) {
  // Some file systems leave zeros where a crash interrupted a write.
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(20);
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, recs);
  }
  const uint64_t size = FileSize(Seg(dir.path(), 0));
  ASSERT_EQ(::truncate(Seg(dir.path(), 0).c_str(), static_cast<off_t>(size + 4096)), 0);
  EXPECT_EQ(ScanAll(dir.path()), recs);
  {
    auto w = OpenWriter(dir.path());
    EXPECT_EQ(w->position().offset, size);
  }
  EXPECT_EQ(FileSize(Seg(dir.path(), 0)), size);
}

TEST(HistoryTest, ASegmentWhoseHeaderWasTornIsRewritten) {
  // The crash came right after a roll created the next segment.
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(300);
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, recs);
  }
  const int n = CountSegments(dir.path());
  WriteFile(Seg(dir.path(), n), std::string("EDH", 3));
  EXPECT_EQ(ScanAll(dir.path()), recs);
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    EXPECT_EQ(w->position(), (HistoryPosition{static_cast<uint32_t>(n), 8}));
    AppendAll(*w, MakeRecords(3, 9));
  }
  EXPECT_EQ(ScanAll(dir.path()).size(), recs.size() + 3);
}

// Flips one byte of segment `n` at `offset`.
void FlipByte(const std::string& path, uint64_t offset) {
  std::string data = ReadFile(path);
  ASSERT_LT(offset, data.size());
  data[offset] = static_cast<char>(data[offset] ^ 0x20);
  WriteFile(path, data);
}

TEST(HistoryTest, AFlippedByteIsCorruptionNamingSegmentAndOffset) {
  TempDir dir;
  const std::vector<Rec> recs = MakeRecords(1000);
  std::vector<HistoryPosition> ends;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, recs, &ends);
  }
  // A record in the middle of segment 1 (not the last segment).
  size_t i = 0;
  while (ends[i].segment < 1) ++i;
  i += 3;
  const HistoryPosition start = ends[i - 1];
  ASSERT_EQ(start.segment, 1u);
  FlipByte(Seg(dir.path(), 1), start.offset + 12);
  Status s;
  std::vector<Rec> seen = ScanAll(dir.path(), &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("history-000001.log"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(StrCat("offset ", start.offset)), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.message();
  EXPECT_EQ(seen, std::vector<Rec>(recs.begin(), recs.begin() + static_cast<ptrdiff_t>(i)));
}

TEST(HistoryTest, AFlippedByteInTheLastRecordIsCorruptionNotATornTail) {
  // The last record is complete: a bad checksum there is damage, and the
  // writer refuses to append behind it rather than cut it off.
  TempDir dir;
  std::vector<HistoryPosition> ends;
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, MakeRecords(30), &ends);
  }
  const uint64_t last_start = ends[ends.size() - 2].offset;
  FlipByte(Seg(dir.path(), 0), ends.back().offset - 1);
  Status s;
  ScanAll(dir.path(), &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find(StrCat("offset ", last_start)), std::string::npos) << s.message();
  const uint64_t size = FileSize(Seg(dir.path(), 0));
  auto w = HistoryWriter::Open(dir.path(), kGroups);
  EXPECT_EQ(w.status().code(), StatusCode::kCorruption);
  EXPECT_NE(w.status().message().find("damaged"), std::string::npos) << w.status().message();
  EXPECT_EQ(FileSize(Seg(dir.path(), 0)), size) << "nothing is cut";
}

TEST(HistoryTest, ATruncatedSegmentBeforeTheLastIsCorruption) {
  TempDir dir;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, MakeRecords(500));
  }
  const uint64_t size = FileSize(Seg(dir.path(), 0));
  ASSERT_EQ(::truncate(Seg(dir.path(), 0).c_str(), static_cast<off_t>(size - 5)), 0);
  Status s;
  ScanAll(dir.path(), &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("history-000000.log"), std::string::npos) << s.message();
}

TEST(HistoryTest, AMissingSegmentIsCorruption) {
  TempDir dir;
  {
    auto w = OpenWriter(dir.path(), SmallSegments());
    AppendAll(*w, MakeRecords(500));
  }
  ASSERT_GT(CountSegments(dir.path()), 3);
  std::filesystem::remove(Seg(dir.path(), 1));
  Status s;
  ScanAll(dir.path(), &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("history-000001.log is missing"), std::string::npos) << s.message();
}

TEST(HistoryTest, AnotherFormatVersionIsRefused) {
  TempDir dir;
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, MakeRecords(3));
  }
  std::string data = ReadFile(Seg(dir.path(), 0));
  data[4] = 2;
  WriteFile(Seg(dir.path(), 0), data);
  Status s;
  ScanAll(dir.path(), &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.message();
}

// Damaged bytes anywhere give records or an error, never a crash (the fuzz
// target fuzz_history.cc explores this further).
TEST(HistoryTest, RandomDamageNeverCrashes) {
  TempDir dir;
  {
    auto w = OpenWriter(dir.path());
    AppendAll(*w, MakeRecords(60));
  }
  const std::string original = ReadFile(Seg(dir.path(), 0));
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string data = original;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) data[rng() % data.size()] = static_cast<char>(rng());
    if (round % 3 == 0) data.resize(rng() % data.size());
    WriteFile(Seg(dir.path(), 0), data);
    Status s;
    ScanAll(dir.path(), &s);
    EXPECT_TRUE(s.ok() || s.code() == StatusCode::kCorruption) << s.ToString();
  }
}

// ---------------------------------------------------------------- version 1

// The records of src/store/testdata/history_v1 (written by format version 1).
std::vector<Rec> V1Records() {
  return {
      {0, "u1",
       V(kDay + 1000, kDay + 2500,
         {FeatureValue::Int(3), FeatureValue::Double(0.1), FeatureValue::String("FR")})},
      {1, "m7", V(kDay - 5, kDay + 3000, {FeatureValue::Double(-2.5)})},
      {0, "u2",
       V(kDay + 60000000, kDay + 60000001,
         {FeatureValue::Int(-9223372036854775807LL - 1), FeatureValue::Null(),
          FeatureValue::String("Zürich, \"CH\"\n")})},
      {1, "m\xC3\xA9", V(kDay, kDay, {FeatureValue::Null()})},
      {0, "u1",
       V(kDay + 1000, kDay + 9000,
         {FeatureValue::Int(4), FeatureValue::Double(1e300), FeatureValue::String("")})},
  };
}

const std::vector<HistoryGroup> kV1Groups = {
    {"user", {"count", "mean", "country"}},
    {"merchant", {"total"}},
};

std::string V1Dir() { return testing::SourceDir() + "/src/store/testdata/history_v1"; }

TEST(HistoryFormatTest, ReadsTheCheckedInVersion1History) {
  auto r = HistoryReader::Open(V1Dir());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->groups(), kV1Groups);
  EXPECT_EQ(ScanAll(V1Dir()), V1Records());
}

TEST(HistoryFormatTest, WritesExactlyTheCheckedInVersion1Bytes) {
  // If this fails the format changed: bump the version, keep reading version
  // 1, and document both in docs/formats/history.md.
  TempDir dir;
  {
    auto w = HistoryWriter::Open(dir.path(), kV1Groups);
    ASSERT_TRUE(w.ok());
    AppendAll(**w, V1Records());
  }
  if (std::getenv("EDDY_WRITE_HISTORY_V1") != nullptr) {  // to create the files, once
    WriteFile(V1Dir() + "/groups.json", ReadFile(dir.File("groups.json")));
    WriteFile(Seg(V1Dir(), 0), ReadFile(Seg(dir.path(), 0)));
  }
  EXPECT_EQ(ReadFile(dir.File("groups.json")), ReadFile(V1Dir() + "/groups.json"));
  EXPECT_EQ(ReadFile(Seg(dir.path(), 0)), ReadFile(Seg(V1Dir(), 0)));
}

// ---------------------------------------------------------------- export

std::unique_ptr<HistoryReader> WriteV1(const TempDir& dir) {
  {
    auto w = HistoryWriter::Open(dir.File("h"), kV1Groups);
    EXPECT_TRUE(w.ok());
    AppendAll(**w, V1Records());
  }
  auto r = HistoryReader::Open(dir.File("h"));
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

TEST(HistoryExportTest, CsvOfOneGroup) {
  TempDir dir;
  auto r = WriteV1(dir);
  ASSERT_TRUE(ExportHistory(*r, "user", "csv", dir.File("user.csv")).ok());
  EXPECT_EQ(ReadFile(dir.File("user.csv")),
            "group,key,event_time,available_at,count,mean,country\n"
            "user,u1,2024-05-01T00:00:00.001Z,2024-05-01T00:00:00.002500Z,3,0.1,FR\n"
            "user,u2,2024-05-01T00:01:00Z,2024-05-01T00:01:00.000001Z,-9223372036854775808,,"
            "\"Zürich, \"\"CH\"\"\n\"\n"
            "user,u1,2024-05-01T00:00:00.001Z,2024-05-01T00:00:00.009Z,4,1e+300,\"\"\n");
}

TEST(HistoryExportTest, JsonLinesOfEveryGroupInAppendOrder) {
  TempDir dir;
  auto r = WriteV1(dir);
  ASSERT_TRUE(ExportHistory(*r, "", "jsonl", dir.File("all.jsonl")).ok());
  EXPECT_EQ(
      ReadFile(dir.File("all.jsonl")),
      R"({"group":"user","key":"u1","event_time":"2024-05-01T00:00:00.001Z","available_at":"2024-05-01T00:00:00.002500Z","count":3,"mean":0.1,"country":"FR"}
{"group":"merchant","key":"m7","event_time":"2024-04-30T23:59:59.999995Z","available_at":"2024-05-01T00:00:00.003Z","total":-2.5}
{"group":"user","key":"u2","event_time":"2024-05-01T00:01:00Z","available_at":"2024-05-01T00:01:00.000001Z","count":-9223372036854775808,"mean":null,"country":"Zürich, \"CH\"\n"}
{"group":"merchant","key":"mé","event_time":"2024-05-01T00:00:00Z","available_at":"2024-05-01T00:00:00Z","total":null}
{"group":"user","key":"u1","event_time":"2024-05-01T00:00:00.001Z","available_at":"2024-05-01T00:00:00.009Z","count":4,"mean":1e+300,"country":""}
)");
}

TEST(HistoryExportTest, CsvOfSeveralGroupsIsOneFilePerGroup) {
  TempDir dir;
  auto r = WriteV1(dir);
  ASSERT_TRUE(ExportHistory(*r, "", "csv", dir.File("out")).ok());
  // Header and three records, one of them holding a line break.
  EXPECT_EQ(testing::ReadLines(dir.File("out/user.csv")).size(), 5u);
  EXPECT_EQ(ReadFile(dir.File("out/merchant.csv")),
            "group,key,event_time,available_at,total\n"
            "merchant,m7,2024-04-30T23:59:59.999995Z,2024-05-01T00:00:00.003Z,-2.5\n"
            "merchant,mé,2024-05-01T00:00:00Z,2024-05-01T00:00:00Z,\n");
}

TEST(HistoryExportTest, ListsBooleansAndFeaturesNamedLikeAColumn) {
  TempDir dir;
  {
    auto w = HistoryWriter::Open(dir.File("h"), {{"g", {"key", "top", "flag"}}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(
        (*w)->Append(0, "k,1",
                     V(kDay, kDay,
                       {FeatureValue::String("x"), List({"a", "b\"c"}), FeatureValue::Bool(true)}))
            .ok());
  }
  auto r = HistoryReader::Open(dir.File("h"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(ExportHistory(**r, "g", "csv", dir.File("g.csv")).ok());
  EXPECT_EQ(
      ReadFile(dir.File("g.csv")),
      "group,key,event_time,available_at,g.key,top,flag\n"
      "g,\"k,1\",2024-05-01T00:00:00Z,2024-05-01T00:00:00Z,x,\"[\"\"a\"\",\"\"b\\\"\"c\"\"]\","
      "true\n");
  ASSERT_TRUE(ExportHistory(**r, "", "jsonl", dir.File("g.jsonl")).ok());
  EXPECT_EQ(
      ReadFile(dir.File("g.jsonl")),
      R"({"group":"g","key":"k,1","event_time":"2024-05-01T00:00:00Z","available_at":"2024-05-01T00:00:00Z","g.key":"x","top":["a","b\"c"],"flag":true}
)");
}

TEST(HistoryExportTest, UnknownGroupAndFormatAreErrors) {
  TempDir dir;
  auto r = WriteV1(dir);
  Status s = ExportHistory(*r, "usr", "csv", dir.File("x.csv"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("did you mean 'user'"), std::string::npos) << s.message();
  EXPECT_EQ(ExportHistory(*r, "", "xlsx", dir.File("x")).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.File("x.csv")));
}

TEST(HistoryExportTest, ParquetWithoutPyarrowSaysHowToInstallIt) {
  TempDir dir;
  auto r = WriteV1(dir);
  // An interpreter that cannot import pyarrow.
  const std::string python = dir.File("python");
  WriteFile(python,
            "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pyarrow'\" >&2\nexit 1\n");
  ASSERT_EQ(::chmod(python.c_str(), 0755), 0);
  Status s = ExportHistory(*r, "user", "parquet", dir.File("user.parquet"), python);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("pip install pyarrow"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No module named"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir.File("user.parquet")));
  // No interpreter at all.
  s = ExportHistory(*r, "user", "parquet", dir.File("user.parquet"), dir.File("missing/python"));
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("pip install pyarrow"), std::string::npos) << s.message();
  // Nothing is left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".eddy-export"), std::string::npos);
  }
}

// The Python with pyarrow to test the real Parquet path with: $EDDY_PYTHON,
// else .venv/bin/python of the source tree, if it has pyarrow.
std::string PyarrowPython() {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("EDDY_PYTHON")) candidates.push_back(p);
  candidates.push_back(testing::SourceDir() + "/.venv/bin/python");
  for (const std::string& c : candidates) {
    if (::access(c.c_str(), X_OK) != 0) continue;
    std::string cmd = StrCat("'", c, "' -c 'import pyarrow.parquet' >/dev/null 2>&1");
    if (std::system(cmd.c_str()) == 0) return c;
  }
  return "";
}

TEST(HistoryExportTest, ParquetRoundTripsThroughPyarrow) {
  const std::string python = PyarrowPython();
  if (python.empty()) GTEST_SKIP() << "no Python with pyarrow (set EDDY_PYTHON)";
  TempDir dir;
  auto r = WriteV1(dir);
  ASSERT_TRUE(ExportHistory(*r, "", "parquet", dir.File("pq"), python).ok());
  // Read it back and print it as JSON lines.
  const std::string script = dir.File("dump.py");
  WriteFile(script, R"(import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(t.schema.to_string(show_schema_metadata=False).replace("\n", "; "))
for row in t.to_pylist():
    row["event_time"] = row["event_time"].isoformat()
    row["available_at"] = row["available_at"].isoformat()
    print(json.dumps(row, ensure_ascii=False, sort_keys=True))
)");
  const std::string out = dir.File("dump.txt");
  ASSERT_EQ(
      std::system(
          StrCat("'", python, "' ", script, " ", dir.File("pq/user.parquet"), " > ", out).c_str()),
      0);
  EXPECT_EQ(
      ReadFile(out),
      "group: string; key: string; event_time: timestamp[us, tz=UTC]; available_at: "
      "timestamp[us, tz=UTC]; count: int64; mean: double; country: string\n"
      R"({"available_at": "2024-05-01T00:00:00.002500+00:00", "count": 3, "country": "FR", "event_time": "2024-05-01T00:00:00.001000+00:00", "group": "user", "key": "u1", "mean": 0.1}
{"available_at": "2024-05-01T00:01:00.000001+00:00", "count": -9223372036854775808, "country": "Zürich, \"CH\"\n", "event_time": "2024-05-01T00:01:00+00:00", "group": "user", "key": "u2", "mean": null}
{"available_at": "2024-05-01T00:00:00.009000+00:00", "count": 4, "country": "", "event_time": "2024-05-01T00:00:00.001000+00:00", "group": "user", "key": "u1", "mean": 1e+300}
)");
  ASSERT_EQ(std::system(
                StrCat("'", python, "' ", script, " ", dir.File("pq/merchant.parquet"), " > ", out)
                    .c_str()),
            0);
  EXPECT_NE(ReadFile(out).find("total: double"), std::string::npos) << ReadFile(out);
}

}  // namespace
}  // namespace eddy
