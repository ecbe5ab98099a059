// The incremental aggregate states (aggregates.h), each checked against a
// direct computation: Moments against a two-pass mean/variance and an exact
// sum, MonotonicDeque against a scan, ValueCounts against a map,
// QuantileSketch against the sorted values within its error bound, and
// DecayedSum against the sum of v * 2^(-(t - t_i) / half_life).

#include "features/aggregates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <vector>

namespace eddy {
namespace {

EventTime Sec(int64_t s) { return EventTime::FromMicros(s * 1000000); }

// Two-pass sample variance: the reference that is stable on large values.
double TwoPassVariance(const std::vector<double>& xs) {
  long double mean = 0;
  for (double x : xs) mean += x;
  mean /= static_cast<long double>(xs.size());
  long double m2 = 0;
  for (double x : xs) m2 += (x - mean) * (x - mean);
  return static_cast<double>(m2 / static_cast<long double>(xs.size() - 1));
}

long double ExactishSum(const std::vector<double>& xs) {
  long double s = 0;
  for (double x : xs) s += x;
  return s;
}

// ---- Moments ----

TEST(MomentsTest, EmptyHasZeroSumAndNoMeanOrVariance) {
  Moments m;
  EXPECT_EQ(m.count(), 0);
  EXPECT_EQ(m.sum(), 0.0);
  EXPECT_FALSE(m.mean().has_value());
  EXPECT_FALSE(m.variance().has_value());
}

TEST(MomentsTest, VarianceIsSampleVarianceAndNullWithFewerThanTwoValues) {
  Moments m;
  m.Add(4);
  EXPECT_EQ(*m.mean(), 4);
  EXPECT_FALSE(m.variance().has_value()) << "one value: no sample variance";
  m.Add(8);
  m.Add(6);
  EXPECT_EQ(m.count(), 3);
  EXPECT_EQ(m.sum(), 18);
  EXPECT_EQ(*m.mean(), 6);
  EXPECT_DOUBLE_EQ(*m.variance(), 4.0) << "(4 + 4 + 0) / (3 - 1)";
}

TEST(MomentsTest, RemoveUndoesAddAndEmptyingResetsExactly) {
  Moments m;
  m.Add(1.5);
  m.Add(2.25);
  m.Add(-7);
  m.Remove(1.5);
  EXPECT_EQ(m.count(), 2);
  EXPECT_DOUBLE_EQ(m.sum(), 2.25 - 7);
  EXPECT_DOUBLE_EQ(*m.mean(), (2.25 - 7) / 2);
  EXPECT_NEAR(*m.variance(), TwoPassVariance({2.25, -7}), 1e-12);
  m.Remove(2.25);
  m.Remove(-7);
  EXPECT_EQ(m.count(), 0);
  EXPECT_EQ(m.sum(), 0.0);
  EXPECT_FALSE(m.mean().has_value());
  // After emptying, the state is exactly that of a fresh Moments.
  m.Add(3.1);
  Moments fresh;
  fresh.Add(3.1);
  EXPECT_EQ(m.sum(), fresh.sum());
  EXPECT_EQ(*m.mean(), *fresh.mean());
}

TEST(MomentsTest, MergeEqualsAddingEverything) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> d(50, 20);
  Moments a, b, all;
  std::vector<double> xs;
  for (int i = 0; i < 300; ++i) {
    double x = d(rng);
    xs.push_back(x);
    (i % 3 == 0 ? a : b).Add(x);
    all.Add(x);
  }
  Moments merged = a;
  merged.Merge(b);
  EXPECT_EQ(merged.count(), 300);
  EXPECT_NEAR(merged.sum(), static_cast<double>(ExactishSum(xs)), 1e-9);
  EXPECT_NEAR(*merged.mean(), *all.mean(), 1e-12);
  EXPECT_NEAR(*merged.variance(), TwoPassVariance(xs), 1e-9 * TwoPassVariance(xs));
  Moments empty;
  empty.Merge(a);
  EXPECT_EQ(empty.count(), a.count());
  EXPECT_EQ(empty.sum(), a.sum());
  a.Merge(Moments());
  EXPECT_EQ(empty.sum(), a.sum());
}

TEST(MomentsTest, VarianceIsStableOnLargeValuesWithSmallDeltas) {
  // 1e9 + small deltas: a naive sum-of-squares variance loses every digit.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> d(-1, 1);
  Moments m;
  std::deque<double> window;
  for (int i = 0; i < 20000; ++i) {
    double x = 1e9 + d(rng);
    m.Add(x);
    window.push_back(x);
    if (window.size() > 500) {
      m.Remove(window.front());
      window.pop_front();
    }
    if (i % 997 == 0 && window.size() >= 2) {
      std::vector<double> xs(window.begin(), window.end());
      double ref = TwoPassVariance(xs);
      ASSERT_NEAR(*m.variance(), ref, 1e-4 * ref) << "after " << i << " events";
    }
  }
  std::vector<double> xs(window.begin(), window.end());
  EXPECT_NEAR(*m.variance(), TwoPassVariance(xs), 1e-4 * TwoPassVariance(xs));
  EXPECT_NEAR(*m.mean(), static_cast<double>(ExactishSum(xs) / xs.size()), 1e-6);
}

TEST(MomentsTest, CompensatedSumSurvivesCancellation) {
  Moments m;
  m.Add(1e16);
  m.Add(1.0);
  m.Add(-1e16);
  EXPECT_EQ(m.sum(), 1.0) << "Neumaier compensation keeps the 1";
  m.Remove(1.0);
  EXPECT_EQ(m.sum(), 0.0);
}

TEST(MomentsTest, AFreshStateNeverAsksToBeRebuilt) {
  // Otherwise an owner that rebuilds would rebuild on every event.
  std::mt19937_64 rng(21);
  for (int kind = 0; kind < 5; ++kind) {
    Moments m;
    for (int i = 0; i < 2000; ++i) {
      double x = 0;
      switch (kind) {
        case 0:
          x = std::uniform_real_distribution<double>(-1000, 1000)(rng);
          break;
        case 1:
          x = 1e9 + std::uniform_real_distribution<double>(-1, 1)(rng);
          break;
        case 2:
          x = 1e9 + 0.1;  // all equal
          break;
        case 3:
          x = i == 0 ? 1e12 : std::uniform_real_distribution<double>(0, 1)(rng);
          break;
        default:
          x = static_cast<double>(i);  // sorted: the running mean lags
          break;
      }
      m.Add(x);
      ASSERT_FALSE(m.NeedsRebuild()) << "kind " << kind << " after " << i + 1 << " values";
    }
  }
}

TEST(MomentsTest, AsksToBeRebuiltWhenRemovalsCancelMostOfTheVariance) {
  Moments m;
  m.Add(1e12);
  for (int i = 0; i < 10; ++i) m.Add(1.0 + 0.1 * i);
  EXPECT_FALSE(m.NeedsRebuild());
  m.Remove(1e12);
  EXPECT_TRUE(m.NeedsRebuild()) << "m2 lost 24 orders of magnitude; its error did not";
  // Sliding over values of one scale does not ask for a rebuild for a while.
  Moments s;
  std::deque<double> window;
  std::mt19937_64 rng(2);
  int rebuilds = 0;
  for (int i = 0; i < 100000; ++i) {
    double x = std::uniform_real_distribution<double>(0, 100)(rng);
    s.Add(x);
    window.push_back(x);
    if (window.size() > 100) {
      s.Remove(window.front());
      window.pop_front();
    }
    if (s.NeedsRebuild()) {
      ++rebuilds;
      s = Moments();
      for (double y : window) s.Add(y);
    }
  }
  EXPECT_LE(rebuilds, 10) << "no more than one per 10000 slides of a 100-value window";
}

// ---- MonotonicDeque ----

struct TimedValue {
  int64_t t;
  uint64_t seq;
  double v;
};

std::optional<double> ScanBest(const std::vector<TimedValue>& items, int64_t lo, bool is_max) {
  std::optional<double> best;
  for (const TimedValue& it : items) {
    if (it.t < lo) continue;
    if (!best || (is_max ? it.v > *best : it.v < *best)) best = it.v;
  }
  return best;
}

TEST(MonotonicDequeTest, MaxAndMinOverASlidingWindow) {
  MonotonicDeque mx(true), mn(false);
  EXPECT_FALSE(mx.best().has_value());
  const double vs[] = {3, 1, 4, 1, 5, 9, 2, 6};
  for (int i = 0; i < 8; ++i) {
    mx.PushBack(Sec(i), static_cast<uint64_t>(i), vs[i]);
    mn.PushBack(Sec(i), static_cast<uint64_t>(i), vs[i]);
  }
  EXPECT_EQ(*mx.best(), 9);
  EXPECT_EQ(*mn.best(), 1);
  mx.EvictBefore(Sec(6));  // 2, 6
  mn.EvictBefore(Sec(6));
  EXPECT_EQ(*mx.best(), 6);
  EXPECT_EQ(*mn.best(), 2);
  mx.EvictBefore(Sec(100));
  EXPECT_FALSE(mx.best().has_value());
}

TEST(MonotonicDequeTest, EvictBeforeKeepsAnItemExactlyAtTheBound) {
  MonotonicDeque mx(true);
  mx.PushBack(Sec(10), 0, 100);
  mx.PushBack(Sec(20), 1, 1);
  mx.EvictBefore(Sec(10));
  EXPECT_EQ(*mx.best(), 100) << "time == lo is inside";
  mx.EvictBefore(Sec(10) + Duration::Micros(1));
  EXPECT_EQ(*mx.best(), 1);
}

TEST(MonotonicDequeTest, InsertOutOfOrderMatchesAScanUnderRandomOperations) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 200; ++round) {
    const bool is_max = round % 2 == 0;
    MonotonicDeque dq(is_max);
    std::vector<TimedValue> items;
    int64_t lo = 0, newest = 0;
    uint64_t seq = 0;
    for (int step = 0; step < 200; ++step) {
      int op = static_cast<int>(rng() % 10);
      if (op < 5) {
        newest += static_cast<int64_t>(rng() % 3);
        double v = static_cast<double>(rng() % 20);
        dq.PushBack(Sec(newest), seq, v);
        items.push_back({newest * 1000000, seq++, v});
      } else if (op < 8) {
        // Out of order, at or after the eviction bound.
        int64_t t = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(newest - lo + 1));
        double v = static_cast<double>(rng() % 20);
        dq.InsertOutOfOrder(Sec(t), seq, v);
        items.push_back({t * 1000000, seq++, v});
      } else {
        lo = std::min(newest, lo + static_cast<int64_t>(rng() % 4));
        dq.EvictBefore(Sec(lo));
      }
      ASSERT_EQ(dq.best(), ScanBest(items, lo * 1000000, is_max))
          << "round " << round << " step " << step;
    }
  }
}

// ---- ValueCounts ----

TEST(ValueCountsTest, CountsDistinctValuesAndForgetsAtZero) {
  ValueCounts c;
  EXPECT_TRUE(c.empty());
  c.Add(5);
  c.Add(5);
  c.Add(7);
  EXPECT_EQ(c.distinct(), 2);
  EXPECT_EQ(c.counts().at(5), 2);
  c.Remove(5);
  EXPECT_EQ(c.distinct(), 2);
  c.Remove(5);
  EXPECT_EQ(c.distinct(), 1);
  EXPECT_EQ(c.counts().count(5), 0u) << "a value at count 0 is forgotten";
  ValueCounts d;
  d.Add(7, 3);
  d.Add(9);
  c.Merge(d);
  EXPECT_EQ(c.distinct(), 2);
  EXPECT_EQ(c.counts().at(7), 4);
  EXPECT_EQ(c.counts().at(9), 1);
}

// ---- QuantileSketch ----

// The DDSketch guarantee, in the form the docs state it.
void ExpectWithinBound(double estimate, double exact, const std::string& what) {
  if (std::fabs(exact) < 1e-12) {
    EXPECT_EQ(estimate, 0.0) << what;
    return;
  }
  EXPECT_LE(std::fabs(estimate - exact),
            QuantileSketch::kRelativeAccuracy * std::fabs(exact) * (1 + 1e-9))
      << what << ": estimate " << estimate << " exact " << exact;
}

double ExactQuantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(std::floor(q * static_cast<double>(xs.size() - 1)))];
}

TEST(QuantileSketchTest, EmptyIsNull) {
  QuantileSketch s;
  EXPECT_FALSE(s.Quantile(0.5).has_value());
  s.Add(3);
  s.Remove(3);
  EXPECT_FALSE(s.Quantile(0.5).has_value());
}

TEST(QuantileSketchTest, WithinOnePercentOfTheRankFloorQTimesNMinusOne) {
  std::mt19937_64 rng(5);
  const double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.99, 1};
  for (int round = 0; round < 40; ++round) {
    QuantileSketch s;
    std::vector<double> xs;
    int n = 1 + static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) {
      double x;
      switch (rng() % 5) {
        case 0:
          x = 0;
          break;
        case 1:
          x = -std::exp(std::uniform_real_distribution<double>(-5, 15)(rng));
          break;
        case 2:
          x = static_cast<double>(static_cast<int64_t>(rng() % 200) - 100);
          break;
        default:
          x = std::exp(std::uniform_real_distribution<double>(-8, 20)(rng));
          break;
      }
      s.Add(x);
      xs.push_back(x);
    }
    for (double q : qs) {
      ExpectWithinBound(*s.Quantile(q), ExactQuantile(xs, q),
                        "round " + std::to_string(round) + " q " + std::to_string(q));
    }
  }
}

TEST(QuantileSketchTest, TinyValuesCountAsZeroAndNegativesOrderBeforeIt) {
  QuantileSketch s;
  s.Add(-2);
  s.Add(1e-13);
  s.Add(-1e-13);
  s.Add(5);
  EXPECT_NEAR(*s.Quantile(0), -2, 0.02);
  EXPECT_EQ(*s.Quantile(0.34), 0.0) << "rank 1 of 4: a tiny value, returned as 0";
  EXPECT_EQ(*s.Quantile(0.67), 0.0);
  EXPECT_NEAR(*s.Quantile(1), 5, 0.05);
}

TEST(QuantileSketchTest, RemoveAndMergeKeepTheBound) {
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> d(3, 2);
  QuantileSketch a, b;
  std::vector<double> kept;
  std::vector<double> removed;
  for (int i = 0; i < 2000; ++i) {
    double x = (i % 7 == 0 ? -1 : 1) * d(rng);
    if (i % 2 == 0) {
      a.Add(x);
      if (i % 4 == 0) {
        removed.push_back(x);
      } else {
        kept.push_back(x);
      }
    } else {
      b.Add(x);
      kept.push_back(x);
    }
  }
  for (double x : removed) a.Remove(x);
  a.Merge(b);
  EXPECT_EQ(a.count(), static_cast<int64_t>(kept.size()));
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 1.0}) {
    ExpectWithinBound(*a.Quantile(q), ExactQuantile(kept, q), "q " + std::to_string(q));
  }
}

TEST(QuantileSketchTest, NonFiniteValuesAreIgnored) {
  QuantileSketch s;
  s.Add(std::nan(""));
  s.Add(INFINITY);
  EXPECT_EQ(s.count(), 0);
  s.Add(2);
  EXPECT_EQ(s.count(), 1);
}

// ---- DecayedSum ----

double DirectDecayed(const std::vector<std::pair<double, int64_t>>& items, int64_t t_us,
                     int64_t half_life_us) {
  long double s = 0;
  for (const auto& [v, ti] : items) {
    s += v *
         std::exp2(-static_cast<long double>(t_us - ti) / static_cast<long double>(half_life_us));
  }
  return static_cast<double>(s);
}

TEST(DecayedSumTest, HalvesEveryHalfLife) {
  DecayedSum d;
  const Duration h = Duration::Hours(1);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.ValueAt(Sec(0), h), 0.0);
  d.Add(8, Sec(0), h);
  EXPECT_DOUBLE_EQ(d.ValueAt(Sec(0), h), 8);
  EXPECT_DOUBLE_EQ(d.ValueAt(Sec(3600), h), 4);
  EXPECT_DOUBLE_EQ(d.ValueAt(Sec(7200), h), 2);
  d.Add(1, Sec(7200), h);
  EXPECT_DOUBLE_EQ(d.ValueAt(Sec(7200), h), 3);
  d.Remove(8, Sec(0), h);
  EXPECT_NEAR(d.ValueAt(Sec(7200), h), 1, 1e-12);
}

TEST(DecayedSumTest, MatchesTheDirectSumAcrossManyHalfLivesWithRemovals) {
  std::mt19937_64 rng(13);
  const Duration h = Duration::Minutes(1);
  DecayedSum d;
  std::deque<std::pair<double, int64_t>> window;
  int64_t t = 0;
  for (int i = 0; i < 5000; ++i) {
    t += static_cast<int64_t>(rng() % 30'000'000);  // up to 30 s
    double v = std::uniform_real_distribution<double>(0, 100)(rng);
    d.Add(v, EventTime::FromMicros(t), h);
    window.emplace_back(v, t);
    while (window.front().second < t - 600'000'000) {  // 10 minute window
      d.Remove(window.front().first, EventTime::FromMicros(window.front().second), h);
      window.pop_front();
    }
    std::vector<std::pair<double, int64_t>> items(window.begin(), window.end());
    double ref = DirectDecayed(items, t, h.micros());
    ASSERT_NEAR(d.ValueAt(EventTime::FromMicros(t), h), ref, 1e-9 * ref) << "event " << i;
  }
}

TEST(DecayedSumTest, MergeOfStatesFarApartDoesNotOverflow) {
  // Regression: Merge scaled the other state by 2^((o.ref - ref) / half_life)
  // without rebasing; states 2000 half-lives apart gave inf, so a tiled or
  // merged-session decayed_sum came out null.
  const Duration h = Duration::Seconds(1);
  DecayedSum a, b;
  a.Add(1, Sec(0), h);
  b.Add(5, Sec(2000), h);
  a.Merge(b, h);
  EXPECT_NEAR(a.ValueAt(Sec(2000), h), 5, 1e-12);
  EXPECT_NEAR(a.ValueAt(Sec(2001), h), 2.5, 1e-12);
  // And the other way round.
  DecayedSum c, e;
  c.Add(5, Sec(2000), h);
  e.Add(1, Sec(0), h);
  c.Merge(e, h);
  EXPECT_NEAR(c.ValueAt(Sec(2000), h), 5, 1e-12);
}

TEST(DecayedSumTest, MergeEqualsAddingEverything) {
  std::mt19937_64 rng(17);
  const Duration h = Duration::Seconds(100);
  DecayedSum a, b, all;
  std::vector<std::pair<double, int64_t>> items;
  for (int i = 0; i < 500; ++i) {
    int64_t t = static_cast<int64_t>(rng() % 100000) * 1000000;
    double v = std::uniform_real_distribution<double>(-10, 10)(rng);
    (i % 2 ? a : b).Add(v, EventTime::FromMicros(t), h);
    items.emplace_back(v, t);
  }
  a.Merge(b, h);
  double scale = 0;
  for (const auto& [v, ti] : items) {
    scale += std::fabs(v) * std::exp2(-static_cast<double>(100000000000 - ti) / 1e8);
  }
  EXPECT_NEAR(a.ValueAt(Sec(100000), h), DirectDecayed(items, 100000000000, h.micros()),
              1e-9 * scale);
}

TEST(DecayedSumTest, EmptiedStateIsExactlyZero) {
  // Adding and removing the same values leaves no residue: a window that
  // empties reads 0, not a rounding error.
  const Duration h = Duration::Seconds(7);
  DecayedSum d;
  d.Add(0.1, Sec(1), h);
  d.Add(1e6 / 3, Sec(2), h);
  d.Remove(0.1, Sec(1), h);
  d.Remove(1e6 / 3, Sec(2), h);
  EXPECT_EQ(d.ValueAt(Sec(3), h), 0.0);
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace eddy
