// ModelSlot: the serving slot of one model name. Readers take the current
// version with Current() (an atomic shared_ptr load, wait-free for practical
// purposes) and score with it; a loader replaces it with Load(), which
//
//   1. checks the model's inputs against the features the pipeline provides
//      (every model feature and hashed field must be provided; the result is
//      the index map from the pipeline's order to the model's),
//   2. warms it: a few predictions (all missing, all zero, and any rows the
//      caller passes) that must run and give no NaN,
//   3. swaps it in with one atomic store.
//
// A reader never sees a half-loaded model: the ServedModel is complete before
// it is published, and readers hold a shared_ptr to the version they started
// with until they drop it. A failed load (bad file, missing features, NaN at
// warm-up) returns the error and leaves the previous version serving.
//
// Threading: Current() and Score() from any number of threads; Load() from
// any thread (loads are serialised by an internal mutex).

#ifndef EDDY_MODEL_MODEL_SLOT_H_
#define EDDY_MODEL_MODEL_SLOT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "eddy/status.h"
#include "model/model.h"
#include "model/registry.h"

namespace eddy {

// One loaded, validated, warmed version.
struct ServedModel {
  std::string name;
  ModelVersion version;
  std::shared_ptr<const Model> model;
  // input_index[i] = position in the pipeline's feature list of the model's
  // feature i.
  std::vector<uint32_t> input_index;
};

class ModelSlot {
 public:
  explicit ModelSlot(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // The version being served, or null before the first successful load.
  std::shared_ptr<const ServedModel> Current() const { return current_.load(); }

  // Validates, warms and publishes `model` as `version`. `provided` lists the
  // features (and hashed string fields) the pipeline can give, in the order
  // Score() will receive them. `warm_rows` (optional) are rows in the
  // model's own feature order, one after the other.
  Status Load(std::shared_ptr<const Model> model, ModelVersion version,
              std::span<const std::string> provided, std::span<const double> warm_rows = {});

  // Loads `version` of this slot's model from the registry; version 0 means
  // the live one.
  Status LoadFromRegistry(const ModelRegistry& registry, ModelVersion version,
                          std::span<const std::string> provided);

  // Number of successful and failed Load calls.
  uint64_t loads() const { return loads_.load(); }
  uint64_t failed_loads() const { return failed_loads_.load(); }

 private:
  std::string name_;
  std::atomic<std::shared_ptr<const ServedModel>> current_;
  std::mutex load_mu_;  // serialises Load
  std::atomic<uint64_t> loads_{0};
  std::atomic<uint64_t> failed_loads_{0};
};

// Scores `served` with features given in the pipeline's order (the
// `provided` order of Load): gathers them into the model's order and
// predicts. REQUIRES: pipeline_features.size() == provided.size() at load.
Status ScoreServed(const ServedModel& served, std::span<const double> pipeline_features,
                   std::span<const CategoricalValue> categorical, std::span<double> out);

}  // namespace eddy

#endif  // EDDY_MODEL_MODEL_SLOT_H_
