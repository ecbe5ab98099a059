// Linear and logistic models with fixed weights, from Eddy's small JSON
// format ("eddy.linear", docs/reference/models.md), and the scoring code that
// the online learner shares with them, so that a frozen learner and the live
// one give bit-identical scores.
//
//   margin = bias
//          + sum over numeric features i, in order, with x_i not NaN:
//                weight_i * ((x_i - mean_i) / scale_i)
//          + sum over the (field, value) pairs, in input order:
//                sign * hashed_weight[index]        (FeatureHasher)
//   score  = margin                       (link "identity")
//          = 1 / (1 + exp(-margin))       (link "logistic")
//
// A missing (NaN) numeric feature contributes nothing: it is imputed with its
// mean. Pairs whose field is not in hashed_fields still hash: the field list
// documents the input, it does not filter it.

#ifndef EDDY_MODEL_LINEAR_MODEL_H_
#define EDDY_MODEL_LINEAR_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"
#include "model/hashing.h"
#include "model/model.h"

namespace eddy {

enum class Link : uint8_t { kIdentity, kLogistic };
std::string_view LinkName(Link link);  // "identity", "logistic"

// Everything a linear model is. Plain data; the learner exports one.
struct LinearWeights {
  Link link = Link::kIdentity;
  double bias = 0;
  std::vector<std::string> feature_names;
  std::vector<double> weights;  // per numeric feature
  std::vector<double> means;    // per numeric feature (0 without standardisation)
  std::vector<double> scales;   // per numeric feature, > 0 (1 without standardisation)
  std::vector<std::string> hashed_fields;
  int hash_bits = 0;  // 0: no hashed features
  uint32_t hash_seed = 0;
  bool signed_hash = false;
  std::vector<double> hashed_weights;  // 2^hash_bits entries, or empty
};

// Checks sizes and ranges (scales > 0 and finite, weights finite, bits in
// [1, 24] when hashing).
Status ValidateLinearWeights(const LinearWeights& w);

// The score formula above. Kept inline-able for the learner's hot path.
double LinearMargin(const LinearWeights& w, const FeatureHasher* hasher, const double* numeric,
                    std::span<const CategoricalValue> categorical);
double ApplyLink(Link link, double margin);

// Serialises to the eddy.linear JSON format; hashed weights are written
// sparsely (only non-zero ones). Numbers are written in shortest round-trip
// form, so parsing gives the same bits back.
std::string LinearWeightsToJson(const LinearWeights& w);
Result<LinearWeights> LinearWeightsFromJson(std::string_view json,
                                            std::string_view source = "model");

// A Model over fixed weights. `format` and `content_hash` come from where the
// weights were read.
std::unique_ptr<Model> MakeLinearModel(LinearWeights w, ModelFormat format,
                                       std::string content_hash);

// Parses the eddy.linear format into a Model.
Result<std::unique_ptr<Model>> ParseLinearJson(std::string_view bytes,
                                               std::string_view source = "model");

}  // namespace eddy

#endif  // EDDY_MODEL_LINEAR_MODEL_H_
