// Checkpoints of the rolling quality metrics (ClassifierMetrics::Save/Load,
// RegressorMetrics::Save/Load): a restored copy reports bit for bit what the
// original does, now and after more examples; another window keeps the newest
// examples; damaged bytes are errors.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <string>

#include "base/coding.h"
#include "model/metrics.h"

namespace eddy {
namespace {

uint64_t Bits(double d) { return std::bit_cast<uint64_t>(d); }

void ExpectSame(const ClassifierReport& a, const ClassifierReport& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.positives, b.positives);
  for (auto [x, y] :
       {std::pair{a.auc, b.auc}, std::pair{a.log_loss, b.log_loss},
        std::pair{a.precision, b.precision}, std::pair{a.recall, b.recall}, std::pair{a.f1, b.f1},
        std::pair{a.false_positive_rate, b.false_positive_rate}, std::pair{a.accuracy, b.accuracy},
        std::pair{a.auc_error_bound, b.auc_error_bound}}) {
    EXPECT_EQ(Bits(x), Bits(y)) << x << " vs " << y;
  }
}

void Feed(ClassifierMetrics& m, std::mt19937_64& rng, int n) {
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    const double score = u(rng);
    m.Add(i % 97 == 0 ? std::nan("") : score, u(rng) < score);
  }
}

TEST(MetricsCheckpointTest, ClassifierRoundTripsBitForBit) {
  for (int n : {0, 7, 100, 1000}) {  // empty, partly filled, exactly full, wrapped
    std::mt19937_64 rng(n);
    ClassifierMetrics original(100, 0.4, 64);
    Feed(original, rng, n);
    std::string image;
    original.Save(image);

    ClassifierMetrics restored(100, 0.4, 64);
    ByteReader in(image, "test");
    ASSERT_TRUE(restored.Load(in)) << in.status().message();
    EXPECT_TRUE(in.at_end());
    ExpectSame(original.Window(), restored.Window());
    ExpectSame(original.SinceStart(), restored.SinceStart());
    EXPECT_EQ(original.skipped(), restored.skipped());
    std::string again;
    restored.Save(again);
    EXPECT_EQ(again, image);

    // And they stay equal.
    std::mt19937_64 a(99), b(99);
    Feed(original, a, 137);
    Feed(restored, b, 137);
    ExpectSame(original.Window(), restored.Window());
    ExpectSame(original.SinceStart(), restored.SinceStart());
  }
}

TEST(MetricsCheckpointTest, AnotherWindowKeepsTheNewestExamples) {
  std::mt19937_64 rng(3);
  ClassifierMetrics original(100, 0.5, 64);
  Feed(original, rng, 250);
  std::string image;
  original.Save(image);

  // A smaller window: the newest 40 of the original's examples, which is
  // what a window of 40 fed the same examples holds.
  std::mt19937_64 same(3);
  ClassifierMetrics small_fed(40, 0.5, 64);
  Feed(small_fed, same, 250);
  ClassifierMetrics small(40, 0.5, 64);
  ByteReader in(image, "test");
  ASSERT_TRUE(small.Load(in));
  EXPECT_EQ(small.Window().count, 40u);
  EXPECT_EQ(Bits(small.Window().auc), Bits(small_fed.Window().auc));
  EXPECT_EQ(small.Window().positives, small_fed.Window().positives);
  ExpectSame(small.SinceStart(), small_fed.SinceStart());

  // A larger one keeps all 100.
  ClassifierMetrics large(500, 0.5, 64);
  ByteReader in2(image, "test");
  ASSERT_TRUE(large.Load(in2));
  EXPECT_EQ(large.Window().count, 100u);
  EXPECT_EQ(Bits(large.Window().auc), Bits(original.Window().auc));

  // Other histogram bins: since-start counts stay exact.
  ClassifierMetrics rebinned(100, 0.5, 16);
  ByteReader in3(image, "test");
  ASSERT_TRUE(rebinned.Load(in3));
  EXPECT_EQ(rebinned.SinceStart().count, original.SinceStart().count);
  EXPECT_EQ(Bits(rebinned.SinceStart().precision), Bits(original.SinceStart().precision));
}

TEST(MetricsCheckpointTest, RegressorRoundTripsBitForBit) {
  for (int n : {0, 5, 50, 333}) {
    RegressorMetrics original(50);
    std::mt19937_64 rng(n);
    std::normal_distribution<double> g(0, 3);
    for (int i = 0; i < n; ++i) original.Add(g(rng), g(rng));
    std::string image;
    original.Save(image);
    RegressorMetrics restored(50);
    ByteReader in(image, "test");
    ASSERT_TRUE(restored.Load(in)) << in.status().message();
    EXPECT_TRUE(in.at_end());
    EXPECT_EQ(restored.Window().count, original.Window().count);
    EXPECT_EQ(Bits(restored.Window().mae), Bits(original.Window().mae));
    EXPECT_EQ(Bits(restored.Window().rmse), Bits(original.Window().rmse));
    EXPECT_EQ(Bits(restored.SinceStart().rmse), Bits(original.SinceStart().rmse));
    original.Add(1.5, -2);
    restored.Add(1.5, -2);
    EXPECT_EQ(Bits(restored.Window().mae), Bits(original.Window().mae));
  }
}

TEST(MetricsCheckpointTest, DamagedImagesAreErrorsNeverCrashes) {
  std::mt19937_64 rng(1);
  ClassifierMetrics c(30, 0.5, 8);
  Feed(c, rng, 45);
  RegressorMetrics r(30);
  for (int i = 0; i < 45; ++i) r.Add(i, i / 2.0);
  std::string ci, ri;
  c.Save(ci);
  r.Save(ri);
  for (size_t n = 0; n < ci.size(); ++n) {
    ClassifierMetrics m(30, 0.5, 8);
    ByteReader in(std::string_view(ci).substr(0, n), "test");
    EXPECT_FALSE(m.Load(in)) << n;
    EXPECT_FALSE(in.status().ok());
  }
  for (size_t n = 0; n < ri.size(); ++n) {
    RegressorMetrics m(30);
    ByteReader in(std::string_view(ri).substr(0, n), "test");
    EXPECT_FALSE(m.Load(in)) << n;
  }
  // A ring that claims more examples than its window.
  std::string bad;
  PutVarint64(bad, 4);  // window
  PutVarint64(bad, 9);  // filled
  PutVarint64(bad, 0);  // next
  bad.append(200, '\0');
  RegressorMetrics m(4);
  ByteReader in(bad, "test");
  EXPECT_FALSE(m.Load(in));
  EXPECT_NE(in.status().message().find("inconsistent metrics window"), std::string::npos)
      << in.status().message();
}

}  // namespace
}  // namespace eddy
