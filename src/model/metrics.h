// Rolling quality metrics computed from (prediction, outcome) pairs as
// feedback arrives, over a sliding window of the last N examples and since
// start.
//
// Classifiers (binary; the score is P(positive)):
//   AUC       window: exact (ties count one half), computed on demand by
//             sorting the window, O(N log N) per Report.
//             since start: from a histogram of scores in `auc_bins` equal
//             bins over [0, 1] (scores outside are clamped to the end bins);
//             pairs that fall in one bin count one half. The error against
//             the exact AUC is at most
//                 auc_error_bound = 0.5 * sum_b pos_b * neg_b / (P * N)
//             (reported with each Report), and 0 when no bin holds both a
//             positive and a negative.
//   log loss  mean of -[y log p + (1 - y) log(1 - p)], p clipped to
//             [1e-15, 1 - 1e-15].
//   precision, recall, F1, false-positive rate, accuracy at `threshold`
//             (score >= threshold predicts positive).
// Regressors: MAE and RMSE.
// Metrics that are undefined (no positives for recall, empty window) are NaN.
//
// Threading: not thread-safe; the feedback joiner owns one per model version.

#ifndef EDDY_MODEL_METRICS_H_
#define EDDY_MODEL_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/coding.h"

namespace eddy {

struct ClassifierReport {
  uint64_t count = 0;
  uint64_t positives = 0;
  double auc = 0;
  double auc_error_bound = 0;  // 0 for the exact window AUC
  double log_loss = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double false_positive_rate = 0;
  double accuracy = 0;
};

class ClassifierMetrics {
 public:
  // `window` and `auc_bins` below 1 are taken as 1.
  explicit ClassifierMetrics(size_t window = 10000, double threshold = 0.5,
                             size_t auc_bins = 10000);

  // `score` is P(positive); NaN scores are ignored (counted in skipped()).
  void Add(double score, bool label);

  ClassifierReport Window() const;
  ClassifierReport SinceStart() const;
  uint64_t skipped() const { return skipped_; }

  // Checkpoints: an exact image of the window, the since-start counts and
  // the histogram. Metrics restored with the same window and bins report
  // bit for bit what the saved ones would have; with another window the
  // newest examples that fit are kept, with other bins the histogram is
  // re-binned. Load returns false (the reason in `in`) on malformed bytes.
  void Save(std::string& out) const;
  bool Load(ByteReader& in);

 private:
  struct Counts {
    uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
    double log_loss_sum = 0;
  };
  static ClassifierReport FromCounts(const Counts& c);

  size_t window_;
  double threshold_;
  // Ring buffer of the last `window_` examples.
  std::vector<double> scores_;
  std::vector<uint8_t> labels_;
  size_t next_ = 0;
  size_t filled_ = 0;
  // Since start.
  Counts total_;
  std::vector<uint64_t> pos_bins_, neg_bins_;
  uint64_t skipped_ = 0;
};

struct RegressorReport {
  uint64_t count = 0;
  double mae = 0;
  double rmse = 0;
};

class RegressorMetrics {
 public:
  // `window` below 1 is taken as 1.
  explicit RegressorMetrics(size_t window = 10000);

  // NaN predictions or targets are ignored (counted in skipped()).
  void Add(double prediction, double target);

  RegressorReport Window() const;
  RegressorReport SinceStart() const;
  uint64_t skipped() const { return skipped_; }

  // Checkpoints, as ClassifierMetrics::Save/Load.
  void Save(std::string& out) const;
  bool Load(ByteReader& in);

 private:
  size_t window_;
  std::vector<double> errors_;  // prediction - target, ring buffer
  size_t next_ = 0;
  size_t filled_ = 0;
  uint64_t count_ = 0;
  double abs_sum_ = 0;
  double sq_sum_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace eddy

#endif  // EDDY_MODEL_METRICS_H_
