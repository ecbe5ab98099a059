// Rolling quality metrics against brute-force definitions.

#include "model/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace eddy {
namespace {

double BruteAuc(const std::vector<double>& s, const std::vector<bool>& y) {
  double pairs = 0, good = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (!y[i] || y[j]) continue;
      pairs += 1;
      good += s[i] > s[j] ? 1 : (s[i] == s[j] ? 0.5 : 0);
    }
  }
  return good / pairs;
}

TEST(ClassifierMetricsTest, ThresholdMetricsAndExactWindowAuc) {
  ClassifierMetrics m(/*window=*/4, /*threshold=*/0.5);
  // (score, label): TP, FP, TN, FN.
  m.Add(0.9, true);
  m.Add(0.6, false);
  m.Add(0.2, false);
  m.Add(0.4, true);
  ClassifierReport r = m.Window();
  EXPECT_EQ(r.count, 4u);
  EXPECT_EQ(r.positives, 2u);
  EXPECT_DOUBLE_EQ(r.precision, 0.5);
  EXPECT_DOUBLE_EQ(r.recall, 0.5);
  EXPECT_DOUBLE_EQ(r.f1, 0.5);
  EXPECT_DOUBLE_EQ(r.false_positive_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(r.auc, 0.75);  // pairs (0.9>0.6, 0.9>0.2, 0.4<0.6, 0.4>0.2)
  EXPECT_DOUBLE_EQ(r.log_loss,
                   -(std::log(0.9) + std::log(0.4) + std::log(0.8) + std::log(0.4)) / 4);
  // The window slides: the next example pushes out (0.9, true).
  m.Add(0.1, true);
  r = m.Window();
  EXPECT_EQ(r.count, 4u);
  EXPECT_DOUBLE_EQ(r.recall, 0.0);
  EXPECT_DOUBLE_EQ(r.auc, BruteAuc({0.6, 0.2, 0.4, 0.1}, {false, false, true, true}));
  // Since start keeps everything.
  EXPECT_EQ(m.SinceStart().count, 5u);
}

TEST(ClassifierMetricsTest, WindowAucMatchesBruteForceWithTies) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> score(0, 20);
  std::bernoulli_distribution coin(0.3);
  ClassifierMetrics m(500);
  std::vector<double> s;
  std::vector<bool> y;
  for (int i = 0; i < 1200; ++i) {
    const double v = score(rng) / 20.0;
    const bool l = coin(rng) ? v > 0.3 : v > 0.7;
    m.Add(v, l);
    s.push_back(v);
    y.push_back(l);
  }
  std::vector<double> ws(s.end() - 500, s.end());
  std::vector<bool> wy(y.end() - 500, y.end());
  EXPECT_DOUBLE_EQ(m.Window().auc, BruteAuc(ws, wy));
  // Since start: the histogram AUC is within its reported bound.
  const ClassifierReport all = m.SinceStart();
  EXPECT_LE(std::abs(all.auc - BruteAuc(s, y)), all.auc_error_bound + 1e-12);
}

TEST(ClassifierMetricsTest, HistogramAucIsExactWhenBinsSeparateScores) {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  ClassifierMetrics m(100000, 0.5, 100000);
  std::vector<double> s;
  std::vector<bool> y;
  for (int i = 0; i < 3000; ++i) {
    const double v = u(rng);
    const bool l = u(rng) < v;
    m.Add(v, l);
    s.push_back(v);
    y.push_back(l);
  }
  const ClassifierReport r = m.SinceStart();
  EXPECT_LT(r.auc_error_bound, 1e-3);
  EXPECT_NEAR(r.auc, BruteAuc(s, y), r.auc_error_bound + 1e-12);
}

TEST(ClassifierMetricsTest, UndefinedIsNaN) {
  ClassifierMetrics m(10);
  EXPECT_TRUE(std::isnan(m.Window().auc));
  m.Add(0.7, true);
  EXPECT_TRUE(std::isnan(m.Window().auc));  // no negatives
  EXPECT_TRUE(std::isnan(m.Window().false_positive_rate));
  m.Add(NAN, false);
  EXPECT_EQ(m.skipped(), 1u);
  EXPECT_EQ(m.Window().count, 1u);
}

TEST(RegressorMetricsTest, MaeAndRmse) {
  RegressorMetrics m(2);
  m.Add(1, 2);                     // -1
  m.Add(5, 2);                     // 3
  m.Add(2, 2);                     // 0
  RegressorReport w = m.Window();  // errors 3, 0
  EXPECT_EQ(w.count, 2u);
  EXPECT_DOUBLE_EQ(w.mae, 1.5);
  EXPECT_DOUBLE_EQ(w.rmse, std::sqrt(4.5));
  RegressorReport all = m.SinceStart();
  EXPECT_EQ(all.count, 3u);
  EXPECT_DOUBLE_EQ(all.mae, 4.0 / 3);
  EXPECT_DOUBLE_EQ(all.rmse, std::sqrt(10.0 / 3));
  m.Add(NAN, 1);
  EXPECT_EQ(m.skipped(), 1u);
}

}  // namespace
}  // namespace eddy
