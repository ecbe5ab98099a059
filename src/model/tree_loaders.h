// Loaders for tree-ensemble files written by XGBoost and LightGBM. Both
// check every field they use and report the first problem with its place
// ("trees[3].split_indices[7]: feature 40 >= num_feature 30"); unsupported
// features of the formats (gblinear, dart, multi-target trees, linear trees,
// objectives Eddy does not know) are rejected as kUnimplemented naming what
// was found. See docs/reference/models.md for the exact rules and limits.

#ifndef EDDY_MODEL_TREE_LOADERS_H_
#define EDDY_MODEL_TREE_LOADERS_H_

#include <memory>
#include <string>
#include <string_view>

#include "eddy/status.h"
#include "model/model.h"

namespace eddy {

// XGBoost JSON (Booster.save_model("m.json")), gbtree booster, objectives
// reg:squarederror, reg:logistic, binary:logistic, binary:logitraw,
// multi:softprob, multi:softmax. base_score is read as XGBoost does: a
// probability for the logistic objectives, turned into a margin by
// -log(1/p - 1) in float32. best_iteration is ignored: all trees are used,
// like Booster.predict() without iteration_range.
Result<std::unique_ptr<Model>> ParseXGBoostJson(std::string_view bytes,
                                                std::string_view source = "model");

// LightGBM text (Booster.save_model("m.txt")), objectives regression,
// regression_l1, huber, fair, quantile, mape (identity), binary (sigmoid),
// multiclass (softmax), multiclassova (per-class sigmoid); average_output
// (random forest) is honoured. Linear trees are rejected.
Result<std::unique_ptr<Model>> ParseLightGbmText(std::string_view bytes,
                                                 std::string_view source = "model");

}  // namespace eddy

#endif  // EDDY_MODEL_TREE_LOADERS_H_
