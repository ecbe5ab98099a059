// FeatureEngine: a pipeline's feature groups wired to their sources. Rows hold
// each as-of group's aggregations, then its joins, then its derived features;
// derived expressions see the event's fields and the features before them;
// errors in a plan name the group, the feature and the pipeline-file location.

#include "features/feature_engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.h"

namespace eddy {
namespace {

constexpr int64_t kDay0 = 1714521600;  // 2024-05-01T00:00:00Z

EventTime At(int h, int m = 0) {
  return EventTime::FromMicros((kDay0 + h * 3600 + m * 60) * 1000000);
}

constexpr char kSources[] = R"y(sources:
  - name: tx
    format: jsonl
    path: tx.jsonl
    event_time: ts
    key: user
    schema:
      fields:
        - {name: user, type: string}
        - {name: ts, type: timestamp}
        - {name: amount, type: double}
        - {name: merchant, type: string}
    watermark: {max_out_of_orderness: 0s, allowed_lateness: 5m}
  - name: profiles
    format: jsonl
    path: profiles.jsonl
    event_time: ts
    key: user
    schema:
      fields:
        - {name: user, type: string}
        - {name: ts, type: timestamp}
        - {name: country, type: string}
outputs:
  late: late.jsonl
  dead_letter: dead.jsonl
features:
)y";

constexpr char kGroups[] = R"y(  - name: user_profiles
    source: profiles
    table: {fields: [country]}
  - name: user_activity
    source: tx
    aggregations:
      - {name: n_1h, fn: count, window: 1h}
      - {name: amount_mean_7d, fn: mean, field: amount, window: 7d}
      - {name: amount_std_7d, fn: stddev, field: amount, window: 7d}
      - {name: top_merchants, fn: top_k, field: merchant, k: 2, window: 1h}
    join:
      - {table: user_profiles, fields: [country], prefix: profile_}
    derived:
      - name: amount_z
        expr: "if(amount_std_7d > 0, (amount - amount_mean_7d) / amount_std_7d, null)"
      - name: per_zero
        expr: "amount / 0"
      - name: abroad
        expr: "coalesce(profile_country != 'FR', false)"
  - name: merchant_activity
    source: tx
    key: merchant
    aggregations:
      - {name: merchant_n_1h, fn: count, window: 1h}
    derived:
      - name: share
        expr: "n_1h / merchant_n_1h"
  - name: user_hourly
    source: tx
    window: {type: tumbling, size: 1h}
    aggregations:
      - {name: n, fn: count}
)y";

struct Rows : WindowSink {
  std::vector<std::string> rows;
  void OnWindowRow(const WindowRow& row) override {
    std::string s = StrCat(row.group, " ", row.key_json, " ", row.start.micros(), " ");
    for (const FeatureValue& v : *row.values) v.AppendJson(s);
    rows.push_back(s);
  }
};

class EngineTest : public ::testing::Test {
 protected:
  Status Open(const std::string& groups) {
    auto spec = ParsePipeline(std::string(kSources) + groups, "pipeline.yaml", "/tmp");
    if (!spec.ok()) return spec.status();
    spec_ = std::move(spec).value();
    schemas_.clear();
    for (const SourceSpec& s : spec_.sources) {
      auto schema = Schema::Create(s);
      if (!schema.ok()) return schema.status();
      schemas_.push_back(std::make_unique<Schema>(std::move(schema).value()));
    }
    std::vector<const Schema*> ptrs;
    for (const auto& s : schemas_) ptrs.push_back(s.get());
    auto fe = FeatureEngine::Create(spec_, ptrs);
    if (!fe.ok()) return fe.status();
    engine_ = std::move(fe).value();
    return Status::OK();
  }

  // Feeds a tx event; returns its feature row as "name=value" pairs.
  std::string Tx(std::optional<std::string> user, EventTime t, std::optional<double> amount,
                 std::optional<std::string> merchant = "m1") {
    Row row(4);
    if (user) row.SetString(0, *user);
    row.Set(1, Value::Timestamp(t));
    if (amount) row.Set(2, Value::Double(*amount));
    if (merchant) row.SetString(3, *merchant);
    std::vector<FeatureValue> values;
    engine_->OnEvent(0, t, row, values, sink_);
    std::string out;
    const auto& names = engine_->feature_names(0);
    EXPECT_EQ(values.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      StrAppend(out, i ? " " : "", names[i], "=");
      values[i].AppendJson(out);
    }
    return out;
  }
  void Profile(const std::string& user, EventTime t, const std::string& country) {
    Row row(3);
    row.SetString(0, user);
    row.Set(1, Value::Timestamp(t));
    row.SetString(2, country);
    std::vector<FeatureValue> values;
    engine_->OnEvent(1, t, row, values, sink_);
    EXPECT_TRUE(values.empty()) << "profiles has no per-event features";
  }

  PipelineSpec spec_;
  std::vector<std::unique_ptr<Schema>> schemas_;
  std::unique_ptr<FeatureEngine> engine_;
  Rows sink_;
};

TEST_F(EngineTest, RowsHoldAggregationsThenJoinsThenDerivedGroupByGroup) {
  ASSERT_TRUE(Open(kGroups).ok());
  EXPECT_EQ(StrJoin(engine_->feature_names(0), ","),
            "n_1h,amount_mean_7d,amount_std_7d,top_merchants,profile_country,amount_z,per_zero,"
            "abroad,merchant_n_1h,share");
  EXPECT_FALSE(engine_->has_event_features(1));
  EXPECT_EQ(engine_->asof_groups().size(), 2u);
  EXPECT_EQ(engine_->window_groups().size(), 1u);
}

TEST_F(EngineTest, DerivedZScoreJoinAndDivisionByZero) {
  ASSERT_TRUE(Open(kGroups).ok());
  Profile("u1", At(9), "FR");
  EXPECT_EQ(
      Tx("u1", At(10), 10),
      R"(n_1h=1 amount_mean_7d=10 amount_std_7d=null top_merchants=["m1"] )"
      R"(profile_country="FR" amount_z=null per_zero=null abroad=false merchant_n_1h=1 share=1)");
  Profile("u1", At(10, 30), "DE");
  EXPECT_EQ(
      Tx("u1", At(10, 20), 20, "m2"),
      R"(n_1h=2 amount_mean_7d=15 amount_std_7d=7.0710678118654755 top_merchants=["m1","m2"] )"
      R"(profile_country="FR" amount_z=0.7071067811865475 per_zero=null abroad=false )"
      R"(merchant_n_1h=1 share=2)")
      << "the 10:30 profile is later than 10:20";
  EXPECT_EQ(
      Tx("u1", At(11), 30),
      R"(n_1h=3 amount_mean_7d=20 amount_std_7d=10 top_merchants=["m1","m2"] )"
      R"(profile_country="DE" amount_z=1 per_zero=null abroad=true merchant_n_1h=2 share=1.5)");
}

TEST_F(EngineTest, ANullKeyMakesThatGroupsAggregationsNullAndFeedsNothing) {
  ASSERT_TRUE(Open(kGroups).ok());
  Tx("u1", At(10), 10);
  // merchant_activity is keyed by merchant, which may be null.
  std::string row = Tx("u1", At(10, 1), 5, std::nullopt);
  EXPECT_NE(row.find("n_1h=2 "), std::string::npos) << row;
  EXPECT_NE(row.find(R"(top_merchants=["m1"])"), std::string::npos) << row;
  EXPECT_NE(row.find("merchant_n_1h=null share=null"), std::string::npos) << row;
  EXPECT_EQ(engine_->asof_groups()[1]->stats().keys, 1u) << "only m1";
  EXPECT_NE(Tx("u1", At(10, 2), 1).find("merchant_n_1h=2"), std::string::npos);
}

TEST_F(EngineTest, WindowGroupsEmitThroughTheSinkAsTheWatermarkMoves) {
  ASSERT_TRUE(Open(kGroups).ok());
  Tx("u1", At(10, 10), 1);
  Tx("u2", At(10, 20), 1);
  Tx("u1", At(10, 50), 1);
  engine_->OnWatermark(0, Watermark(At(11)), sink_);
  ASSERT_EQ(sink_.rows.size(), 2u);
  EXPECT_EQ(sink_.rows[0], StrCat("user_hourly \"u1\" ", At(10).micros(), " 2"));
  EXPECT_EQ(sink_.rows[1], StrCat("user_hourly \"u2\" ", At(10).micros(), " 1"));
}

TEST_F(EngineTest, TableVersionsAreKeptForLookupsTheJoiningSourceCanStillMake) {
  ASSERT_TRUE(Open(kGroups).ok());
  Profile("u1", At(9), "FR");
  Profile("u1", At(10), "DE");
  Profile("u1", At(11), "IT");
  // tx allows 5 minutes of lateness: a tx event at 10:56 can still come.
  engine_->OnWatermark(0, Watermark(At(11, 1)), sink_);
  Profile("u1", At(12), "ES");  // pruning happens on update
  EXPECT_NE(Tx("u1", At(10, 56), 1).find(R"(profile_country="DE")"), std::string::npos);
  EXPECT_NE(Tx("u1", At(11, 30), 1).find(R"(profile_country="IT")"), std::string::npos);
}

// ---- Plan errors ----

TEST_F(EngineTest, ADerivedCompileErrorNamesTheGroupTheFeatureAndTheLocation) {
  Status s = Open(R"y(  - name: g
    source: tx
    aggregations:
      - {name: n_1h, fn: count, window: 1h}
    derived:
      - name: bad
        expr: "n_1h + * 2"
)y");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "pipeline.yaml:34:15: feature group 'g', derived 'bad': expression 'n_1h + * 2': at "
            "position 8: expected a value (number, string, name, function call or '('), got '*'")
      << "line 34 column 15 is the expression's text in the file";
}

TEST_F(EngineTest, DerivedFeaturesSeeOnlyFeaturesBeforeThemAndNoLists) {
  Status later = Open(R"y(  - name: g
    source: tx
    aggregations:
      - {name: n_1h, fn: count, window: 1h}
    derived:
      - {name: early, expr: "late + 1"}
      - {name: late, expr: "n_1h + 1"}
)y");
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.message().find("derived 'early'"), std::string::npos) << later.message();
  EXPECT_NE(later.message().find("late"), std::string::npos) << later.message();
  Status other_group = Open(R"y(  - name: g
    source: tx
    derived:
      - {name: early, expr: "n_1h + 1"}
  - name: h
    source: tx
    aggregations:
      - {name: n_1h, fn: count, window: 1h}
)y");
  ASSERT_FALSE(other_group.ok()) << "a later group's features are not before it in the row";
  Status list = Open(R"y(  - name: g
    source: tx
    aggregations:
      - {name: top, fn: top_k, field: merchant, k: 3, window: 1h}
    derived:
      - {name: x, expr: "is_null(top)"}
)y");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.message().find("top"), std::string::npos) << list.message();
}

TEST_F(EngineTest, FeatureNamesMustBeUniqueAndNotShadowFieldsOrReservedNames) {
  auto error = [&](const std::string& groups) {
    Status s = Open(groups);
    return s.ok() ? std::string("ok") : s.message();
  };
  EXPECT_NE(error(R"y(  - name: a
    source: tx
    aggregations: [{name: n, fn: count, window: 1h}]
  - name: b
    source: tx
    aggregations: [{name: n, fn: count, window: 2h}]
)y")
                .find("feature 'n' is defined twice for source 'tx'"),
            std::string::npos);
  EXPECT_NE(error(R"y(  - name: a
    source: tx
    aggregations: [{name: amount, fn: sum, field: amount, window: 1h}]
)y")
                .find("has the name of a field"),
            std::string::npos);
  EXPECT_NE(error(R"y(  - name: a
    source: tx
    aggregations: [{name: key, fn: count, window: 1h}]
)y")
                .find("reserved"),
            std::string::npos);
  EXPECT_NE(error(R"y(  - name: a
    source: tx
    aggregations: [{name: n, fn: count, window: 1h}]
    join: [{table: user_profile}]
  - name: user_profiles
    source: profiles
    table: {fields: [country]}
)y")
                .find("no table group named 'user_profile' (did you mean 'user_profiles'?)"),
            std::string::npos);
}

TEST_F(EngineTest, CompositeKeysDoNotCollide) {
  ASSERT_TRUE(Open(R"y(  - name: g
    source: tx
    key: [user, merchant]
    aggregations: [{name: n, fn: count, window: 1h}]
)y")
                  .ok());
  // "a:1" + "b" and "a" + "1:b" must be different keys.
  EXPECT_EQ(Tx("a:1", At(10), 1, "b"), "n=1");
  EXPECT_EQ(Tx("a", At(10), 1, "1:b"), "n=1");
  EXPECT_EQ(Tx("a:1", At(10), 1, "b"), "n=2");
}

}  // namespace
}  // namespace eddy
