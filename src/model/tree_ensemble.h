// TreeEnsemble: the evaluator shared by the XGBoost and LightGBM loaders.
//
// A loader reads its file into SourceTrees (nodes numbered as in the file)
// and an EnsembleSpec (how to compare, how to turn margins into scores);
// BuildTreeEnsemble checks the structure (every child index in range, every
// node reached once from the root, no cycles, features in range, category
// sets present) and flattens all trees into one contiguous array of 16-byte
// nodes in breadth-first order, with the two children of a split stored next
// to each other so that "go right" is `left + 1`.
//
// The comparison rules are each library's own, bit for bit (see
// docs/reference/models.md):
//   XGBoost:  missing (NaN) -> default child; numeric: float(x) < threshold
//             (threshold is a float32) goes left; categorical: the category
//             float(x) goes right when it is in the node's set, left when not
//             in it or invalid (negative or >= 2^24). Leaf values are summed
//             in float32 onto base_score (as a margin), in tree order, and the
//             transform is computed in float32, as XGBoost's CPU predictor does.
//   LightGBM: numeric: NaN becomes 0 unless the node's missing type is NaN;
//             then missing type Zero and |x| <= 1e-35, or missing type NaN and
//             x NaN -> default child; else x <= threshold (double) goes left.
//             Categorical: NaN, x >= 2^31 and x <= -1 go right; otherwise the
//             category int(x) (truncated) goes left when it is in the node's
//             bitset. Leaf values (shrinkage already applied) are summed in
//             double.
//
// Internal to src/model: users get a Model from the loaders.

#ifndef EDDY_MODEL_TREE_ENSEMBLE_H_
#define EDDY_MODEL_TREE_ENSEMBLE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "eddy/status.h"
#include "model/model.h"

namespace eddy::model_internal {

enum class TreeSemantics : uint8_t { kXGBoost, kLightGbm };

// LightGBM's per-split missing-value type (bits 2-3 of decision_type).
enum class MissingType : uint8_t { kNone = 0, kZero = 1, kNaN = 2 };

enum class OutputTransform : uint8_t {
  kIdentity,  // raw margin
  kSigmoid,   // 1 / (1 + exp(-sigmoid_scale * margin)), per output
  kSoftmax,   // softmax over the outputs
  kArgmax,    // index of the largest margin (first on ties), as a double
};

struct SourceNode {
  bool is_leaf = true;
  double leaf_value = 0;  // leaves
  // Splits:
  int64_t left = -1, right = -1;  // node indices within the tree
  int64_t feature = 0;
  double threshold = 0;
  bool default_left = false;
  MissingType missing = MissingType::kNone;  // LightGBM only
  int64_t category_set = -1;  // >= 0: categorical split, index into SourceTree::category_sets
};

struct SourceTree {
  std::vector<SourceNode> nodes;  // the root is nodes[0]
  // Category bitsets: bit c of word c / 32 (LSB first) set = c in the set.
  std::vector<std::vector<uint32_t>> category_sets;
  int64_t output_group = 0;  // which output this tree adds to
  // For error messages: nodes at or past this index are named "leaf <i - n>"
  // (LightGBM numbers leaves separately). -1: all are "node <i>".
  int64_t first_leaf_index = -1;
};

struct EnsembleSpec {
  TreeSemantics semantics = TreeSemantics::kXGBoost;
  OutputTransform transform = OutputTransform::kIdentity;
  double sigmoid_scale = 1.0;
  // Initial margin of each output (XGBoost base_score after ProbToMargin,
  // already rounded to float32). Empty = all zero.
  std::vector<double> base_margin;
  // LightGBM random forest: divide the sums by the number of iterations.
  bool average_output = false;
  // Number of margins the trees add to (tree output groups). 0: the model's
  // num_outputs. Differs only for kArgmax, which turns K margins into one
  // output.
  size_t num_groups = 0;
};

// Checks and flattens the trees. `info` must have feature_names and
// num_outputs set; num_trees is filled in here. Errors name the tree and
// node: "tree 3 node 7: right child 99 is out of range (tree has 15 nodes)".
Result<std::unique_ptr<Model>> BuildTreeEnsemble(ModelInfo info, const EnsembleSpec& spec,
                                                 const std::vector<SourceTree>& trees);

}  // namespace eddy::model_internal

#endif  // EDDY_MODEL_TREE_ENSEMBLE_H_
