#include "model/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>

#include "base/strings.h"

namespace eddy::model_internal {
namespace {

// Node layout: 16 bytes, all trees in one array, breadth-first per tree, the
// children of a split adjacent (right = left + 1).
constexpr uint32_t kFeatureBits = 27;
constexpr uint32_t kFeatureMask = (uint32_t{1} << kFeatureBits) - 1;
constexpr uint32_t kLeafBit = uint32_t{1} << 27;
constexpr uint32_t kCategoricalBit = uint32_t{1} << 28;
constexpr uint32_t kDefaultLeftBit = uint32_t{1} << 29;
constexpr uint32_t kMissingShift = 30;  // 2 bits: MissingType

struct FlatNode {
  // Numeric split: the threshold (XGBoost: a float32 value held exactly).
  // Categorical split: index into category_sets_. Leaf: NaN (see below).
  double value;
  uint32_t left;
  uint32_t bits;
};
static_assert(sizeof(FlatNode) == 16);

// Leaves are nodes that step to themselves: threshold NaN (every comparison
// is false, so the step goes right), missing type None and not default-left
// (NaN input goes right too), and `left` = own index - 1, so "right" is the
// leaf itself. Traversal then needs no leaf test: a tree is walked for
// exactly its depth, and a row that reached a leaf early stays there. This
// lets several trees be walked in lock step (kInterleave at a time), which
// keeps the CPU busy while each step waits for its node to load.
constexpr size_t kInterleave = 8;

struct CategorySet {
  uint32_t begin;  // first word in category_words_
  uint32_t words;
};

// LightGBM's kZeroThreshold.
constexpr double kLgbZeroThreshold = 1e-35f;
// XGBoost: categories at or past 2^24 cannot be told apart in float32.
constexpr float kXgbMaxCategory = 16777216.0f;

inline float XgbSigmoid(float x) {
  // xgboost/src/common/math.h Sigmoid(float).
  constexpr float kEps = 1e-16f;
  x = std::min(-x, 88.7f);
  float denom = std::exp(x) + 1.0f + kEps;
  return 1.0f / denom;
}

class TreeEnsembleModel final : public Model {
 public:
  TreeEnsembleModel(ModelInfo info, const EnsembleSpec& spec) : Model(std::move(info)) {
    semantics_ = spec.semantics;
    transform_ = spec.transform;
    sigmoid_scale_ = spec.sigmoid_scale;
    num_groups_ = spec.num_groups != 0 ? spec.num_groups : num_outputs();
    base_margin_.assign(num_groups_, 0.0);
    for (size_t i = 0; i < num_groups_ && i < spec.base_margin.size(); ++i) {
      base_margin_[i] = spec.base_margin[i];
    }
    average_output_ = spec.average_output;
  }

  std::vector<FlatNode> nodes_;
  std::vector<double> leaf_values_;  // by node index; 0 for splits
  std::vector<uint32_t> roots_;
  std::vector<uint32_t> groups_;       // output group per tree
  std::vector<uint32_t> depths_;       // depth (edges to the deepest leaf) per tree
  std::vector<uint32_t> block_depth_;  // max depth of trees [i*kInterleave, (i+1)*kInterleave)
  std::vector<CategorySet> category_sets_;
  std::vector<uint32_t> category_words_;
  double num_iterations_ = 1;  // for average_output

  void Finish() {
    block_depth_.clear();
    for (size_t t = 0; t < depths_.size(); t += kInterleave) {
      uint32_t d = 0;
      for (size_t i = t; i < std::min(depths_.size(), t + kInterleave); ++i) {
        d = std::max(d, depths_[i]);
      }
      block_depth_.push_back(d);
    }
  }

 protected:
  void DoPredict(const double* row, std::span<const CategoricalValue>, double* out) const override {
    if (semantics_ == TreeSemantics::kXGBoost) {
      PredictXgb(row, out);
    } else {
      PredictLgb(row, out);
    }
  }

  void DoPredictBatch(const double* rows, size_t num_rows, double* out) const override {
    // The whole ensemble (16 bytes per node) stays in L2 for the models this
    // is built for, so rows are scored one after the other with the
    // interleaved kernel; results equal DoPredict's bit for bit.
    const size_t nf = num_features(), no = num_outputs();
    if (semantics_ == TreeSemantics::kXGBoost) {
      for (size_t r = 0; r < num_rows; ++r) PredictXgb(rows + r * nf, out + r * no);
    } else {
      for (size_t r = 0; r < num_rows; ++r) PredictLgb(rows + r * nf, out + r * no);
    }
  }

 private:
  // Walks all trees; calls add(tree, leaf node) in tree order.
  template <typename Step, typename Add>
  void Walk(Step step, Add add) const {
    const FlatNode* nodes = nodes_.data();
    const size_t num_trees = roots_.size();
    size_t t = 0;
    for (size_t b = 0; t + kInterleave <= num_trees; ++b, t += kInterleave) {
      uint32_t n[kInterleave];
      for (size_t i = 0; i < kInterleave; ++i) n[i] = roots_[t + i];
      for (uint32_t d = block_depth_[b]; d > 0; --d) {
        for (size_t i = 0; i < kInterleave; ++i) n[i] = step(nodes[n[i]]);
      }
      for (size_t i = 0; i < kInterleave; ++i) add(t + i, n[i]);
    }
    for (; t < num_trees; ++t) {
      uint32_t n = roots_[t];
      for (uint32_t d = depths_[t]; d > 0; --d) n = step(nodes[n]);
      add(t, n);
    }
  }

  // --- XGBoost ---------------------------------------------------------
  bool XgbCategoryInSet(float c, const FlatNode& node) const {
    // xgboost common::Decision: invalid categories (negative, >= 2^24) and
    // categories not in the set go left; the set goes right.
    if (c < 0 || c >= kXgbMaxCategory) return false;
    const auto cat = static_cast<uint32_t>(static_cast<int32_t>(c));
    const CategorySet& set = category_sets_[static_cast<size_t>(node.value)];
    const uint32_t word = cat >> 5;
    if (word >= set.words) return false;
    return (category_words_[set.begin + word] >> (cat & 31)) & 1;
  }

  void PredictXgb(const double* row, double* out) const {
    const size_t nf = num_features();
    // The row rounded to float32 once (XGBoost compares float(x) < threshold);
    // NaN stays NaN.
    double stack_row[256];
    std::vector<double> heap_row;
    double* xr = stack_row;
    if (nf > std::size(stack_row)) {
      heap_row.resize(nf);
      xr = heap_row.data();
    }
    for (size_t f = 0; f < nf; ++f) xr[f] = static_cast<float>(row[f]);

    const size_t k = num_groups_;
    float stack_acc[16];
    std::vector<float> heap_acc;
    float* acc = stack_acc;
    if (k > std::size(stack_acc)) {
      heap_acc.resize(k);
      acc = heap_acc.data();
    }
    for (size_t g = 0; g < k; ++g) acc[g] = static_cast<float>(base_margin_[g]);

    auto step = [this, xr](const FlatNode& node) -> uint32_t {
      const double x = xr[node.bits & kFeatureMask];
      if (__builtin_expect((node.bits & kCategoricalBit) != 0, 0)) {
        if (std::isnan(x)) return node.left + ((node.bits & kDefaultLeftBit) ? 0 : 1);
        return node.left + (XgbCategoryInSet(static_cast<float>(x), node) ? 1 : 0);
      }
      const uint32_t by_value = !(x < node.value);
      const uint32_t by_default = (node.bits & kDefaultLeftBit) ? 0 : 1;
      return node.left + (std::isnan(x) ? by_default : by_value);
    };
    // XGBoost sums leaf values in float32 onto the float32 base margin, in
    // tree order.
    const double* leaves = leaf_values_.data();
    if (k == 1) {
      Walk(step, [&](size_t, uint32_t leaf) { acc[0] += static_cast<float>(leaves[leaf]); });
    } else {
      const uint32_t* groups = groups_.data();
      Walk(step,
           [&](size_t t, uint32_t leaf) { acc[groups[t]] += static_cast<float>(leaves[leaf]); });
    }
    XgbTransform(acc, out);
  }

  void XgbTransform(float* m, double* out) const {
    const size_t k = num_groups_;
    switch (transform_) {
      case OutputTransform::kIdentity:
        for (size_t g = 0; g < k; ++g) out[g] = m[g];
        break;
      case OutputTransform::kSigmoid:
        for (size_t g = 0; g < k; ++g) out[g] = XgbSigmoid(m[g]);
        break;
      case OutputTransform::kSoftmax: {
        // xgboost/src/common/math.h Softmax: float max, double sum.
        float wmax = m[0];
        for (size_t g = 1; g < k; ++g) wmax = std::fmax(m[g], wmax);
        double wsum = 0.0;
        for (size_t g = 0; g < k; ++g) {
          m[g] = std::exp(m[g] - wmax);
          wsum += m[g];
        }
        for (size_t g = 0; g < k; ++g) out[g] = m[g] / static_cast<float>(wsum);
        break;
      }
      case OutputTransform::kArgmax: {
        size_t best = 0;
        for (size_t g = 1; g < k; ++g) {
          if (m[g] > m[best]) best = g;
        }
        out[0] = static_cast<double>(best);
        break;
      }
    }
  }

  // --- LightGBM --------------------------------------------------------
  bool LgbCategoryInSet(double x, const FlatNode& node) const {
    // LightGBM Tree::CategoricalDecision converts with static_cast<int>,
    // which on x86-64 gives INT_MIN for NaN and out-of-range values; those
    // and negative categories go right. Fractions truncate toward zero, so
    // -0.5 is category 0.
    if (std::isnan(x) || x >= 2147483648.0 || x <= -2147483649.0) return false;
    const auto cat = static_cast<int32_t>(x);
    if (cat < 0) return false;
    const CategorySet& set = category_sets_[static_cast<size_t>(node.value)];
    const uint32_t word = static_cast<uint32_t>(cat) >> 5;
    if (word >= set.words) return false;
    return (category_words_[set.begin + word] >> (cat & 31)) & 1;
  }

  void PredictLgb(const double* row, double* out) const {
    const size_t k = num_outputs();
    for (size_t g = 0; g < k; ++g) out[g] = 0.0;
    auto step = [this, row](const FlatNode& node) -> uint32_t {
      const double x = row[node.bits & kFeatureMask];
      if (__builtin_expect((node.bits & kCategoricalBit) != 0, 0)) {
        return node.left + (LgbCategoryInSet(x, node) ? 0 : 1);
      }
      // LightGBM Tree::NumericalDecision, without branches: NaN counts as 0
      // unless the missing type is NaN (then it takes the default child
      // before the 0 could matter), so the comparison can always use xz.
      const uint32_t missing = node.bits >> kMissingShift;
      const uint32_t nan = std::isnan(x) ? 1 : 0;
      const double xz = nan ? 0.0 : x;
      const uint32_t zero = static_cast<uint32_t>(xz >= -kLgbZeroThreshold) &
                            static_cast<uint32_t>(xz <= kLgbZeroThreshold);
      const uint32_t is_default =
          (static_cast<uint32_t>(missing == static_cast<uint32_t>(MissingType::kZero)) & zero) |
          (static_cast<uint32_t>(missing == static_cast<uint32_t>(MissingType::kNaN)) & nan);
      const uint32_t by_value = !(xz <= node.value);
      const uint32_t by_default = (node.bits & kDefaultLeftBit) ? 0 : 1;
      return node.left + ((is_default & by_default) | (~is_default & by_value));
    };
    // LightGBM sums in double, in tree order.
    const double* leaves = leaf_values_.data();
    if (k == 1) {
      Walk(step, [&](size_t, uint32_t leaf) { out[0] += leaves[leaf]; });
    } else {
      const uint32_t* groups = groups_.data();
      Walk(step, [&](size_t t, uint32_t leaf) { out[groups[t]] += leaves[leaf]; });
    }
    LgbTransform(out);
  }

  void LgbTransform(double* m) const {
    const size_t k = num_outputs();
    if (average_output_) {
      for (size_t g = 0; g < k; ++g) m[g] /= num_iterations_;
    }
    switch (transform_) {
      case OutputTransform::kIdentity:
        break;
      case OutputTransform::kSigmoid:
        for (size_t g = 0; g < k; ++g) m[g] = 1.0 / (1.0 + std::exp(-sigmoid_scale_ * m[g]));
        break;
      case OutputTransform::kSoftmax: {
        // LightGBM Common::Softmax, all in double.
        double wmax = m[0];
        for (size_t g = 1; g < k; ++g) wmax = std::max(m[g], wmax);
        double wsum = 0.0;
        for (size_t g = 0; g < k; ++g) {
          m[g] = std::exp(m[g] - wmax);
          wsum += m[g];
        }
        for (size_t g = 0; g < k; ++g) m[g] /= wsum;
        break;
      }
      case OutputTransform::kArgmax:
        // Not produced by the LightGBM loader (BuildTreeEnsemble refuses it).
        break;
    }
  }

  TreeSemantics semantics_;
  size_t num_groups_;
  OutputTransform transform_;
  double sigmoid_scale_;
  std::vector<double> base_margin_;
  bool average_output_;
};

std::string NodeName(const SourceTree& tree, int64_t i) {
  if (tree.first_leaf_index >= 0 && i >= tree.first_leaf_index) {
    return StrCat("leaf ", i - tree.first_leaf_index);
  }
  return StrCat("node ", i);
}

}  // namespace

Result<std::unique_ptr<Model>> BuildTreeEnsemble(ModelInfo info, const EnsembleSpec& spec,
                                                 const std::vector<SourceTree>& trees) {
  const size_t num_features = info.feature_names.size();
  const size_t k = info.num_outputs;
  if (num_features == 0) return Status::InvalidArgument("the model has no features");
  if (num_features > kFeatureMask) {
    return Status::Unimplemented(StrCat("the model has ", num_features, " features; at most ",
                                        kFeatureMask, " are supported"));
  }
  if (k == 0) return Status::InvalidArgument("the model has no outputs");
  if (k > 65536) {
    return Status::Unimplemented(
        StrCat("the model has ", k, " outputs; at most 65536 are supported"));
  }
  if (spec.transform == OutputTransform::kArgmax && spec.num_groups < 2) {
    return Status::InvalidArgument("a class-index model needs at least 2 classes");
  }
  info.num_trees = trees.size();
  auto model = std::make_unique<TreeEnsembleModel>(std::move(info), spec);
  // multi:softmax scores have one output (the class index) but K groups.
  const size_t groups = spec.num_groups != 0 ? spec.num_groups : k;
  if (groups != k && (spec.transform != OutputTransform::kArgmax ||
                      spec.semantics != TreeSemantics::kXGBoost || k != 1)) {
    return Status::Internal("output groups differ from outputs without an argmax transform");
  }

  size_t total_nodes = 0;
  for (const SourceTree& t : trees) total_nodes += t.nodes.size();
  if (total_nodes >= (size_t{1} << 31)) {
    return Status::Unimplemented("the model has more than 2^31 nodes");
  }
  model->nodes_.reserve(total_nodes);
  model->leaf_values_.reserve(total_nodes);
  model->roots_.reserve(trees.size());
  model->groups_.reserve(trees.size());

  std::vector<int8_t> seen;
  struct Pending {
    int64_t src;
    uint32_t slot;
    uint32_t depth;
  };
  std::deque<Pending> queue;
  for (size_t t = 0; t < trees.size(); ++t) {
    const SourceTree& tree = trees[t];
    const int64_t n = static_cast<int64_t>(tree.nodes.size());
    if (n == 0) return Status::InvalidArgument(StrCat("tree ", t, " has no nodes"));
    if (tree.output_group < 0 || static_cast<size_t>(tree.output_group) >= groups) {
      return Status::InvalidArgument(StrCat("tree ", t, " adds to output ", tree.output_group,
                                            " but the model has ", groups, " outputs"));
    }
    // Category sets of this tree, appended to the ensemble's.
    const size_t set_base = model->category_sets_.size();
    for (const auto& words : tree.category_sets) {
      model->category_sets_.push_back(
          CategorySet{static_cast<uint32_t>(model->category_words_.size()),
                      static_cast<uint32_t>(words.size())});
      model->category_words_.insert(model->category_words_.end(), words.begin(), words.end());
    }

    seen.assign(static_cast<size_t>(n), 0);
    const auto root_slot = static_cast<uint32_t>(model->nodes_.size());
    model->roots_.push_back(root_slot);
    model->groups_.push_back(static_cast<uint32_t>(tree.output_group));
    model->nodes_.push_back(FlatNode{});
    model->leaf_values_.push_back(0.0);
    queue.clear();
    queue.push_back(Pending{0, root_slot, 0});
    seen[0] = 1;
    uint32_t max_depth = 0;
    while (!queue.empty()) {
      const auto [src, slot, depth] = queue.front();
      queue.pop_front();
      const SourceNode& s = tree.nodes[static_cast<size_t>(src)];
      FlatNode f{};
      max_depth = std::max(max_depth, depth);
      if (s.is_leaf) {
        if (!std::isfinite(s.leaf_value)) {
          return Status::InvalidArgument(
              StrCat("tree ", t, " ", NodeName(tree, src), ": leaf value is not finite"));
        }
        // A self-loop (see FlatNode): NaN threshold, goes right, right = self.
        f.value = std::numeric_limits<double>::quiet_NaN();
        f.bits = kLeafBit;
        f.left = slot - 1;  // wraps for slot 0; left + 1 wraps back
        model->nodes_[slot] = f;
        model->leaf_values_[slot] = s.leaf_value;
        continue;
      }
      for (int64_t child : {s.left, s.right}) {
        if (child < 0 || child >= n) {
          return Status::InvalidArgument(StrCat("tree ", t, " ", NodeName(tree, src), ": child ",
                                                child, " is out of range (tree has ", n,
                                                " nodes)"));
        }
        if (seen[static_cast<size_t>(child)]) {
          return Status::InvalidArgument(StrCat("tree ", t, " ", NodeName(tree, src), ": child ",
                                                NodeName(tree, child),
                                                " is reached twice (the tree has a cycle or a "
                                                "shared node)"));
        }
        seen[static_cast<size_t>(child)] = 1;
      }
      if (s.feature < 0 || static_cast<size_t>(s.feature) >= num_features) {
        return Status::InvalidArgument(
            StrCat("tree ", t, " ", NodeName(tree, src), ": split feature ", s.feature,
                   " is out of range (the model has ", num_features, " features)"));
      }
      f.bits = static_cast<uint32_t>(s.feature);
      if (s.default_left) f.bits |= kDefaultLeftBit;
      f.bits |= static_cast<uint32_t>(s.missing) << kMissingShift;
      if (s.category_set >= 0) {
        if (static_cast<size_t>(s.category_set) >= tree.category_sets.size()) {
          return Status::InvalidArgument(StrCat("tree ", t, " ", NodeName(tree, src),
                                                ": category set ", s.category_set,
                                                " does not exist"));
        }
        f.bits |= kCategoricalBit;
        f.value = static_cast<double>(set_base + static_cast<size_t>(s.category_set));
      } else {
        if (std::isnan(s.threshold)) {
          return Status::InvalidArgument(
              StrCat("tree ", t, " ", NodeName(tree, src), ": threshold is NaN"));
        }
        f.value = s.threshold;
      }
      f.left = static_cast<uint32_t>(model->nodes_.size());
      model->nodes_.push_back(FlatNode{});
      model->nodes_.push_back(FlatNode{});
      model->leaf_values_.push_back(0.0);
      model->leaf_values_.push_back(0.0);
      model->nodes_[slot] = f;
      queue.push_back(Pending{s.left, f.left, depth + 1});
      queue.push_back(Pending{s.right, f.left + 1, depth + 1});
    }
    model->depths_.push_back(max_depth);
  }
  model->nodes_.shrink_to_fit();
  model->leaf_values_.shrink_to_fit();
  model->Finish();
  if (spec.average_output) {
    const size_t per_iteration = groups;
    model->num_iterations_ =
        std::max<double>(1.0, static_cast<double>(trees.size() / per_iteration));
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace eddy::model_internal
