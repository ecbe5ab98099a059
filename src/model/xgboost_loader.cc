// XGBoost JSON model loader. The format is XGBoost's own schema
// (doc/model.schema in the XGBoost repository); the fields read are listed in
// docs/reference/models.md.

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "base/strings.h"
#include "model/hashing.h"
#include "model/json_dom.h"
#include "model/tree_ensemble.h"
#include "model/tree_loaders.h"

namespace eddy {
namespace {

using model_internal::EnsembleSpec;
using model_internal::JsonValue;
using model_internal::OutputTransform;
using model_internal::SourceNode;
using model_internal::SourceTree;
using model_internal::TreeSemantics;

// Categories at or past 2^24 cannot be told apart in float32.
constexpr double kMaxCategory = 16777216.0;
// A sanity bound on counts read from the file.
constexpr double kMaxCount = 1e9;
// At most this many features: a few bytes of JSON must not make the loader
// allocate gigabytes of feature names.
constexpr int64_t kMaxFeatures = int64_t{1} << 20;

Status Missing(std::string_view path) { return Status::InvalidArgument(StrCat(path, ": missing")); }

Status WrongType(std::string_view path, const JsonValue& v, std::string_view expected) {
  return Status::InvalidArgument(StrCat(path, ": expected ", expected, ", found ", v.type_name()));
}

Result<const JsonValue*> Member(const JsonValue& obj, std::string_view path, std::string_view key,
                                JsonValue::Type type) {
  const JsonValue* v = obj.Find(key);
  const std::string full = StrCat(path, ".", key);
  if (v == nullptr) return Missing(full);
  if (v->type() != type) return WrongType(full, *v, JsonValue::TypeName(type));
  return v;
}

// XGBoost writes most scalar parameters as strings ("num_feature": "30").
Result<double> NumberField(const JsonValue& obj, std::string_view path, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  const std::string full = StrCat(path, ".", key);
  if (v == nullptr) return Missing(full);
  if (v->is_number()) return v->number();
  if (!v->is_string()) return WrongType(full, *v, "a number or a numeric string");
  std::string_view s = Trim(v->str());
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    return Status::InvalidArgument(StrCat(full, ": ", Quote(v->str()), " is not a number"));
  }
  return d;
}

Result<int64_t> CountField(const JsonValue& obj, std::string_view path, std::string_view key) {
  EDDY_ASSIGN_OR_RETURN(double d, NumberField(obj, path, key));
  if (!(d >= 0 && d <= kMaxCount) || d != std::floor(d)) {
    return Status::InvalidArgument(
        StrCat(path, ".", key, ": expected a non-negative integer, found ", d));
  }
  return static_cast<int64_t>(d);
}

// base_score: "5E-1" (1.x, 2.x), "[5E-1]" or "[1E-1,2E-1,...]" (3.x).
Result<std::vector<double>> ParseBaseScore(const JsonValue& param, std::string_view path) {
  const JsonValue* v = param.Find("base_score");
  const std::string full = StrCat(path, ".base_score");
  if (v == nullptr) return std::vector<double>{0.5};
  if (v->is_number()) return std::vector<double>{v->number()};
  if (!v->is_string()) return WrongType(full, *v, "a numeric string");
  std::string_view s = Trim(v->str());
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') {
      return Status::InvalidArgument(StrCat(full, ": ", Quote(v->str()), " has no closing ']'"));
    }
    s = s.substr(1, s.size() - 2);
  }
  std::vector<double> out;
  while (true) {
    size_t comma = s.find(',');
    std::string_view item = Trim(s.substr(0, comma));
    double d = 0;
    auto r = std::from_chars(item.data(), item.data() + item.size(), d);
    if (item.empty() || r.ec != std::errc() || r.ptr != item.data() + item.size() ||
        !std::isfinite(d)) {
      return Status::InvalidArgument(StrCat(full, ": ", Quote(v->str()), " is not a number"));
    }
    out.push_back(d);
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return out;
}

struct ObjectiveInfo {
  ModelTask task;
  OutputKind output;
  OutputTransform transform;
  bool logit_base;  // base_score is a probability: margin = -log(1/p - 1)
};

Result<ObjectiveInfo> LookupObjective(std::string_view name) {
  using T = OutputTransform;
  if (name == "reg:squarederror" || name == "reg:linear" || name == "reg:squaredlogerror" ||
      name == "reg:pseudohubererror" || name == "reg:absoluteerror") {
    return ObjectiveInfo{ModelTask::kRegression, OutputKind::kValue, T::kIdentity, false};
  }
  if (name == "reg:logistic") {
    return ObjectiveInfo{ModelTask::kRegression, OutputKind::kProbability, T::kSigmoid, true};
  }
  if (name == "binary:logistic") {
    return ObjectiveInfo{ModelTask::kBinaryClassification, OutputKind::kProbability, T::kSigmoid,
                         true};
  }
  if (name == "binary:logitraw") {
    // XGBoost 2.x stores logitraw's base_score as a margin (checked against
    // the library by tests/integration/model/test_parity.py).
    return ObjectiveInfo{ModelTask::kBinaryClassification, OutputKind::kValue, T::kIdentity, false};
  }
  if (name == "multi:softprob") {
    return ObjectiveInfo{ModelTask::kMulticlassClassification, OutputKind::kProbability,
                         T::kSoftmax, false};
  }
  if (name == "multi:softmax") {
    return ObjectiveInfo{ModelTask::kMulticlassClassification, OutputKind::kClassIndex, T::kArgmax,
                         false};
  }
  return Status::Unimplemented(
      StrCat("objective ", Quote(name),
             " is not supported (supported: reg:squarederror, reg:squaredlogerror, "
             "reg:pseudohubererror, reg:absoluteerror, reg:logistic, binary:logistic, "
             "binary:logitraw, multi:softprob, multi:softmax)"));
}

// Reads a number array of exactly `n` elements.
Result<const std::vector<double>*> NumberArray(const JsonValue& tree, std::string_view path,
                                               std::string_view key, size_t n, bool integers) {
  const JsonValue* v = tree.Find(key);
  const std::string full = StrCat(path, ".", key);
  if (v == nullptr) return Missing(full);
  if (!v->is_array()) return WrongType(full, *v, "an array");
  if (!v->is_number_array()) return WrongType(full, *v, "an array of numbers");
  if (v->numbers().size() != n) {
    return Status::InvalidArgument(
        StrCat(full, ": has ", v->numbers().size(), " elements, expected ", n));
  }
  if (integers && !v->all_integers()) {
    return Status::InvalidArgument(StrCat(full, ": expected integers"));
  }
  return &v->numbers();
}

Result<SourceTree> ReadTree(const JsonValue& tree, std::string_view path, int64_t num_feature) {
  if (!tree.is_object()) return WrongType(path, tree, "an object");
  EDDY_ASSIGN_OR_RETURN(const JsonValue* param,
                        Member(tree, path, "tree_param", JsonValue::Type::kObject));
  const std::string param_path = StrCat(path, ".tree_param");
  EDDY_ASSIGN_OR_RETURN(int64_t num_nodes, CountField(*param, param_path, "num_nodes"));
  if (num_nodes < 1) {
    return Status::InvalidArgument(StrCat(param_path, ".num_nodes: a tree needs a node"));
  }
  if (param->Find("size_leaf_vector") != nullptr) {
    EDDY_ASSIGN_OR_RETURN(int64_t leaf_vector, CountField(*param, param_path, "size_leaf_vector"));
    if (leaf_vector > 1) {
      return Status::Unimplemented(StrCat(
          param_path, ".size_leaf_vector: multi-target trees (vector leaves) are not supported"));
    }
  }
  const auto n = static_cast<size_t>(num_nodes);
  EDDY_ASSIGN_OR_RETURN(auto left, NumberArray(tree, path, "left_children", n, true));
  EDDY_ASSIGN_OR_RETURN(auto right, NumberArray(tree, path, "right_children", n, true));
  EDDY_ASSIGN_OR_RETURN(auto split_index, NumberArray(tree, path, "split_indices", n, true));
  EDDY_ASSIGN_OR_RETURN(auto cond, NumberArray(tree, path, "split_conditions", n, false));

  // default_left: integers (1.6+) or booleans (older).
  std::vector<bool> default_left(n, false);
  {
    const JsonValue* v = tree.Find("default_left");
    const std::string full = StrCat(path, ".default_left");
    if (v == nullptr) return Missing(full);
    if (!v->is_array() || v->size() != n) {
      return Status::InvalidArgument(StrCat(full, ": expected an array of ", n, " elements"));
    }
    for (size_t i = 0; i < n; ++i) {
      if (v->is_number_array()) {
        default_left[i] = v->numbers()[i] != 0;
      } else if (v->items()[i].is_bool()) {
        default_left[i] = v->items()[i].bool_value();
      } else {
        return WrongType(StrCat(full, "[", i, "]"), v->items()[i], "0, 1, true or false");
      }
    }
  }
  std::vector<double> split_type(n, 0.0);
  if (const JsonValue* v = tree.Find("split_type"); v != nullptr) {
    EDDY_ASSIGN_OR_RETURN(auto st, NumberArray(tree, path, "split_type", n, true));
    split_type = *st;
  }

  SourceTree out;
  out.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    SourceNode& node = out.nodes[i];
    const double l = (*left)[i], r = (*right)[i];
    if (l == -1) {
      if (r != -1) {
        return Status::InvalidArgument(
            StrCat(path, " node ", i, ": left child is -1 (a leaf) but right child is ", r));
      }
      node.is_leaf = true;
      // Leaf values are float32 in XGBoost.
      node.leaf_value = static_cast<float>((*cond)[i]);
      continue;
    }
    if (!(l >= 0 && l < static_cast<double>(n)) || !(r >= 0 && r < static_cast<double>(n))) {
      return Status::InvalidArgument(StrCat(path, " node ", i, ": children ", l, ", ", r,
                                            " are out of range (tree has ", n, " nodes)"));
    }
    const double f = (*split_index)[i];
    if (!(f >= 0 && f < static_cast<double>(num_feature))) {
      return Status::InvalidArgument(StrCat(path, ".split_indices[", i, "]: feature ", f,
                                            " is out of range (num_feature is ", num_feature, ")"));
    }
    node.is_leaf = false;
    node.left = static_cast<int64_t>(l);
    node.right = static_cast<int64_t>(r);
    node.feature = static_cast<int64_t>(f);
    node.default_left = default_left[i];
    if (split_type[i] == 0) {
      const double t = (*cond)[i];
      if (std::isnan(t)) {
        return Status::InvalidArgument(StrCat(path, ".split_conditions[", i, "]: NaN"));
      }
      node.threshold = static_cast<float>(t);
    } else if (split_type[i] != 1) {
      return Status::InvalidArgument(
          StrCat(path, ".split_type[", i, "]: ", split_type[i], " is neither 0 nor 1"));
    }
  }

  // Categorical splits: categories_nodes[j] has the categories
  // categories[segments[j] .. segments[j] + sizes[j]).
  const JsonValue* cat_nodes_v = tree.Find("categories_nodes");
  const size_t num_cat_nodes = cat_nodes_v == nullptr ? 0 : cat_nodes_v->size();
  if (num_cat_nodes > 0) {
    EDDY_ASSIGN_OR_RETURN(auto cat_nodes,
                          NumberArray(tree, path, "categories_nodes", num_cat_nodes, true));
    EDDY_ASSIGN_OR_RETURN(auto segments,
                          NumberArray(tree, path, "categories_segments", num_cat_nodes, true));
    EDDY_ASSIGN_OR_RETURN(auto sizes,
                          NumberArray(tree, path, "categories_sizes", num_cat_nodes, true));
    const JsonValue* cats_v = tree.Find("categories");
    if (cats_v == nullptr) return Missing(StrCat(path, ".categories"));
    EDDY_ASSIGN_OR_RETURN(auto cats, NumberArray(tree, path, "categories", cats_v->size(), true));
    for (size_t j = 0; j < num_cat_nodes; ++j) {
      const double node_id = (*cat_nodes)[j];
      if (!(node_id >= 0 && node_id < static_cast<double>(n))) {
        return Status::InvalidArgument(
            StrCat(path, ".categories_nodes[", j, "]: node ", node_id, " is out of range"));
      }
      SourceNode& node = out.nodes[static_cast<size_t>(node_id)];
      if (node.is_leaf || split_type[static_cast<size_t>(node_id)] != 1) {
        return Status::InvalidArgument(StrCat(path, ".categories_nodes[", j, "]: node ", node_id,
                                              " is not a categorical split"));
      }
      if (node.category_set >= 0) {
        return Status::InvalidArgument(
            StrCat(path, ".categories_nodes[", j, "]: node ", node_id, " is listed twice"));
      }
      const double begin = (*segments)[j], size = (*sizes)[j];
      if (!(begin >= 0 && size >= 0 && begin + size <= static_cast<double>(cats->size()))) {
        return Status::InvalidArgument(StrCat(path, ".categories_segments[", j, "]: [", begin, ", ",
                                              begin + size, ") is outside categories (size ",
                                              cats->size(), ")"));
      }
      std::vector<uint32_t> words;
      for (size_t c = static_cast<size_t>(begin); c < static_cast<size_t>(begin + size); ++c) {
        const double cat = (*cats)[c];
        if (!(cat >= 0 && cat < kMaxCategory)) {
          return Status::InvalidArgument(
              StrCat(path, ".categories[", c, "]: category ", cat, " is outside [0, 2^24)"));
        }
        const auto ci = static_cast<uint32_t>(cat);
        if (words.size() <= ci / 32) words.resize(ci / 32 + 1, 0);
        words[ci / 32] |= uint32_t{1} << (ci % 32);
      }
      node.category_set = static_cast<int64_t>(out.category_sets.size());
      out.category_sets.push_back(std::move(words));
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!out.nodes[i].is_leaf && split_type[i] == 1 && out.nodes[i].category_set < 0) {
      return Status::InvalidArgument(
          StrCat(path, " node ", i, ": categorical split without categories_nodes entry"));
    }
  }
  return out;
}

Result<std::unique_ptr<Model>> ParseXGBoost(std::string_view bytes) {
  EDDY_ASSIGN_OR_RETURN(JsonValue root, model_internal::ParseJson(bytes, 64, true));
  if (!root.is_object()) return WrongType("document", root, "an object");
  EDDY_ASSIGN_OR_RETURN(const JsonValue* learner,
                        Member(root, "document", "learner", JsonValue::Type::kObject));
  const std::string lp = "learner";

  EDDY_ASSIGN_OR_RETURN(const JsonValue* mparam,
                        Member(*learner, lp, "learner_model_param", JsonValue::Type::kObject));
  const std::string mpath = "learner.learner_model_param";
  EDDY_ASSIGN_OR_RETURN(int64_t num_feature, CountField(*mparam, mpath, "num_feature"));
  if (num_feature < 1) {
    return Status::InvalidArgument(StrCat(mpath, ".num_feature: the model has no features"));
  }
  if (num_feature > kMaxFeatures) {
    return Status::Unimplemented(StrCat(mpath, ".num_feature: ", num_feature, " features; at most ",
                                        kMaxFeatures, " are supported"));
  }
  int64_t num_class = 0;
  if (mparam->Find("num_class") != nullptr) {
    EDDY_ASSIGN_OR_RETURN(num_class, CountField(*mparam, mpath, "num_class"));
  }
  if (mparam->Find("num_target") != nullptr) {
    EDDY_ASSIGN_OR_RETURN(int64_t num_target, CountField(*mparam, mpath, "num_target"));
    if (num_target > 1) {
      return Status::Unimplemented(StrCat(mpath, ".num_target: multi-target models (", num_target,
                                          " targets) are not supported"));
    }
  }
  EDDY_ASSIGN_OR_RETURN(std::vector<double> base_score, ParseBaseScore(*mparam, mpath));

  EDDY_ASSIGN_OR_RETURN(const JsonValue* objective,
                        Member(*learner, lp, "objective", JsonValue::Type::kObject));
  EDDY_ASSIGN_OR_RETURN(const JsonValue* objective_name,
                        Member(*objective, "learner.objective", "name", JsonValue::Type::kString));
  const bool multiclass = num_class > 1;
  EDDY_ASSIGN_OR_RETURN(ObjectiveInfo obj, LookupObjective(objective_name->str()));
  if (multiclass != (obj.task == ModelTask::kMulticlassClassification)) {
    return Status::InvalidArgument(StrCat(mpath, ".num_class: ", num_class,
                                          " does not fit objective ",
                                          Quote(objective_name->str())));
  }
  const size_t groups = multiclass ? static_cast<size_t>(num_class) : 1;

  EDDY_ASSIGN_OR_RETURN(const JsonValue* booster,
                        Member(*learner, lp, "gradient_booster", JsonValue::Type::kObject));
  EDDY_ASSIGN_OR_RETURN(const JsonValue* booster_name, Member(*booster, "learner.gradient_booster",
                                                              "name", JsonValue::Type::kString));
  if (booster_name->str() != "gbtree") {
    return Status::Unimplemented(StrCat("learner.gradient_booster.name: booster ",
                                        Quote(booster_name->str()),
                                        " is not supported (only gbtree)"));
  }
  const std::string gp = "learner.gradient_booster.model";
  EDDY_ASSIGN_OR_RETURN(const JsonValue* gbtree, Member(*booster, "learner.gradient_booster",
                                                        "model", JsonValue::Type::kObject));
  EDDY_ASSIGN_OR_RETURN(const JsonValue* trees_v,
                        Member(*gbtree, gp, "trees", JsonValue::Type::kArray));
  EDDY_ASSIGN_OR_RETURN(const JsonValue* tree_info_v,
                        Member(*gbtree, gp, "tree_info", JsonValue::Type::kArray));
  if (const JsonValue* p = gbtree->Find("gbtree_model_param"); p != nullptr && p->is_object()) {
    EDDY_ASSIGN_OR_RETURN(int64_t num_trees,
                          CountField(*p, StrCat(gp, ".gbtree_model_param"), "num_trees"));
    if (static_cast<size_t>(num_trees) != trees_v->size()) {
      return Status::InvalidArgument(StrCat(gp, ".gbtree_model_param.num_trees: says ", num_trees,
                                            " but trees has ", trees_v->size()));
    }
  }
  const size_t num_trees = trees_v->size();
  if (trees_v->is_number_array() && num_trees > 0) {
    return Status::InvalidArgument(StrCat(gp, ".trees: expected tree objects, found numbers"));
  }
  if (!tree_info_v->is_number_array() || tree_info_v->size() != num_trees ||
      !tree_info_v->all_integers()) {
    return Status::InvalidArgument(
        StrCat(gp, ".tree_info: expected ", num_trees, " integers (one per tree)"));
  }

  std::vector<SourceTree> trees;
  trees.reserve(num_trees);
  for (size_t t = 0; t < num_trees; ++t) {
    const std::string tp = StrCat(gp, ".trees[", t, "]");
    // An empty trees array is a number array; otherwise items() holds them.
    const JsonValue& tv = trees_v->items()[t];
    EDDY_ASSIGN_OR_RETURN(SourceTree tree, ReadTree(tv, tp, num_feature));
    const double group = tree_info_v->numbers()[t];
    if (!(group >= 0 && group < static_cast<double>(groups))) {
      return Status::InvalidArgument(StrCat(gp, ".tree_info[", t, "]: output group ", group,
                                            " is out of range (", groups, " outputs)"));
    }
    tree.output_group = static_cast<int64_t>(group);
    trees.push_back(std::move(tree));
  }

  ModelInfo info;
  info.format = ModelFormat::kXGBoostJson;
  info.task = obj.task;
  info.output = obj.output;
  info.objective = objective_name->str();
  info.num_outputs = obj.transform == OutputTransform::kArgmax ? 1 : groups;
  info.content_hash = ContentHash(bytes);
  const JsonValue* names = learner->Find("feature_names");
  if (names != nullptr && names->is_array() && names->size() > 0) {
    if (names->size() != static_cast<size_t>(num_feature) || names->is_number_array()) {
      return Status::InvalidArgument(
          StrCat("learner.feature_names: expected ", num_feature, " strings (num_feature)"));
    }
    for (size_t i = 0; i < names->size(); ++i) {
      const JsonValue& s = names->items()[i];
      if (!s.is_string()) return WrongType(StrCat("learner.feature_names[", i, "]"), s, "a string");
      info.feature_names.push_back(s.str());
    }
  } else {
    for (int64_t i = 0; i < num_feature; ++i) info.feature_names.push_back(StrCat("f", i));
  }
  info.categorical.assign(info.feature_names.size(), false);
  const JsonValue* types = learner->Find("feature_types");
  if (types != nullptr && types->is_array() && !types->is_number_array()) {
    if (types->size() != info.feature_names.size()) {
      return Status::InvalidArgument(
          StrCat("learner.feature_types: expected ", num_feature, " entries (num_feature)"));
    }
    for (size_t i = 0; i < types->size(); ++i) {
      const JsonValue& s = types->items()[i];
      if (!s.is_string()) return WrongType(StrCat("learner.feature_types[", i, "]"), s, "a string");
      info.categorical[i] = s.str() == "c";
    }
  }

  EnsembleSpec spec;
  spec.semantics = TreeSemantics::kXGBoost;
  spec.transform = obj.transform;
  spec.num_groups = groups;
  if (base_score.size() != 1 && base_score.size() != groups) {
    return Status::InvalidArgument(
        StrCat(mpath, ".base_score: has ", base_score.size(), " values; expected 1 or ", groups));
  }
  for (size_t g = 0; g < groups; ++g) {
    // XGBoost keeps base_score as float32 and converts it with the
    // objective's ProbToMargin, also in float32.
    const float p = static_cast<float>(base_score.size() == 1 ? base_score[0] : base_score[g]);
    float margin = p;
    if (obj.logit_base) {
      if (!(p > 0.0f && p < 1.0f)) {
        return Status::InvalidArgument(StrCat(mpath, ".base_score: ", p, " must be in (0, 1) for ",
                                              Quote(objective_name->str())));
      }
      margin = -std::log(1.0f / p - 1.0f);
    }
    spec.base_margin.push_back(margin);
  }
  return model_internal::BuildTreeEnsemble(std::move(info), spec, trees);
}

}  // namespace

Result<std::unique_ptr<Model>> ParseXGBoostJson(std::string_view bytes, std::string_view source) {
  try {
    auto r = ParseXGBoost(bytes);
    if (!r.ok()) return r.status().WithContext(StrCat(source, " (XGBoost JSON)"));
    return r;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(StrCat(source, ": out of memory loading the model"));
  }
}

}  // namespace eddy
