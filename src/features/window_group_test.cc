// WindowGroup: tumbling, hopping and session windows; when rows are emitted,
// updated and freed. (property_test.cc checks tumbling windows against
// a brute-force reference on random streams.)

#include "features/window_group.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.h"

namespace eddy {
namespace {

constexpr int64_t kDay0 = 1714521600;  // 2024-05-01T00:00:00Z

EventTime At(int h, int m = 0, int s = 0) {
  return EventTime::FromMicros((kDay0 + h * 3600 + m * 60 + s) * 1000000);
}
Watermark Wm(EventTime t) { return Watermark(t); }

enum Field { kUser = 0, kTs, kAmount, kMerchant };

SourceSpec TxSource(Duration lateness) {
  SourceSpec s;
  s.name = "tx";
  s.fields = {{.name = "user", .type = FieldType::kString},
              {.name = "ts", .type = FieldType::kTimestamp},
              {.name = "amount", .type = FieldType::kDouble},
              {.name = "merchant", .type = FieldType::kString}};
  s.event_time_field = "ts";
  s.key_fields = {"user"};
  s.watermark.allowed_lateness = lateness;
  return s;
}

AggregationSpec Agg(std::string name, AggKind kind, std::string field = "") {
  AggregationSpec a;
  a.name = std::move(name);
  a.kind = kind;
  a.field = std::move(field);
  a.where = "pipeline.yaml:9:11";
  return a;
}

struct Got {
  std::string key;
  EventTime start, end;
  std::vector<FeatureValue> values;
  int emission;
  std::vector<std::pair<EventTime, EventTime>> replaces;
};

class WindowTest : public ::testing::Test, public WindowSink {
 protected:
  void OnWindowRow(const WindowRow& row) override {
    rows_.push_back(
        {std::string(row.key_json), row.start, row.end, *row.values, row.emission, row.replaces});
  }

  void Make(WindowSpec window, Duration lateness = Duration::Zero(),
            std::vector<AggregationSpec> aggs = {Agg("n", AggKind::kCount),
                                                 Agg("total", AggKind::kSum, "amount")}) {
    source_ = TxSource(lateness);
    auto schema = Schema::Create(source_);
    ASSERT_TRUE(schema.ok());
    schema_ = std::move(schema).value();
    FeatureGroupSpec spec;
    spec.name = "user_windows";
    spec.source = "tx";
    spec.window = window;
    spec.aggregations = std::move(aggs);
    auto g = WindowGroup::Create(spec, source_, schema_);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    group_ = std::move(g).value();
  }

  void On(EventTime t, double amount = 1, std::string user = "u1",
          std::optional<std::string> merchant = std::nullopt) {
    Row row(4);
    row.SetString(kUser, user);
    row.Set(kTs, Value::Timestamp(t));
    row.Set(kAmount, Value::Double(amount));
    if (merchant) row.SetString(kMerchant, *merchant);
    group_->OnEvent(user, StrCat("\"", user, "\""), t, row, *this);
  }
  void Advance(EventTime wm) { group_->OnWatermark(Wm(wm), *this); }

  static WindowSpec Tumbling(Duration size) {
    return {.kind = WindowKind::kTumbling, .size = size};
  }
  static WindowSpec Hopping(Duration size, Duration slide) {
    return {.kind = WindowKind::kHopping, .size = size, .slide = slide};
  }
  static WindowSpec Session(Duration gap) { return {.kind = WindowKind::kSession, .gap = gap}; }

  SourceSpec source_;
  Schema schema_;
  std::unique_ptr<WindowGroup> group_;
  std::vector<Got> rows_;
};

// ---- Tumbling ----

TEST_F(WindowTest, TumblingWindowsAreEpochAlignedAndHalfOpen) {
  Make(Tumbling(Duration::Hours(1)));
  On(At(12, 0));                           // [12:00, 13:00)
  On(At(13, 0) - Duration::Micros(1), 2);  // still [12:00, 13:00)
  On(At(13, 0), 4);                        // [13:00, 14:00)
  Advance(At(13, 0) - Duration::Micros(1));
  EXPECT_TRUE(rows_.empty()) << "the watermark has not reached the end";
  Advance(At(13, 0));
  ASSERT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_[0].key, "\"u1\"");
  EXPECT_EQ(rows_[0].start, At(12));
  EXPECT_EQ(rows_[0].end, At(13));
  EXPECT_EQ(rows_[0].values[0].int_value(), 2);
  EXPECT_EQ(rows_[0].values[1].double_value(), 3);
  EXPECT_EQ(rows_[0].emission, 0);
}

TEST_F(WindowTest, OneRowPerKeyAndWindowInADeterministicOrder) {
  Make(Tumbling(Duration::Minutes(10)));
  On(At(12, 1), 1, "b");
  On(At(12, 2), 1, "a");
  On(At(12, 15), 1, "a");
  On(At(12, 3), 1, "b");
  Advance(At(13));
  ASSERT_EQ(rows_.size(), 3u);
  // By window end, then key.
  EXPECT_EQ(rows_[0].key, "\"a\"");
  EXPECT_EQ(rows_[0].start, At(12, 0));
  EXPECT_EQ(rows_[1].key, "\"b\"");
  EXPECT_EQ(rows_[1].values[0].int_value(), 2);
  EXPECT_EQ(rows_[2].key, "\"a\"");
  EXPECT_EQ(rows_[2].start, At(12, 10));
}

TEST_F(WindowTest, ALateButAllowedEventUpdatesAnEmittedWindowAtOnce) {
  Make(Tumbling(Duration::Hours(1)), Duration::Minutes(10));
  On(At(12, 30), 5);
  Advance(At(13, 5));
  ASSERT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_[0].emission, 0);
  // 12:58 is behind the watermark but within allowed_lateness: an update.
  On(At(12, 58), 7);
  ASSERT_EQ(rows_.size(), 2u);
  EXPECT_EQ(rows_[1].start, At(12));
  EXPECT_EQ(rows_[1].emission, 1);
  EXPECT_EQ(rows_[1].values[0].int_value(), 2);
  EXPECT_EQ(rows_[1].values[1].double_value(), 12);
  On(At(12, 56), 1);
  ASSERT_EQ(rows_.size(), 3u);
  EXPECT_EQ(rows_[2].emission, 2);
  EXPECT_EQ(rows_[2].values[0].int_value(), 3);
  // A late event for a window never seen before is that window's first row.
  On(At(12, 56), 1, "other");
  ASSERT_EQ(rows_.size(), 4u);
  EXPECT_EQ(rows_[3].key, "\"other\"");
  EXPECT_EQ(rows_[3].emission, 0);
}

TEST_F(WindowTest, StateIsFreedOnceTheWatermarkPassesEndPlusAllowedLateness) {
  Make(Tumbling(Duration::Hours(1)), Duration::Minutes(10));
  On(At(12, 30));
  On(At(13, 30));
  EXPECT_EQ(group_->open_windows(), 2u);
  Advance(At(13, 10) - Duration::Micros(1));
  EXPECT_EQ(group_->open_windows(), 2u) << "an event at 13:00 - 1us could still arrive";
  Advance(At(13, 10));
  EXPECT_EQ(group_->open_windows(), 1u);
}

TEST_F(WindowTest, EndOfInputEmitsEveryWindowAndFreesEverything) {
  Make(Tumbling(Duration::Hours(1)), Duration::Minutes(10));
  On(At(12, 30), 1, "a");
  On(At(15, 30), 1, "b");
  On(At(12, 40), 1, "b");
  group_->OnWatermark(Watermark::EndOfTime(), *this);
  ASSERT_EQ(rows_.size(), 3u);
  EXPECT_EQ(group_->open_windows(), 0u);
  EXPECT_EQ(group_->rows(), 3u);
  EXPECT_EQ(group_->updates(), 0u);
}

TEST_F(WindowTest, AggregationsOfAWindow) {
  AggregationSpec top = Agg("top", AggKind::kTopK, "merchant");
  top.k = 2;
  AggregationSpec q = Agg("p50", AggKind::kQuantile, "amount");
  q.quantile = 0.5;
  AggregationSpec d = Agg("decayed", AggKind::kDecayedSum, "amount");
  d.half_life = Duration::Minutes(30);
  Make(Tumbling(Duration::Hours(1)), Duration::Zero(),
       {Agg("n", AggKind::kCount), Agg("mean", AggKind::kMean, "amount"),
        Agg("min", AggKind::kMin, "amount"), Agg("max", AggKind::kMax, "amount"),
        Agg("sd", AggKind::kStddev, "amount"), Agg("distinct", AggKind::kCountDistinct, "merchant"),
        Agg("last", AggKind::kLast, "merchant"), top, q, d});
  On(At(12, 0), 2, "u1", "m2");
  On(At(12, 30), 4, "u1", "m1");
  On(At(12, 15), 9, "u1", "m2");  // out of order: not the last
  On(At(12, 20), 3, "u1");
  Advance(At(13));
  ASSERT_EQ(rows_.size(), 1u);
  const auto& v = rows_[0].values;
  EXPECT_EQ(v[0].int_value(), 4);
  EXPECT_EQ(v[1].double_value(), 4.5);
  EXPECT_EQ(v[2].double_value(), 2);
  EXPECT_EQ(v[3].double_value(), 9);
  EXPECT_NEAR(v[4].double_value(), std::sqrt((6.25 + 0.25 + 20.25 + 2.25) / 3), 1e-12);
  EXPECT_EQ(v[5].int_value(), 2);
  EXPECT_EQ(v[6].string_value(), "m1") << "latest by event time (12:30), not by arrival";
  ASSERT_EQ(v[7].list_value().size(), 2u);
  EXPECT_EQ(v[7].list_value()[0], "m2");
  EXPECT_EQ(v[7].list_value()[1], "m1");
  EXPECT_NEAR(v[8].double_value(), 3, 0.03) << "rank floor(0.5 * 3) = 1 of 2, 3, 4, 9";
  // Decayed sums of a window are as of its end (13:00).
  EXPECT_NEAR(v[9].double_value(),
              2 * 0.25 + 4 * 0.5 + 9 * std::exp2(-1.5) + 3 * std::exp2(-4.0 / 3), 1e-12);
}

// ---- Hopping ----

TEST_F(WindowTest, HoppingWindowsCoverEveryStartWithinSizeOfTheEvent) {
  Make(Hopping(Duration::Hours(1), Duration::Minutes(15)));
  On(At(12, 15));  // in [11:30, 12:30), [11:45, 12:45), [12:00, 13:00), [12:15, 13:15)
  group_->OnWatermark(Watermark::EndOfTime(), *this);
  ASSERT_EQ(rows_.size(), 4u);
  EXPECT_EQ(rows_[0].start, At(11, 30));
  EXPECT_EQ(rows_[0].end, At(12, 30));
  EXPECT_EQ(rows_[3].start, At(12, 15)) << "an event exactly at a start is in that window";
  EXPECT_EQ(rows_[3].end, At(13, 15));
}

TEST_F(WindowTest, HoppingWindowsEmitAsTheWatermarkPassesEachEnd) {
  Make(Hopping(Duration::Minutes(30), Duration::Minutes(10)));
  On(At(12, 5), 1);
  On(At(12, 25), 10);
  Advance(At(12, 30));
  // [11:40, 12:10) {12:05}, [11:50, 12:20) {12:05}, [12:00, 12:30) {12:05, 12:25}
  ASSERT_EQ(rows_.size(), 3u);
  EXPECT_EQ(rows_[2].start, At(12, 0));
  EXPECT_EQ(rows_[2].values[1].double_value(), 11);
  Advance(At(12, 50));
  ASSERT_EQ(rows_.size(), 5u);
  EXPECT_EQ(rows_[4].start, At(12, 20));
  EXPECT_EQ(rows_[4].values[1].double_value(), 10);
}

// ---- Sessions ----

TEST_F(WindowTest, EventsCloserThanTheGapShareASessionExactlyTheGapApartDoNot) {
  Make(Session(Duration::Minutes(10)));
  On(At(12, 0));
  On(At(12, 10) - Duration::Micros(1));  // closer than the gap
  On(At(12, 20) - Duration::Micros(1));  // exactly the gap after the last: a new session
  On(At(12, 40));
  group_->OnWatermark(Watermark::EndOfTime(), *this);
  ASSERT_EQ(rows_.size(), 3u);
  EXPECT_EQ(rows_[0].start, At(12, 0));
  EXPECT_EQ(rows_[0].end, At(12, 20) - Duration::Micros(1)) << "[first, last + gap)";
  EXPECT_EQ(rows_[0].values[0].int_value(), 2);
  EXPECT_EQ(rows_[1].start, At(12, 20) - Duration::Micros(1));
  EXPECT_EQ(rows_[1].values[0].int_value(), 1);
  EXPECT_EQ(rows_[2].start, At(12, 40));
}

TEST_F(WindowTest, ASessionEmitsWhenTheWatermarkReachesLastPlusGap) {
  Make(Session(Duration::Minutes(10)));
  On(At(12, 0));
  On(At(12, 5));
  Advance(At(12, 14));
  EXPECT_TRUE(rows_.empty());
  Advance(At(12, 15));
  ASSERT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_[0].values[0].int_value(), 2);
  EXPECT_TRUE(rows_[0].replaces.empty());
}

TEST_F(WindowTest, AnOutOfOrderEventBridgingTwoOpenSessionsMergesThem) {
  Make(Session(Duration::Minutes(10)));
  On(At(12, 0), 1);
  On(At(12, 18), 2);  // 18 minutes later: its own session
  On(At(12, 9), 4);   // within 10 minutes of both
  group_->OnWatermark(Watermark::EndOfTime(), *this);
  ASSERT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_[0].start, At(12, 0));
  EXPECT_EQ(rows_[0].end, At(12, 28));
  EXPECT_EQ(rows_[0].values[0].int_value(), 3);
  EXPECT_EQ(rows_[0].values[1].double_value(), 7);
  EXPECT_TRUE(rows_[0].replaces.empty()) << "nothing had been emitted";
}

TEST_F(WindowTest, ALateEventBridgingTwoEmittedSessionsMergesThemAndListsTheReplacedOne) {
  Make(Session(Duration::Minutes(10)), Duration::Hours(1));
  On(At(12, 0), 1);
  On(At(12, 5), 1);   // session A [12:00, 12:15)
  On(At(12, 20), 2);  // session B [12:20, 12:30)
  Advance(At(12, 40));
  ASSERT_EQ(rows_.size(), 2u);
  // Within allowed_lateness, 7 minutes after A's last and 8 before B's first.
  On(At(12, 12), 4);
  ASSERT_EQ(rows_.size(), 3u);
  const Got& merged = rows_[2];
  EXPECT_EQ(merged.start, At(12, 0)) << "the merged session keeps A's identity";
  EXPECT_EQ(merged.end, At(12, 30));
  EXPECT_EQ(merged.emission, 1) << "an update of A";
  EXPECT_EQ(merged.values[0].int_value(), 4);
  EXPECT_EQ(merged.values[1].double_value(), 8);
  ASSERT_EQ(merged.replaces.size(), 1u);
  EXPECT_EQ(merged.replaces[0].first, At(12, 20));
  EXPECT_EQ(merged.replaces[0].second, At(12, 30));
  EXPECT_EQ(group_->open_windows(), 1u);
  // Later updates of the merged session list nothing more.
  On(At(12, 25), 1);
  ASSERT_EQ(rows_.size(), 4u);
  EXPECT_EQ(rows_[3].emission, 2);
  EXPECT_TRUE(rows_[3].replaces.empty());
}

TEST_F(WindowTest, ALateEventBeforeAnEmittedSessionMovesItsStartAndReplacesIt) {
  Make(Session(Duration::Minutes(10)), Duration::Hours(1));
  On(At(12, 10), 1);
  Advance(At(12, 30));
  ASSERT_EQ(rows_.size(), 1u);
  On(At(12, 5), 1);
  ASSERT_EQ(rows_.size(), 2u);
  EXPECT_EQ(rows_[1].start, At(12, 5));
  EXPECT_EQ(rows_[1].emission, 0) << "a new identity (key, start)";
  ASSERT_EQ(rows_[1].replaces.size(), 1u);
  EXPECT_EQ(rows_[1].replaces[0].first, At(12, 10));
  EXPECT_EQ(rows_[1].replaces[0].second, At(12, 20));
}

TEST_F(WindowTest, ALateEventExtendingAnEmittedSessionPastTheWatermarkUpdatesItAtItsNewEnd) {
  Make(Session(Duration::Minutes(10)), Duration::Minutes(5));
  On(At(12, 0), 1);
  Advance(At(12, 12));  // emits [12:00, 12:10)
  ASSERT_EQ(rows_.size(), 1u);
  On(At(12, 8), 1);  // late but allowed; the session now ends at 12:18
  EXPECT_EQ(rows_.size(), 1u) << "not complete yet";
  Advance(At(12, 18));
  ASSERT_EQ(rows_.size(), 2u);
  EXPECT_EQ(rows_[1].start, At(12, 0));
  EXPECT_EQ(rows_[1].end, At(12, 18));
  EXPECT_EQ(rows_[1].emission, 1);
  EXPECT_EQ(rows_[1].values[0].int_value(), 2);
  Advance(At(12, 23));
  EXPECT_EQ(group_->open_windows(), 0u) << "freed at end + allowed_lateness";
}

TEST_F(WindowTest, SessionsOfDifferentKeysDoNotMerge) {
  Make(Session(Duration::Minutes(10)));
  On(At(12, 0), 1, "a");
  On(At(12, 5), 1, "b");
  group_->OnWatermark(Watermark::EndOfTime(), *this);
  EXPECT_EQ(rows_.size(), 2u);
}

// ---- Plans ----

TEST(WindowCreateTest, RejectsWindowsThatCannotWork) {
  SourceSpec source = TxSource(Duration::Zero());
  auto schema = Schema::Create(source);
  ASSERT_TRUE(schema.ok());
  auto error = [&](WindowSpec w, AggregationSpec a) {
    FeatureGroupSpec g;
    g.name = "w";
    g.where = "pipeline.yaml:3:5";
    g.window = w;
    g.aggregations = {a};
    auto r = WindowGroup::Create(g, source, *schema);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(error({.kind = WindowKind::kHopping,
                   .size = Duration::Minutes(10),
                   .slide = Duration::Minutes(20)},
                  Agg("n", AggKind::kCount))
                .find("slide must not exceed its size"),
            std::string::npos);
  EXPECT_NE(
      error({.kind = WindowKind::kSession}, Agg("n", AggKind::kCount))
          .find("pipeline.yaml:3:5: feature group 'w': a session window needs a positive gap"),
      std::string::npos);
  AggregationSpec with_window = Agg("n", AggKind::kCount);
  with_window.window = Duration::Hours(1);
  EXPECT_NE(error({.kind = WindowKind::kTumbling, .size = Duration::Hours(1)}, with_window)
                .find("take the group's window"),
            std::string::npos);
  EXPECT_NE(error({.kind = WindowKind::kTumbling, .size = Duration::Hours(1)},
                  Agg("m", AggKind::kMax, "merchant"))
                .find("is a string"),
            std::string::npos);
}

}  // namespace
}  // namespace eddy
