// Model: an immutable scorer that turns one feature vector into one or more
// scores. Every model Eddy serves, whatever its origin (an XGBoost or LightGBM
// file, a linear model, a frozen online learner), is a Model.
//
// Input. A dense vector of doubles in the order of info().feature_names, NaN
// meaning "missing". Tree models take categorical features there too, as the
// integer category code the model was trained on. Linear models may also hash
// string-valued fields: those arrive as (field, value) pairs beside the dense
// vector (CategoricalValue); models that hash nothing ignore them.
//
// Output. num_outputs() doubles: 1 for regression and binary models, K for a
// K-class model. The scores are what the source library's own predict()
// returns: a probability for binary:logistic / reg:logistic / binary /
// multi:softprob / multiclass, the raw value for regression, the class index
// for XGBoost's multi:softmax. ModelInfo::output says which.
//
// Threading. A Model is immutable once built: Predict and PredictBatch may be
// called from any number of threads at once without synchronisation. Models
// are shared through std::shared_ptr<const Model> by the serving slot
// (model_slot.h), so a request that started on one version finishes on it.
//
// Failure. Loading reports malformed or unsupported files as a Status naming
// the field, tree and node concerned; no input can crash a loader or make it
// throw. Predict reports only a wrongly sized input or output span.

#ifndef EDDY_MODEL_MODEL_H_
#define EDDY_MODEL_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/types.h"
#include "eddy/status.h"

namespace eddy {

// The version of a model within the registry: 1, 2, 3, ... per model name.
// Version 0 means "none".
using ModelVersion = StrongInt<struct ModelVersionTag, int64_t>;

// Where a model came from; also the on-disk format of a registry version.
enum class ModelFormat : uint8_t {
  kXGBoostJson,     // xgboost Booster.save_model("m.json"), xgboost >= 1.7
  kLightGbmText,    // lightgbm Booster.save_model("m.txt"), lightgbm >= 3
  kLinearJson,      // Eddy's linear/logistic format (docs/reference/models.md)
  kOnlineSnapshot,  // a binary snapshot of an OnlineLearner, served frozen
};

// "xgboost_json", "lightgbm_text", "linear_json", "online_snapshot".
std::string_view ModelFormatName(ModelFormat format);
Result<ModelFormat> ParseModelFormat(std::string_view name);
// The file name a registry version stores the model under: "model.json",
// "model.txt", "model.linear.json", "model.snapshot".
std::string_view ModelFileName(ModelFormat format);

// What the model predicts.
enum class ModelTask : uint8_t { kRegression, kBinaryClassification, kMulticlassClassification };
std::string_view ModelTaskName(ModelTask task);

// What each output number means.
enum class OutputKind : uint8_t {
  kValue,        // a regression value or a raw margin (binary:logitraw)
  kProbability,  // P(class) in [0, 1]; K of them sum to 1 for softmax models
  kClassIndex,   // the index of the most likely class (XGBoost multi:softmax)
};
std::string_view OutputKindName(OutputKind kind);

// A string-valued input of a model that hashes features ("country", "FR").
struct CategoricalValue {
  std::string_view field;
  std::string_view value;
};

// Everything about a model that does not change while it is served.
struct ModelInfo {
  ModelFormat format = ModelFormat::kLinearJson;
  ModelTask task = ModelTask::kRegression;
  OutputKind output = OutputKind::kValue;
  // The objective as the source library names it ("binary:logistic",
  // "multiclass", "logistic" for a linear model).
  std::string objective;
  // The dense input, in order. Files without names get the library's
  // defaults: XGBoost "f0", "f1", ...; LightGBM "Column_0", ...
  std::vector<std::string> feature_names;
  // Which of feature_names are categorical (integer codes), same length.
  std::vector<bool> categorical;
  // String fields the model hashes (linear models only); empty for trees.
  std::vector<std::string> hashed_fields;
  size_t num_outputs = 1;
  // Number of trees (0 for linear models).
  size_t num_trees = 0;
  // MurmurHash3 x64-128 of the model file's bytes as 32 lowercase hex digits:
  // two files with the same hash are the same model.
  std::string content_hash;
};

class Model {
 public:
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const { return info_; }
  size_t num_features() const { return info_.feature_names.size(); }
  size_t num_outputs() const { return info_.num_outputs; }

  // Scores one row. `features` holds num_features() values in feature order
  // (NaN = missing); `out` receives num_outputs() scores. Fails only when a
  // span has the wrong size (`out` may be larger; the rest is untouched).
  Status Predict(std::span<const double> features, std::span<double> out) const;
  // The same with string-valued fields for models that hash them; other
  // models ignore `categorical`.
  Status Predict(std::span<const double> features, std::span<const CategoricalValue> categorical,
                 std::span<double> out) const;

  // Scores rows.size() / num_features() rows stored one after the other;
  // `out` receives num_outputs() scores per row, row after row. Gives the
  // same numbers as Predict row by row, faster.
  Status PredictBatch(std::span<const double> rows, std::span<double> out) const;

 protected:
  explicit Model(ModelInfo info) : info_(std::move(info)) {}

  // REQUIRES: features has num_features() values, out has num_outputs().
  virtual void DoPredict(const double* features, std::span<const CategoricalValue> categorical,
                         double* out) const = 0;
  // REQUIRES: rows has num_rows * num_features() values, out num_rows *
  // num_outputs(). The default scores row by row.
  virtual void DoPredictBatch(const double* rows, size_t num_rows, double* out) const;

 private:
  ModelInfo info_;
};

// Guesses the format of a model file from its first bytes: an online snapshot
// magic, a JSON object with "learner" (XGBoost) or "format": "eddy.linear"
// (linear), or LightGBM's "tree" header line.
Result<ModelFormat> DetectModelFormat(std::string_view bytes);

// Parses a model from the bytes of a file of the given format. `source` names
// the file in error messages ("models/fraud.json").
Result<std::unique_ptr<Model>> ParseModel(std::string_view bytes, ModelFormat format,
                                          std::string_view source = "model");

// Reads and parses a model file; the format is detected when not given.
Result<std::unique_ptr<Model>> LoadModelFile(const std::string& path);
Result<std::unique_ptr<Model>> LoadModelFile(const std::string& path, ModelFormat format);

// Reads a whole file (model files, metadata). kNotFound when it does not
// exist, kIoError when it cannot be read.
Result<std::string> ReadFileBytes(const std::string& path);

}  // namespace eddy

#endif  // EDDY_MODEL_MODEL_H_
