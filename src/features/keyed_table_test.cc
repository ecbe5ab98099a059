// KeyedTable: lookups as of an event's time among the records received so
// far, and pruning that never changes a lookup that can still happen.

#include "features/keyed_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/strings.h"

namespace eddy {
namespace {

constexpr int64_t kDay0 = 1714521600;  // 2024-05-01T00:00:00Z

EventTime At(int h, int m = 0) {
  return EventTime::FromMicros((kDay0 + h * 3600 + m * 60) * 1000000);
}

enum Field { kUser = 0, kTs, kCountry, kLimit, kSince };

SourceSpec ProfileSource() {
  SourceSpec s;
  s.name = "profiles";
  s.fields = {{.name = "user", .type = FieldType::kString},
              {.name = "ts", .type = FieldType::kTimestamp},
              {.name = "country", .type = FieldType::kString},
              {.name = "limit", .type = FieldType::kInt},
              {.name = "since", .type = FieldType::kTimestamp}};
  s.event_time_field = "ts";
  s.key_fields = {"user"};
  return s;
}

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = ProfileSource();
    auto schema = Schema::Create(source_);
    ASSERT_TRUE(schema.ok());
    schema_ = std::move(schema).value();
    spec_.name = "profiles_table";
    spec_.source = "profiles";
    spec_.table = true;
    spec_.table_fields = {"country", "limit", "since"};
    auto t = KeyedTable::Create(spec_, source_, schema_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    table_ = std::move(t).value();
  }

  static void Put(KeyedTable& table, const std::string& user, EventTime t,
                  std::optional<std::string> country, std::optional<int64_t> limit = std::nullopt,
                  std::optional<EventTime> since = std::nullopt) {
    Row row(5);
    row.SetString(kUser, user);
    row.Set(kTs, Value::Timestamp(t));
    if (country) row.SetString(kCountry, *country);
    if (limit) row.Set(kLimit, Value::Int(*limit));
    if (since) row.Set(kSince, Value::Timestamp(*since));
    table.OnEvent(user, t, row);
  }
  void Put(const std::string& user, EventTime t, std::optional<std::string> country,
           std::optional<int64_t> limit = std::nullopt,
           std::optional<EventTime> since = std::nullopt) {
    Put(*table_, user, t, std::move(country), limit, since);
  }

  // The joined values as JSON, e.g. ["FR",100,null].
  static std::string Lookup(const KeyedTable& table, const std::string& user, EventTime t) {
    const int fields[] = {0, 1, 2};
    std::vector<FeatureValue> out(3);
    table.Lookup(user, t, fields, out);
    std::string s = "[";
    for (size_t i = 0; i < out.size(); ++i) {
      if (i > 0) s += ",";
      out[i].AppendJson(s);
    }
    return s + "]";
  }
  std::string Lookup(const std::string& user, EventTime t) { return Lookup(*table_, user, t); }

  SourceSpec source_;
  Schema schema_;
  FeatureGroupSpec spec_;
  std::unique_ptr<KeyedTable> table_;
};

TEST_F(TableTest, LookupReturnsTheNewestVersionAtOrBeforeTheEventTime) {
  Put("u1", At(10), "FR", 100, At(1));
  Put("u1", At(12), "DE", 200);
  EXPECT_EQ(Lookup("u1", At(9)), "[null,null,null]") << "nothing known at 9:00";
  EXPECT_EQ(Lookup("u1", At(10)), R"(["FR",100,"2024-05-01T01:00:00Z"])") << "version at t";
  EXPECT_EQ(Lookup("u1", At(11, 59)), R"(["FR",100,"2024-05-01T01:00:00Z"])");
  EXPECT_EQ(Lookup("u1", At(12)), R"(["DE",200,null])") << "a null field is null, not older";
  EXPECT_EQ(Lookup("u2", At(12)), "[null,null,null]") << "unknown key";
  EXPECT_EQ(table_->num_keys(), 1u);
}

TEST_F(TableTest, RecordsArrivingAfterALookupAreNotSeenByIt) {
  EXPECT_EQ(Lookup("u1", At(12)), "[null,null,null]");
  Put("u1", At(10), "FR");  // earlier event time, but it arrives now
  EXPECT_EQ(Lookup("u1", At(12)), R"(["FR",null,null])") << "seen from now on";
}

TEST_F(TableTest, OutOfOrderRecordsAreVersionedByEventTimeAndTiesGoToTheLaterArrival) {
  Put("u1", At(12), "DE");
  Put("u1", At(10), "FR");
  Put("u1", At(12), "IT");
  EXPECT_EQ(Lookup("u1", At(11)), R"(["FR",null,null])");
  EXPECT_EQ(Lookup("u1", At(12)), R"(["IT",null,null])");
}

TEST_F(TableTest, SelectedFieldsComeInTheOrderAsked) {
  Put("u1", At(10), "FR", 100);
  const int fields[] = {1, 0};
  std::vector<FeatureValue> out(2);
  table_->Lookup("u1", At(10), fields, out);
  EXPECT_EQ(out[0].int_value(), 100);
  EXPECT_EQ(out[1].string_value(), "FR");
  EXPECT_EQ(table_->FieldIndex("limit"), 1);
  EXPECT_EQ(table_->FieldIndex("nope"), -1);
}

TEST_F(TableTest, PruningWithAHorizonKeepsEveryLookupAtOrAfterIt) {
  // One table prunes (horizon = the oldest time a future lookup can have),
  // its twin never does; lookups at or after the horizon must agree.
  auto twin = KeyedTable::Create(spec_, source_, schema_);
  ASSERT_TRUE(twin.ok());
  std::mt19937_64 rng(5);
  EventTime horizon = At(0);
  for (int i = 0; i < 5000; ++i) {
    std::string user = StrCat("u", rng() % 7);
    EventTime t = horizon + Duration::Minutes(static_cast<int64_t>(rng() % 120)) -
                  Duration::Minutes(30);  // some records are older than the horizon
    std::string country = StrCat("c", i);
    Put(*table_, user, t, country, i);
    Put(**twin, user, t, country, i);
    if (i % 10 == 0) {
      horizon = horizon + Duration::Minutes(static_cast<int64_t>(rng() % 5));
      table_->SetHorizon(horizon);
    }
    for (int k = 0; k < 3; ++k) {
      std::string u = StrCat("u", rng() % 7);
      EventTime at = horizon + Duration::Minutes(static_cast<int64_t>(rng() % 90));
      ASSERT_EQ(Lookup(u, at), Lookup(**twin, u, at)) << "record " << i;
    }
    ASSERT_EQ(Lookup(user, horizon), Lookup(**twin, user, horizon)) << "exactly at the horizon";
  }
  table_->SetHorizon(At(0));  // a horizon never moves back
  EXPECT_EQ(Lookup("u1", horizon), Lookup(**twin, "u1", horizon));
}

TEST(TableCreateTest, NeedsAKeyAndKnownFields) {
  SourceSpec source = ProfileSource();
  auto schema = Schema::Create(source);
  ASSERT_TRUE(schema.ok());
  FeatureGroupSpec g;
  g.name = "t";
  g.where = "pipeline.yaml:20:5";
  g.table = true;
  g.table_fields = {"country", "contry"};
  auto r = KeyedTable::Create(g, source, *schema);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "pipeline.yaml:20:5: table 't': unknown field 'contry' (not in the schema of "
            "'profiles')");
  g.table_fields = {};
  r = KeyedTable::Create(g, source, *schema);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("needs `fields`"), std::string::npos);
  source.key_fields = {};
  g.table_fields = {"country"};
  r = KeyedTable::Create(g, source, *schema);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("needs a key"), std::string::npos);
}

}  // namespace
}  // namespace eddy
