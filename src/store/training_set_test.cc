// Point-in-time training sets (docs/concepts/training-sets.md): a label at T
// gets the newest record of its key with event_time <= T, available_at <= T
// and T - event_time <= ttl (ties: the later append), or nulls; never a value
// from after T. Hand-made cases where the answer is obvious, a brute-force
// comparison on random histories, label parsing and bad rows.

#include "store/training_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/json_writer.h"
#include "base/strings.h"
#include "test_util.h"

namespace eddy {
namespace {

using testing::ReadFile;
using testing::ReadLines;
using testing::TempDir;
using testing::WriteFile;

const int64_t kSec = 1000000;
const int64_t kMin = 60 * kSec;
const int64_t kHour = 60 * kMin;
const int64_t kDay = 1714521600LL * kSec;  // 2024-05-01T00:00:00Z

StoredVector V(int64_t event_us, int64_t available_us, std::vector<FeatureValue> values) {
  StoredVector v;
  v.event_time = EventTime::FromMicros(event_us);
  v.computed_at = ProcessingTime::FromMicros(available_us);
  v.values = std::move(values);
  return v;
}

std::string Iso(int64_t us) { return FormatIso8601(EventTime::FromMicros(us)); }

class TrainingSetTest : public ::testing::Test {
 protected:
  void Write(const std::vector<HistoryGroup>& groups,
             const std::vector<std::tuple<uint32_t, std::string, StoredVector>>& records) {
    auto w = HistoryWriter::Open(dir_.File("history"), groups);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const auto& [g, key, v] : records) ASSERT_TRUE((*w)->Append(g, key, v).ok());
    ASSERT_TRUE((*w)->Flush().ok());
    auto r = HistoryReader::Open(dir_.File("history"));
    ASSERT_TRUE(r.ok());
    reader_ = std::move(r).value();
  }

  // Builds with `labels` (the file's text) and returns the output's lines.
  std::vector<std::string> Build(const std::string& labels, TrainingSetOptions o = {}) {
    const std::string ext = o.labels_format == "csv" ? ".csv" : ".jsonl";
    o.labels_path = dir_.File("labels" + ext);
    WriteFile(o.labels_path, labels);
    if (o.output_path.empty()) o.output_path = dir_.File("out/train");
    auto stats = BuildTrainingSet(*reader_, o);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    if (!stats.ok()) return {};
    stats_ = *stats;
    return ReadLines(o.output_path);
  }

  TempDir dir_;
  std::unique_ptr<HistoryReader> reader_;
  TrainingSetStats stats_;
};

// ---------------------------------------------------------------- the rule

// One key, one feature, TTL 1h:
//   r1  event 10:00      available 10:00:01     x=1
//   r2  event 10:30      available 11:30        x=2   (computed late)
//   r3  event 11:00      available 11:00:00.5   x=3
//   r4  event 11:00      available 11:00:00.7   x=4   (same event time, appended after r3)
//   r5  event 12:00      available 12:00:01     x=5
//   r6  event 13:00      available 12:30        x=6   (event time ahead of the clock)
class PointInTimeTest : public TrainingSetTest {
 protected:
  void SetUp() override {
    const int64_t h10 = kDay + 10 * kHour;
    Write({{"g", {"x"}}},
          {
              {0, "k", V(h10, h10 + kSec, {FeatureValue::Int(1)})},
              {0, "k", V(h10 + 30 * kMin, h10 + 90 * kMin, {FeatureValue::Int(2)})},
              {0, "k", V(h10 + kHour, h10 + kHour + kSec / 2, {FeatureValue::Int(3)})},
              {0, "k", V(h10 + kHour, h10 + kHour + 7 * kSec / 10, {FeatureValue::Int(4)})},
              {0, "k", V(h10 + 2 * kHour, h10 + 2 * kHour + kSec, {FeatureValue::Int(5)})},
              {0, "k", V(h10 + 3 * kHour, h10 + 150 * kMin, {FeatureValue::Int(6)})},
              {0, "other", V(h10, h10, {FeatureValue::Int(100)})},
          });
  }

  // x as of `when` (ISO-8601), "null" when none.
  std::string XAt(std::string_view when) {
    TrainingSetOptions o;
    o.output_format = "jsonl";
    o.ttls = {Duration::Hours(1)};
    auto lines = Build(StrCat(R"({"key":"k","timestamp":")", when, R"(","label":1})", "\n"), o);
    if (lines.size() != 1) return "no row";
    const std::string& l = lines[0];
    return l.substr(l.find("\"x\":") + 4, l.size() - l.find("\"x\":") - 5);
  }
};

TEST_F(PointInTimeTest, NothingBeforeTheFirstRecordIsAvailable) {
  EXPECT_EQ(XAt("2024-05-01T09:59:59Z"), "null");
  EXPECT_EQ(XAt("2024-05-01T10:00:00Z"), "null") << "event time reached, but not yet computed";
  EXPECT_EQ(XAt("2024-05-01T10:00:00.999999Z"), "null");
}

TEST_F(PointInTimeTest, AvailabilityExactlyAtTheLabelTimeCounts) {
  EXPECT_EQ(XAt("2024-05-01T10:00:01Z"), "1");
}

TEST_F(PointInTimeTest, ARecordAvailableAfterTIsExcludedEvenIfItsEventTimeIsBefore) {
  // r2 (event 10:30) was only computed at 11:30.
  EXPECT_EQ(XAt("2024-05-01T10:45:00Z"), "1");
  EXPECT_EQ(XAt("2024-05-01T10:59:59Z"), "1");
}

TEST_F(PointInTimeTest, NewestEventTimeWinsOnceAvailable) {
  EXPECT_EQ(XAt("2024-05-01T11:00:00.6Z"), "3") << "r4 is not available until .7";
  EXPECT_EQ(XAt("2024-05-01T11:30:00Z"), "4") << "r2 is now available but older than r4";
}

TEST_F(PointInTimeTest, TiesOnEventTimeGoToTheLaterAppend) {
  EXPECT_EQ(XAt("2024-05-01T11:00:00.7Z"), "4");
  EXPECT_EQ(XAt("2024-05-01T11:00:01Z"), "4");
}

TEST_F(PointInTimeTest, TtlBoundaryIsInclusive) {
  // r5 (event 12:00) is available at 12:00:01; until then r4 (event 11:00)
  // serves, for exactly one hour.
  EXPECT_EQ(XAt("2024-05-01T12:00:00Z"), "4") << "T - event_time == ttl is fresh";
  EXPECT_EQ(XAt("2024-05-01T12:00:00.000001Z"), "null") << "1us past the TTL is stale";
  EXPECT_EQ(XAt("2024-05-01T12:00:01Z"), "5");
}

TEST_F(PointInTimeTest, ARecordWithEventTimeAfterTIsExcludedEvenIfAvailable) {
  // r6 (event 13:00) was available at 12:30.
  EXPECT_EQ(XAt("2024-05-01T12:45:00Z"), "5");
  EXPECT_EQ(XAt("2024-05-01T13:00:00Z"), "6");
}

TEST_F(PointInTimeTest, WithoutTtlOldValuesStayServed) {
  auto lines = Build(R"({"key":"k","timestamp":"2024-05-02T00:00:00Z","label":0})"
                     "\n",
                     TrainingSetOptions{.output_format = "jsonl"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], R"({"key":"k","timestamp":"2024-05-02T00:00:00Z","label":0,"x":6})");
}

TEST_F(PointInTimeTest, UnknownKeysGetNulls) {
  TrainingSetOptions o;
  o.output_format = "jsonl";
  auto lines = Build(R"({"key":"nobody","timestamp":"2024-05-02T00:00:00Z","label":0})"
                     "\n",
                     o);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], R"({"key":"nobody","timestamp":"2024-05-02T00:00:00Z","label":0,"x":null})");
  EXPECT_EQ(stats_.feature_misses, 1u);
  EXPECT_EQ(stats_.feature_hits, 0u);
}

// ---------------------------------------------------------------- formats

TEST_F(TrainingSetTest, CsvLabelsToCsvWithIdsEpochMillisAndSharedFeatureNames) {
  Write({{"user", {"count", "country"}}, {"card", {"count", "label"}}},
        {
            {0, "u1", V(kDay, kDay, {FeatureValue::Int(2), FeatureValue::String("FR, \"x\"")})},
            {1, "u1", V(kDay, kDay, {FeatureValue::Int(7), FeatureValue::Bool(true)})},
        });
  TrainingSetOptions o;
  o.labels_format = "csv";
  o.key_field = "user_id";
  o.time_field = "ts";
  o.label_field = "label";
  o.id_field = "tx";
  auto lines = Build(
      "tx,user_id,ts,label,extra\n"
      "t1,u1,2024-05-01T00:00:01+00:00,1,a\n"
      "\"t,2\",u1,1714521601000,0.5,b\n"
      "t3,u2,2024-05-01T00:00:01Z,\"yes\",c\n"
      ",u1,2024-05-01T00:00:01Z,,d\n",
      o);
  // "count" is in both groups and "label" is a label column: those get the
  // group's name as a prefix; "country" stays as it is.
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "tx,user_id,ts,label,user.count,country,card.count,card.label");
  EXPECT_EQ(lines[1], "t1,u1,2024-05-01T00:00:01Z,1,2,\"FR, \"\"x\"\"\",7,true");
  EXPECT_EQ(lines[2], "\"t,2\",u1,2024-05-01T00:00:01Z,0.5,2,\"FR, \"\"x\"\"\",7,true");
  EXPECT_EQ(lines[3], "t3,u2,2024-05-01T00:00:01Z,yes,,,,");
  EXPECT_EQ(lines[4], ",u1,2024-05-01T00:00:01Z,,2,\"FR, \"\"x\"\"\",7,true");
  EXPECT_EQ(stats_.labels, 4u);
  EXPECT_EQ(stats_.rows, 4u);
  EXPECT_EQ(stats_.bad_labels, 0u);
  EXPECT_EQ(stats_.feature_hits, 6u);
  EXPECT_EQ(stats_.feature_misses, 2u);
}

TEST_F(TrainingSetTest, GroupsKeyedByOtherFieldsReadTheirOwnKeyFromTheLabel) {
  // "user" is keyed by the label's user_id; "card" by its card field.
  Write({{"user", {"n_user"}}, {"card", {"n_card"}}},
        {
            {0, "u1", V(kDay, kDay, {FeatureValue::Int(2)})},
            {1, "c9", V(kDay, kDay, {FeatureValue::Int(7)})},
            {1, "u1", V(kDay, kDay, {FeatureValue::Int(99)})},  // a card id that equals a user id
        });
  TrainingSetOptions o;
  o.key_field = "user_id";
  o.time_field = "ts";
  o.groups = {"user", "card"};
  o.group_key_fields = {"", "card"};
  o.output_format = "jsonl";
  auto lines = Build(
      "{\"user_id\":\"u1\",\"card\":\"c9\",\"ts\":\"2024-05-02T00:00:00Z\",\"label\":1}\n"
      "{\"user_id\":\"u1\",\"ts\":\"2024-05-02T00:00:00Z\",\"label\":0}\n",
      o);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            R"({"user_id":"u1","ts":"2024-05-02T00:00:00Z","label":1,"n_user":2,"n_card":7})");
  // Without its card field the label gets nulls for the card group (never the
  // user key's vector).
  EXPECT_EQ(lines[1],
            R"({"user_id":"u1","ts":"2024-05-02T00:00:00Z","label":0,"n_user":2,"n_card":null})");
  EXPECT_EQ(stats_.feature_hits, 3u);
  EXPECT_EQ(stats_.feature_misses, 1u);
}

TEST_F(TrainingSetTest, CsvLabelsToJsonLinesKeepNumbersAndStrings) {
  Write({{"g", {"x"}}}, {{0, "k", V(kDay, kDay, {FeatureValue::Double(0.5)})}});
  TrainingSetOptions o;
  o.labels_format = "csv";
  o.output_format = "jsonl";
  auto lines = Build(
      "key,timestamp,label,id\n"
      "k,2024-05-01T02:00:00+02:00,1,007\n"
      "k,2024-05-01T00:00:00Z,\"1\",\n"
      "k,2024-05-01T00:00:00Z,true,x\n"
      "k,2024-05-01T00:00:00Z,007,x\n",
      o);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0],
            R"({"id":"007","key":"k","timestamp":"2024-05-01T00:00:00Z","label":1,"x":0.5})");
  EXPECT_EQ(lines[1],
            R"({"id":null,"key":"k","timestamp":"2024-05-01T00:00:00Z","label":"1","x":0.5})");
  EXPECT_EQ(lines[2],
            R"({"id":"x","key":"k","timestamp":"2024-05-01T00:00:00Z","label":true,"x":0.5})");
  EXPECT_EQ(lines[3],
            R"({"id":"x","key":"k","timestamp":"2024-05-01T00:00:00Z","label":"007","x":0.5})");
}

TEST_F(TrainingSetTest, JsonLabelsKeepTheirValuesAndAcceptNumericKeys) {
  Write({{"g", {"x", "top"}}}, {{0, "42", V(kDay, kDay, {FeatureValue::Int(1), [] {
                                                           FeatureValue v;
                                                           v.SetList() = {"a", "b"};
                                                           return v;
                                                         }()})}});
  TrainingSetOptions o;
  o.output_format = "jsonl";
  auto lines =
      Build(R"({"id": 9, "key": 42, "timestamp": 1714521600000, "label": {"a": [1, 2]}})"
            "\n"
            R"({"key": "42", "timestamp": "2024-05-01T00:00:00Z", "label": null, "more": 1})"
            "\n",
            o);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      lines[0],
      R"({"id":9,"key":"42","timestamp":"2024-05-01T00:00:00Z","label":{"a": [1, 2]},"x":1,"top":["a","b"]})");
  EXPECT_EQ(
      lines[1],
      R"({"id":null,"key":"42","timestamp":"2024-05-01T00:00:00Z","label":null,"x":1,"top":["a","b"]})");
  // The same as CSV: lists as JSON text.
  o.output_format = "csv";
  lines = Build(R"({"key":"42","timestamp":"2024-05-01T00:00:00Z","label":"yes"})"
                "\n",
                o);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "key,timestamp,label,x,top");
  EXPECT_EQ(lines[1], "42,2024-05-01T00:00:00Z,yes,1,\"[\"\"a\"\",\"\"b\"\"]\"");
}

TEST_F(TrainingSetTest, BadLabelRowsAreSkippedCountedAndExplained) {
  Write({{"g", {"x"}}}, {{0, "k", V(kDay, kDay, {FeatureValue::Int(1)})}});
  TrainingSetOptions o;
  o.output_format = "jsonl";
  auto lines = Build(R"({"key":"k","timestamp":"2024-05-01T00:00:00Z","label":1})"
                     "\n"
                     "not json\n"
                     "\n"
                     R"([1,2])"
                     "\n"
                     R"({"timestamp":"2024-05-01T00:00:00Z","label":1})"
                     "\n"
                     R"({"key":"k","label":1})"
                     "\n"
                     R"({"key":"k","timestamp":"2024-05-01T00:00:00","label":1})"
                     "\n"
                     R"({"key":"k","timestamp":"yesterday","label":1})"
                     "\n"
                     R"({"key":"k","timestamp":true,"label":1})"
                     "\n"
                     R"({"key":"k","timestamp":1e300,"label":1})"
                     "\n"
                     R"({"key":"k","timestamp":"2024-05-01T00:00:00Z"})"
                     "\n"
                     R"({"key":["k"],"timestamp":"2024-05-01T00:00:00Z","label":1})"
                     "\n"
                     R"({"key":"k","timestamp":"2024-05-01T00:00:00Z","label":2})",
                     o);
  ASSERT_EQ(lines.size(), 2u) << "the two good rows";
  EXPECT_EQ(stats_.labels, 12u) << "blank lines are not rows";
  EXPECT_EQ(stats_.rows, 2u);
  EXPECT_EQ(stats_.bad_labels, 10u);
  ASSERT_EQ(stats_.bad_label_examples.size(), 10u);
  const std::string f = dir_.File("labels.jsonl");
  const auto& ex = stats_.bad_label_examples;
  EXPECT_EQ(ex[0].rfind(f + ":2: not valid JSON", 0), 0u) << ex[0];
  EXPECT_EQ(ex[1], f + ":4: expected a JSON object, got an array");
  EXPECT_EQ(ex[2], f + ":5: no key (field 'key')");
  EXPECT_EQ(ex[3], f + ":6: no timestamp (field 'timestamp')");
  EXPECT_EQ(ex[4].rfind(f + ":7: field 'timestamp': ", 0), 0u) << ex[4];
  EXPECT_EQ(ex[5].rfind(f + ":8: field 'timestamp': ", 0), 0u) << ex[5];
  EXPECT_EQ(ex[6], f + ":9: field 'timestamp': expected an ISO-8601 string or epoch "
                       "milliseconds, got a boolean");
  EXPECT_NE(ex[7].find(":10: field 'timestamp': '1e300' is not epoch milliseconds"),
            std::string::npos)
      << ex[7];
  EXPECT_EQ(ex[8], f + ":11: no label (field 'label')");
  EXPECT_EQ(ex[9], f + ":12: field 'key': expected a string or a number, got an array");
}

TEST_F(TrainingSetTest, BadCsvRowsAreSkippedCountedAndExplained) {
  Write({{"g", {"x"}}}, {{0, "k", V(kDay, kDay, {FeatureValue::Int(1)})}});
  TrainingSetOptions o;
  o.labels_format = "csv";
  auto lines = Build(
      "key,timestamp,label\n"
      "k,2024-05-01T00:00:00Z,1\n"
      "k,2024-05-01T00:00:00Z\n"
      ",2024-05-01T00:00:00Z,1\n"
      "k,,1\n"
      "k,soon,1\n"
      "k,2024-05-01T00:00:00Z,a\"b\n"
      "\"k\"x,2024-05-01T00:00:00Z,1\n"
      "\"\",2024-05-01T00:00:00Z,\"multi\nline\"\n"
      "k,2024-05-01T00:00:00Z,\"open\n",
      o);
  ASSERT_EQ(lines.size(), 4u);  // header, two rows, the second spanning two lines
  EXPECT_EQ(lines[1], "k,2024-05-01T00:00:00Z,1,1");
  EXPECT_EQ(lines[2], "\"\",2024-05-01T00:00:00Z,\"multi");
  EXPECT_EQ(stats_.bad_labels, 7u);
  const std::string f = dir_.File("labels.csv");
  const auto& ex = stats_.bad_label_examples;
  ASSERT_EQ(ex.size(), 7u);
  EXPECT_EQ(ex[0], f + ":3: has 2 cells; the header has 3");
  EXPECT_EQ(ex[1], f + ":4: no key (column 'key')");
  EXPECT_EQ(ex[2], f + ":5: no timestamp (column 'timestamp')");
  EXPECT_EQ(ex[3].rfind(f + ":6: column 'timestamp': ", 0), 0u) << ex[3];
  EXPECT_EQ(ex[4], f + ":7: cell 3 has a '\"' but does not start with one");
  EXPECT_EQ(ex[5], f + ":8: text after the closing quote of cell 1");
  EXPECT_EQ(ex[6], f + ":11: a quoted cell is not closed before the end of the file");
}

TEST_F(TrainingSetTest, JsonIdsMustBeInEveryRowOrNone) {
  Write({{"g", {"x"}}}, {{0, "k", V(kDay, kDay, {FeatureValue::Int(1)})}});
  TrainingSetOptions o;
  auto lines = Build(R"({"key":"k","timestamp":"2024-05-01T00:00:00Z","label":1})"
                     "\n"
                     R"({"id":"a","key":"k","timestamp":"2024-05-01T00:00:00Z","label":1})"
                     "\n",
                     o);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "key,timestamp,label,x");
  EXPECT_EQ(stats_.bad_labels, 1u);
  EXPECT_NE(stats_.bad_label_examples[0].find(":2: has field 'id' but the first label row"),
            std::string::npos);
}

TEST_F(TrainingSetTest, EmptyLabelsGiveAHeaderOnly) {
  Write({{"g", {"x"}}}, {});
  auto lines = Build("");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "key,timestamp,label,x");
}

TEST_F(TrainingSetTest, OptionErrorsAreClearAndWriteNothing) {
  Write({{"user", {"x"}}, {"card", {"y"}}}, {});
  WriteFile(dir_.File("l.jsonl"), "");
  WriteFile(dir_.File("l.csv"), "key,time,label\n");
  auto fails = [&](TrainingSetOptions o, StatusCode code, std::string_view text) {
    if (o.labels_path.empty()) o.labels_path = dir_.File("l.jsonl");
    o.output_path = dir_.File("never");
    auto r = BuildTrainingSet(*reader_, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
    EXPECT_FALSE(std::filesystem::exists(dir_.File("never")));
  };
  fails({.groups = {"usr"}}, StatusCode::kNotFound, "did you mean 'user'");
  fails({.groups = {"user", "user"}}, StatusCode::kInvalidArgument, "twice");
  fails({.ttls = {Duration::Hours(1)}}, StatusCode::kInvalidArgument, "1 TTLs for 2");
  fails({.groups = {"card"}, .ttls = {-Duration::Hours(1)}}, StatusCode::kInvalidArgument,
        "negative");
  fails({.labels_path = dir_.File("missing.jsonl")}, StatusCode::kNotFound, "missing.jsonl");
  fails({.labels_path = dir_.File("l.csv"), .labels_format = "csv"}, StatusCode::kInvalidArgument,
        "no column 'timestamp'");
  fails({.labels_format = "xml"}, StatusCode::kInvalidArgument, "xml");
  fails({.output_format = "parquet"}, StatusCode::kInvalidArgument, "parquet");
  fails({.key_field = "label"}, StatusCode::kInvalidArgument, "must differ");
}

TEST_F(TrainingSetTest, GroupsComeInTheRequestedOrderWithTheirOwnTtls) {
  Write({{"a", {"x"}}, {"b", {"y"}}}, {
                                          {0, "k", V(kDay, kDay, {FeatureValue::Int(1)})},
                                          {1, "k", V(kDay, kDay, {FeatureValue::Int(2)})},
                                      });
  TrainingSetOptions o;
  o.groups = {"b", "a"};
  o.ttls = {Duration::Minutes(1), Duration::Infinite()};
  auto lines = Build(
      "{\"key\":\"k\",\"timestamp\":\"2024-05-01T00:01:00Z\",\"label\":1}\n"
      "{\"key\":\"k\",\"timestamp\":\"2024-05-01T00:01:00.000001Z\",\"label\":1}\n",
      o);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "key,timestamp,label,y,x");
  EXPECT_EQ(lines[1], "k,2024-05-01T00:01:00Z,1,2,1");
  EXPECT_EQ(lines[2], "k,2024-05-01T00:01:00.000001Z,1,,1");
}

// ---------------------------------------------------------------- brute force

struct Record {
  uint32_t group;
  std::string key;
  StoredVector v;
  uint64_t seq;
};

// The row a label at `t` must get for `group`: a plain scan of every record
// written, straight from the definition.
const Record* BruteForce(const std::vector<Record>& all, uint32_t group, const std::string& key,
                         int64_t t, Duration ttl) {
  const Record* best = nullptr;
  for (const Record& r : all) {
    if (r.group != group || r.key != key) continue;
    const int64_t et = r.v.event_time.micros();
    if (et > t) continue;
    if (r.v.computed_at.micros() > t) continue;
    if (!ttl.is_infinite() && t - et > ttl.micros()) continue;
    if (best == nullptr || et > best->v.event_time.micros() ||
        (et == best->v.event_time.micros() && r.seq > best->seq)) {
      best = &r;
    }
  }
  return best;
}

TEST_F(TrainingSetTest, EveryRowMatchesABruteForceScanOfTheHistory) {
  std::mt19937_64 rng(20240501);
  const std::vector<HistoryGroup> groups = {{"g0", {"a", "s"}}, {"g1", {"a"}}, {"g2", {"z"}}};
  const std::vector<Duration> ttls = {Duration::Minutes(30), Duration::Infinite(),
                                      Duration::Hours(2)};
  const int kKeys = 40;
  std::vector<Record> all;
  // Event times out of order over 10h, on a 10s grid so that ties are
  // common; availability at or after the event time with random delays:
  // mostly small, some minutes, some hours; hot keys with hundreds of
  // records, one of them backfilled (the index's min-tree path).
  for (uint64_t seq = 0; seq < 12000; ++seq) {
    const uint32_t g = static_cast<uint32_t>(rng() % 3);
    const int key =
        (rng() % 4 == 0) ? static_cast<int>(rng() % 3) : static_cast<int>(rng() % kKeys);
    const int64_t et = kDay + static_cast<int64_t>(rng() % 3600) * 10 * kSec;
    int64_t delay;
    switch (rng() % 10) {
      case 0:
        delay = static_cast<int64_t>(rng() % (5 * kHour));
        break;
      case 1:
      case 2:
        delay = static_cast<int64_t>(rng() % (10 * kMin));
        break;
      case 3:
        delay = 0;
        break;
      default:
        delay = static_cast<int64_t>(rng() % (2 * kSec));
        break;
    }
    std::vector<FeatureValue> values;
    if (g == 0) {
      values = {FeatureValue::Int(static_cast<int64_t>(seq)),
                rng() % 7 == 0 ? FeatureValue::Null() : FeatureValue::String(StrCat("s", seq))};
    } else if (g == 1) {
      values = {FeatureValue::Double(static_cast<double>(seq) + 0.5)};
    } else {
      values = {FeatureValue::Int(-static_cast<int64_t>(seq))};
    }
    std::string key_name = StrCat("key", key);
    if (rng() % 8 == 0) {
      // A backfilled key: nearly every record became available hours after
      // its event time, so the newest available one is far back.
      key_name = "backfilled";
      delay = rng() % 32 == 0 ? 0 : 3 * kHour + static_cast<int64_t>(rng() % (2 * kHour));
    }
    all.push_back({g, key_name, V(et, et + delay, std::move(values)), seq});
  }
  {
    std::vector<std::tuple<uint32_t, std::string, StoredVector>> records;
    for (const Record& r : all) records.emplace_back(r.group, r.key, r.v);
    Write(groups, records);
  }

  // Labels: random times, some exactly at a record's event time, availability
  // or TTL edge (and 1us either side), some keys unknown to the history.
  std::string labels;
  std::vector<std::pair<std::string, int64_t>> queries;
  for (int i = 0; i < 3000; ++i) {
    std::string key = rng() % 5 == 0 ? "backfilled" : StrCat("key", rng() % (kKeys + 5));
    int64_t t;
    const Record& r = all[rng() % all.size()];
    switch (rng() % 6) {
      case 0:
        t = r.v.event_time.micros();
        key = r.key;
        break;
      case 1:
        t = r.v.computed_at.micros();
        key = r.key;
        break;
      case 2: {
        const Duration ttl = ttls[r.group];
        t = (r.v.event_time + (ttl.is_infinite() ? Duration::Hours(3) : ttl)).micros();
        key = r.key;
        break;
      }
      default:
        t = kDay - kHour + static_cast<int64_t>(rng() % (17 * kHour));
        break;
    }
    t += static_cast<int64_t>(rng() % 3) - 1;
    queries.emplace_back(key, t);
    std::string line;
    JsonWriter w(line);
    w.BeginObject().Key("id").Int(i).Key("key").String(key).Key("timestamp");
    if (t % 1000 == 0 && rng() % 2 == 0) {
      w.Int(t / 1000);  // epoch milliseconds
    } else {
      w.String(Iso(t));
    }
    w.Key("label").Int(i % 2).EndObject();
    labels += line + "\n";
  }

  TrainingSetOptions o;
  o.output_format = "jsonl";
  o.groups = {"g0", "g1", "g2"};
  o.ttls = ttls;
  auto lines = Build(labels, o);
  ASSERT_EQ(lines.size(), queries.size());
  EXPECT_EQ(stats_.bad_labels, 0u);
  uint64_t hits = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const auto& [key, t] = queries[i];
    std::string expected;
    StrAppend(expected, "{\"id\":", i, ",\"key\":\"", key, "\",\"timestamp\":\"", Iso(t),
              "\",\"label\":", i % 2);
    const std::vector<std::vector<std::string>> names = {{"g0.a", "s"}, {"g1.a"}, {"z"}};
    for (uint32_t g = 0; g < 3; ++g) {
      const Record* best = BruteForce(all, g, key, t, ttls[g]);
      hits += best != nullptr;
      for (size_t f = 0; f < names[g].size(); ++f) {
        StrAppend(expected, ",\"", names[g][f], "\":");
        if (best == nullptr) {
          expected += "null";
        } else {
          best->v.values[f].AppendJson(expected);
        }
      }
    }
    expected += "}";
    ASSERT_EQ(lines[i], expected) << "label " << i << " at " << Iso(t);
  }
  EXPECT_EQ(stats_.feature_hits, hits);
  EXPECT_EQ(stats_.feature_misses, queries.size() * 3 - hits);
  // The test means something only if both outcomes are common.
  EXPECT_GT(hits, queries.size() / 2);
  EXPECT_GT(queries.size() * 3 - hits, queries.size() / 4);
}

}  // namespace
}  // namespace eddy
