#include "store/feature_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eddy {
namespace {

constexpr int64_t kNow = 1'714'564'800'000'000;  // 2024-05-01T12:00:00Z
constexpr Duration kTtl = Duration::Hours(1);

StoredVector VectorAsOf(int64_t event_time, int64_t count = 3) {
  StoredVector v;
  v.event_time = EventTime::FromMicros(event_time);
  v.computed_at = ProcessingTime::FromMicros(event_time + 10);
  v.values = {FeatureValue::Int(count), FeatureValue::Double(12.5)};
  return v;
}

GroupReadSpec Group(std::string name, StalePolicy policy) {
  GroupReadSpec g;
  g.group = std::move(name);
  g.names = {"txn_count_1h", "amount_mean_1h"};
  g.ttl = kTtl;
  g.policy = policy;
  g.defaults = {FeatureValue::Int(0), FeatureValue::Double(0.0)};
  return g;
}

class FeatureReaderTest : public ::testing::Test {
 protected:
  FeatureReaderTest()
      : reader_(*store_, clock_,
                {Group("user_reject", StalePolicy::kReject),
                 Group("user_default", StalePolicy::kDefault),
                 Group("user_flag", StalePolicy::kFlag), Forever()}) {}

  static GroupReadSpec Forever() {
    GroupReadSpec g = Group("user_forever", StalePolicy::kReject);
    g.ttl = Duration::Infinite();
    return g;
  }

  // Puts the vector for `key` in every group.
  void PutEverywhere(std::string_view key, const StoredVector& v) {
    for (std::string_view g : {"user_reject", "user_default", "user_flag", "user_forever"}) {
      ASSERT_TRUE(store_->Put(g, key, v).ok());
    }
  }

  std::unique_ptr<OnlineStore> store_ = OpenMemoryStore();
  ManualClock clock_{ProcessingTime::FromMicros(kNow)};
  FeatureReader reader_;
};

TEST_F(FeatureReaderTest, AFreshVectorIsServedAsStored) {
  PutEverywhere("u1", VectorAsOf(kNow - Duration::Minutes(5).micros()));
  for (std::string_view g : {"user_reject", "user_default", "user_flag", "user_forever"}) {
    Result<FeatureRead> r = reader_.Read(g, "u1");
    ASSERT_TRUE(r.ok()) << g << ": " << r.status().ToString();
    EXPECT_TRUE(r->found);
    EXPECT_FALSE(r->stale);
    EXPECT_FALSE(r->defaulted);
    EXPECT_EQ(r->age, Duration::Minutes(5));
    EXPECT_EQ(r->vector, VectorAsOf(kNow - Duration::Minutes(5).micros()));
  }
}

TEST_F(FeatureReaderTest, ExactlyTtlOldIsFreshOneMicrosecondMoreIsStale) {
  PutEverywhere("u1", VectorAsOf(kNow - kTtl.micros()));
  Result<FeatureRead> at_ttl = reader_.Read("user_flag", "u1");
  ASSERT_TRUE(at_ttl.ok());
  EXPECT_EQ(at_ttl->age, kTtl);
  EXPECT_FALSE(at_ttl->stale);

  clock_.Advance(Duration::Micros(1));
  Result<FeatureRead> past = reader_.Read("user_flag", "u1");
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->age, kTtl + Duration::Micros(1));
  EXPECT_TRUE(past->stale);
}

TEST_F(FeatureReaderTest, TtlIsAppliedOnEveryReadAsTheClockMoves) {
  PutEverywhere("u1", VectorAsOf(kNow));
  ASSERT_TRUE(reader_.Read("user_reject", "u1").ok());
  clock_.Advance(kTtl + Duration::Seconds(1));
  EXPECT_EQ(reader_.Read("user_reject", "u1").status().code(), StatusCode::kFailedPrecondition);
  // A newer vector makes the key fresh again.
  ASSERT_TRUE(store_->Put("user_reject", "u1", VectorAsOf(clock_.Now().micros())).ok());
  EXPECT_TRUE(reader_.Read("user_reject", "u1").ok());
}

TEST_F(FeatureReaderTest, TtlMeasuresEventTimeNotComputedAt) {
  // Computed a second ago from events two hours old (a replay, a backlog):
  // the features describe two hours ago, so they are stale.
  StoredVector v = VectorAsOf(kNow - Duration::Hours(2).micros());
  v.computed_at = ProcessingTime::FromMicros(kNow - 1'000'000);
  ASSERT_TRUE(store_->Put("user_flag", "u1", v).ok());
  Result<FeatureRead> r = reader_.Read("user_flag", "u1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stale);
  EXPECT_EQ(r->age, Duration::Hours(2));
}

TEST_F(FeatureReaderTest, RejectFailsAStaleRead) {
  PutEverywhere("u1", VectorAsOf(kNow - Duration::Hours(2).micros()));
  Result<FeatureRead> r = reader_.Read("user_reject", "u1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("stale"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("ttl of 1h"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'u1'"), std::string::npos) << r.status().message();
}

TEST_F(FeatureReaderTest, DefaultServesTheDefaultsFlaggedStale) {
  const StoredVector old = VectorAsOf(kNow - Duration::Hours(2).micros());
  PutEverywhere("u1", old);
  Result<FeatureRead> r = reader_.Read("user_default", "u1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->found);
  EXPECT_TRUE(r->stale);
  EXPECT_TRUE(r->defaulted);
  EXPECT_EQ(r->age, Duration::Hours(2));
  EXPECT_EQ(r->vector.values,
            (std::vector<FeatureValue>{FeatureValue::Int(0), FeatureValue::Double(0.0)}));
  EXPECT_EQ(r->vector.event_time, old.event_time);  // what the store had
}

TEST_F(FeatureReaderTest, FlagServesTheStoredValuesFlaggedStale) {
  const StoredVector old = VectorAsOf(kNow - Duration::Hours(2).micros());
  PutEverywhere("u1", old);
  Result<FeatureRead> r = reader_.Read("user_flag", "u1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->found);
  EXPECT_TRUE(r->stale);
  EXPECT_FALSE(r->defaulted);
  EXPECT_EQ(r->vector, old);
}

TEST_F(FeatureReaderTest, ARequestOverridesTheGroupPolicy) {
  PutEverywhere("u1", VectorAsOf(kNow - Duration::Hours(2).micros()));
  Result<FeatureRead> flagged = reader_.Read("user_reject", "u1", StalePolicy::kFlag);
  ASSERT_TRUE(flagged.ok());
  EXPECT_TRUE(flagged->stale);
  EXPECT_FALSE(flagged->defaulted);
  Result<FeatureRead> defaulted = reader_.Read("user_flag", "u1", StalePolicy::kDefault);
  ASSERT_TRUE(defaulted.ok());
  EXPECT_TRUE(defaulted->defaulted);
  EXPECT_EQ(reader_.Read("user_flag", "u1", StalePolicy::kReject).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(FeatureReaderTest, AnInfiniteTtlIsNeverStale) {
  PutEverywhere("u1", VectorAsOf(0));  // 1970
  Result<FeatureRead> r = reader_.Read("user_forever", "u1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->stale);
}

TEST_F(FeatureReaderTest, AVectorFromTheFutureIsFresh) {
  // The event clock ahead of the machine's (skew, or a producer's bad clock).
  PutEverywhere("u1", VectorAsOf(kNow + Duration::Hours(3).micros()));
  Result<FeatureRead> r = reader_.Read("user_reject", "u1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->stale);
  EXPECT_EQ(r->age, -Duration::Hours(3));
}

TEST_F(FeatureReaderTest, AMissingKeyIsDefaultedUnderDefaultAndNotFoundOtherwise) {
  Result<FeatureRead> d = reader_.Read("user_default", "nobody");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->found);
  EXPECT_TRUE(d->stale);
  EXPECT_TRUE(d->defaulted);
  EXPECT_EQ(d->age, Duration::Infinite());
  EXPECT_EQ(d->vector.event_time, EventTime::Min());
  EXPECT_EQ(d->vector.values,
            (std::vector<FeatureValue>{FeatureValue::Int(0), FeatureValue::Double(0.0)}));

  for (std::string_view g : {"user_reject", "user_flag"}) {
    Result<FeatureRead> r = reader_.Read(g, "nobody");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("'nobody'"), std::string::npos);
  }
  EXPECT_EQ(reader_.Read("user_flag", "nobody", StalePolicy::kDefault)->found, false);
}

TEST_F(FeatureReaderTest, UndeclaredDefaultsAreNull) {
  GroupReadSpec g = Group("partial", StalePolicy::kDefault);
  g.defaults = {FeatureValue::Int(-1)};  // only the first declared
  FeatureReader reader(*store_, clock_, {g});
  Result<FeatureRead> r = reader.Read("partial", "nobody");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->vector.values, (std::vector<FeatureValue>{FeatureValue::Int(-1), FeatureValue()}));
  ASSERT_NE(reader.FindGroup("partial"), nullptr);
  EXPECT_EQ(reader.FindGroup("partial")->defaults.size(), 2u);
}

TEST_F(FeatureReaderTest, AnUnknownGroupIsAnErrorWithASuggestion) {
  Result<FeatureRead> r = reader_.Read("user_flags", "u1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("did you mean 'user_flag'"), std::string::npos)
      << r.status().message();
  std::vector<std::string_view> keys = {"u1"};
  EXPECT_EQ(reader_.ReadMany("nope", keys).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader_.FindGroup("nope"), nullptr);
}

TEST_F(FeatureReaderTest, AVectorOfTheWrongLengthIsAnError) {
  StoredVector v = VectorAsOf(kNow);
  v.values.pop_back();
  ASSERT_TRUE(store_->Put("user_flag", "u1", v).ok());
  Result<FeatureRead> r = reader_.Read("user_flag", "u1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("1 values but the group has 2 features"), std::string::npos)
      << r.status().message();
}

TEST_F(FeatureReaderTest, ReadManyDecidesEachKeyOnItsOwn) {
  ASSERT_TRUE(store_->Put("user_reject", "fresh", VectorAsOf(kNow, 1)).ok());
  ASSERT_TRUE(store_->Put("user_reject", "old", VectorAsOf(kNow - kTtl.micros() - 1, 2)).ok());
  std::vector<std::string_view> keys = {"fresh", "old", "missing", "fresh"};
  Result<std::vector<Result<FeatureRead>>> r = reader_.ReadMany("user_reject", keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  ASSERT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[0]->vector.values[0], FeatureValue::Int(1));
  EXPECT_EQ((*r)[1].status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*r)[2].status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*r)[3].ok());

  Result<std::vector<Result<FeatureRead>>> flagged =
      reader_.ReadMany("user_reject", keys, StalePolicy::kDefault);
  ASSERT_TRUE(flagged.ok());
  ASSERT_TRUE((*flagged)[1].ok());
  EXPECT_TRUE((*flagged)[1]->defaulted);
  ASSERT_TRUE((*flagged)[2].ok());
  EXPECT_FALSE((*flagged)[2]->found);
}

// A store whose vector of key "bad" does not decode.
class CorruptKeyStore final : public OnlineStore {
 public:
  explicit CorruptKeyStore(OnlineStore& inner) : inner_(inner) {}
  Status Put(std::string_view g, std::string_view k, const StoredVector& v) override {
    return inner_.Put(g, k, v);
  }
  Result<std::optional<StoredVector>> Get(std::string_view g, std::string_view k) const override {
    if (k == "bad") return Status::Corruption("the stored vector of key 'bad' is corrupt");
    return inner_.Get(g, k);
  }
  Result<std::vector<std::optional<StoredVector>>> MultiGet(
      std::string_view g, std::span<const std::string_view> keys) const override {
    for (std::string_view k : keys) {
      if (k == "bad") return Status::Corruption("the stored vector of key 'bad' is corrupt");
    }
    return inner_.MultiGet(g, keys);
  }
  Status Scan(
      std::string_view g,
      const std::function<Status(std::string_view, const StoredVector&)>& fn) const override {
    return inner_.Scan(g, fn);
  }
  Status Flush() override { return Status::OK(); }
  Status Checkpoint(const std::string&) override { return Status::OK(); }
  Stats stats() const override { return {}; }

 private:
  OnlineStore& inner_;
};

TEST_F(FeatureReaderTest, ReadManyFailsOnlyTheEntryOfACorruptVector) {
  CorruptKeyStore store(*store_);
  FeatureReader reader(store, clock_, {Group("g", StalePolicy::kFlag)});
  ASSERT_TRUE(store.Put("g", "good", VectorAsOf(kNow)).ok());
  std::vector<std::string_view> keys = {"good", "bad"};
  Result<std::vector<Result<FeatureRead>>> r = reader.ReadMany("g", keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[1].status().code(), StatusCode::kCorruption);
}

TEST(StalePolicyTest, NamesRoundTrip) {
  for (StalePolicy p : {StalePolicy::kReject, StalePolicy::kDefault, StalePolicy::kFlag}) {
    Result<StalePolicy> back = ParseStalePolicy(StalePolicyName(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, p);
  }
  EXPECT_EQ(StalePolicyName(StalePolicy::kDefault), "default");
  Result<StalePolicy> bad = ParseStalePolicy("ignore");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("reject, default or flag"), std::string::npos);
}

}  // namespace
}  // namespace eddy
