// OnlineLearner: linear or logistic regression that learns one example at a
// time, for models that keep learning from feedback.
//
// Input per example: the numeric features in options.numeric_features order
// (NaN = missing) and any number of (field, value) string pairs, which are
// hashed into 2^hash_bits weights (FeatureHasher, hashing.h). Each update:
//
//   1. standardise each numeric x_i with the running mean and standard
//      deviation of the examples seen BEFORE this one (Welford); z_i = x_i
//      when standardisation is off;
//   2. predict p = link(margin) exactly as the exported model would
//      (LinearMargin in linear_model.h): this is the value Learn returns, so
//      the learner can be scored by progressive validation;
//   3. gradient of the loss (squared error / 2 for the identity link, log
//      loss for the logistic link) for each active coordinate:
//      g_i = weight * (p - y) * z_i (z = sign for hashed values, 1 for bias);
//   4. optimizer step on the active coordinates only (SGD, AdaGrad, Adam,
//      FTRL-Proximal; exact formulas in docs/reference/models.md);
//   5. update the running mean/variance with this example's raw values.
//
// Options are declared once in a table (LearnerOptionTable) that yields the
// defaults, parsing from key=value text, validation and the documentation.
//
// Snapshot/Restore give a byte-exact copy of the whole state (options,
// weights, optimizer accumulators, statistics, counters) in a versioned
// binary format with a CRC-32C (docs/reference/models.md, "Online learner
// snapshot"); a restored learner continues bit-identically. A snapshot is
// also a model file (ModelFormat::kOnlineSnapshot) that serves the weights
// frozen; ExportLinearJson gives the same model in the eddy.linear format.
//
// Threading: not thread-safe. One thread learns; concurrent Predict calls
// are safe only while nobody calls Learn. Serve a frozen export for
// concurrent scoring.

#ifndef EDDY_MODEL_ONLINE_LEARNER_H_
#define EDDY_MODEL_ONLINE_LEARNER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"
#include "model/hashing.h"
#include "model/linear_model.h"
#include "model/model.h"

namespace eddy {

enum class Optimizer : uint8_t { kSgd, kAdaGrad, kAdam, kFtrl };
enum class LearningRateSchedule : uint8_t {
  kConstant,        // eta_t = learning_rate
  kInverseScaling,  // eta_t = learning_rate / (t + 1)^power_t, t = updates so far
};

struct OnlineLearnerOptions {
  Link link = Link::kLogistic;
  Optimizer optimizer = Optimizer::kFtrl;
  // SGD, AdaGrad and Adam step size, and its schedule.
  double learning_rate = 0.05;
  LearningRateSchedule schedule = LearningRateSchedule::kConstant;
  double power_t = 0.5;
  // Regularisation. SGD/AdaGrad/Adam: l2 adds l2 * w to the gradient, l1 is
  // a proximal soft-threshold after the step. FTRL: the lambda1, lambda2 of
  // McMahan et al. 2013. The bias is never regularised.
  double l1 = 0;
  double l2 = 0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double epsilon = 1e-8;  // AdaGrad and Adam denominators
  double ftrl_alpha = 0.05;
  double ftrl_beta = 1.0;
  bool standardize = true;
  bool fit_intercept = true;
  int hash_bits = 18;
  uint32_t hash_seed = 0;
  bool signed_hash = false;

  std::vector<std::string> numeric_features;
  std::vector<std::string> hashed_fields;  // documentation of the string inputs
};

// One row of the option table.
struct LearnerOptionSpec {
  std::string_view key;
  std::string_view type;           // "number", "integer", "bool", "enum"
  std::string_view default_value;  // as written in key=value text
  std::string_view choices;        // enum: "a|b|c"
  std::string_view doc;
};
std::span<const LearnerOptionSpec> LearnerOptionTable();

// Builds options from key=value settings (keys from the table; unknown keys
// are errors with a suggestion), then validates them.
Result<OnlineLearnerOptions> ParseLearnerOptions(const std::map<std::string, std::string>& settings,
                                                 std::vector<std::string> numeric_features,
                                                 std::vector<std::string> hashed_fields);
// The scalar options as key=value text (for lineage); ParseLearnerOptions
// reads it back to equal options.
std::map<std::string, std::string> LearnerOptionsToMap(const OnlineLearnerOptions& options);
Status ValidateLearnerOptions(const OnlineLearnerOptions& options);
// Markdown table of the options (docs/reference/models.md includes it).
std::string LearnerOptionsReference();

std::string_view OptimizerName(Optimizer o);

class OnlineLearner {
 public:
  static Result<std::unique_ptr<OnlineLearner>> Create(OnlineLearnerOptions options);

  const OnlineLearnerOptions& options() const { return options_; }

  // The score for an example without learning from it. REQUIRES:
  // numeric.size() == options().numeric_features.size() (checked: a wrong
  // size returns NaN).
  double Predict(std::span<const double> numeric,
                 std::span<const CategoricalValue> categorical) const;

  // Predicts, learns from (label, weight), and returns the prediction made
  // before the update. The label must be finite, and in [0, 1] for the
  // logistic link; the weight finite and >= 0 (0 = predict only: nothing
  // changes). Errors: kInvalidArgument for a bad example (nothing changes),
  // kFailedPrecondition when the weights have diverged to a non-finite
  // prediction (lower the learning rate).
  Result<double> Learn(std::span<const double> numeric,
                       std::span<const CategoricalValue> categorical, double label,
                       double weight = 1.0);

  // Examples learned from (weight > 0).
  uint64_t num_updates() const { return num_updates_; }
  // The current weights, means and scales, as the exported model has them
  // (a copy: O(2^hash_bits)).
  LinearWeights weights() const;

  // Byte-exact state in the snapshot format (version kSnapshotVersion).
  std::string Snapshot() const;
  static Result<std::unique_ptr<OnlineLearner>> Restore(std::string_view bytes,
                                                        std::string_view source = "snapshot");
  static constexpr uint32_t kSnapshotVersion = 1;

  // The current weights as an eddy.linear JSON model file.
  std::string ExportLinearJson() const;
  // The current weights as a Model (frozen; unaffected by later Learn calls).
  std::unique_ptr<Model> ExportModel() const;
  // The same, for a Snapshot() of the current state already taken (its hash
  // is the model's content hash): no second serialisation.
  std::unique_ptr<Model> ExportModel(std::string_view snapshot) const;

 private:
  explicit OnlineLearner(OnlineLearnerOptions options);

  // Per coordinate (numeric features, then 2^hash_bits hashed weights, then
  // the bias): the weight and the optimizer state, together so that one
  // cache line holds everything an update of the coordinate touches.
  // SGD: no state; AdaGrad: s1 = sum of squared gradients; Adam: s1 = m,
  // s2 = v; FTRL: s1 = z, s2 = n, and sqrt_n = sqrt(n) kept so that each
  // update takes one square root (derived: not in snapshots).
  struct Coord {
    double w = 0;
    double s1 = 0;
    double s2 = 0;
    double sqrt_n = 0;
  };
  static_assert(sizeof(Coord) == 32);

  OnlineLearnerOptions options_;
  FeatureHasher hasher_;
  size_t num_numeric_;
  size_t num_hashed_;  // 2^hash_bits, or 0
  std::vector<Coord> coords_;
  // Standardisation: the running mean (Welford) and the scale used for the
  // next prediction, per numeric feature.
  std::vector<uint64_t> count_;
  std::vector<double> mean_, m2_, scale_;
  uint64_t num_updates_ = 0;

  // Scratch for Learn (active coordinates of one example); kept to avoid
  // allocating per update.
  struct Active {
    uint32_t coord;
    double x;
  };
  std::vector<Active> active_;
};

// Parses a snapshot into a frozen Model (ModelFormat::kOnlineSnapshot).
Result<std::unique_ptr<Model>> ParseOnlineSnapshot(std::string_view bytes,
                                                   std::string_view source = "snapshot");

}  // namespace eddy

#endif  // EDDY_MODEL_ONLINE_LEARNER_H_
