// LightGBM text model loader (the format of Booster.save_model / the CLI's
// output_model): a header of key=value lines, then one block per tree
// starting "Tree=<i>", then "end of trees" and sections Eddy ignores
// (feature importances, parameters, pandas_categorical).

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "base/strings.h"
#include "model/hashing.h"
#include "model/tree_ensemble.h"
#include "model/tree_loaders.h"

namespace eddy {
namespace {

using model_internal::EnsembleSpec;
using model_internal::MissingType;
using model_internal::OutputTransform;
using model_internal::SourceNode;
using model_internal::SourceTree;
using model_internal::TreeSemantics;

constexpr int64_t kMaxLeaves = int64_t{1} << 24;
constexpr int64_t kMaxFeatures = int64_t{1} << 20;

// The key=value lines of one section, in order, with their line numbers.
struct Entry {
  std::string_view key;
  std::string_view value;
  bool has_value;
  size_t line;
};

struct Section {
  std::vector<Entry> entries;
  size_t first_line = 0;
  const Entry* Find(std::string_view key) const {
    for (const Entry& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }
};

std::string_view NextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

template <typename T>
bool ParseOne(std::string_view s, T& out) {
  if (s.empty()) return false;
  // from_chars does not take a leading '+'.
  if (s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

template <typename T>
Result<std::vector<T>> ParseArray(const Section& sec, std::string_view where, std::string_view key,
                                  size_t expected) {
  const Entry* e = sec.Find(key);
  if (e == nullptr) {
    if (expected == 0) return std::vector<T>();
    return Status::InvalidArgument(StrCat(where, ": missing ", key, "="));
  }
  std::vector<T> out;
  // Not more than the text can hold: a bogus count must not allocate.
  out.reserve(std::min(expected, e->value.size() / 2 + 1));
  std::string_view rest = e->value;
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string_view item = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (item.empty()) continue;
    T v{};
    if (!ParseOne(item, v)) {
      return Status::InvalidArgument(StrCat(where, " line ", e->line, ": ", key, "[", out.size(),
                                            "]: ", Quote(item), " is not a number"));
    }
    out.push_back(v);
    if (out.size() > expected) break;
  }
  if (out.size() != expected) {
    return Status::InvalidArgument(StrCat(where, " line ", e->line, ": ", key, " has ",
                                          out.size() > expected ? "more than " : "", out.size(),
                                          " values, expected ", expected));
  }
  return out;
}

Result<int64_t> ParseInt(const Section& sec, std::string_view where, std::string_view key,
                         int64_t min, int64_t max) {
  const Entry* e = sec.Find(key);
  if (e == nullptr) return Status::InvalidArgument(StrCat(where, ": missing ", key, "="));
  int64_t v = 0;
  if (!ParseOne(Trim(e->value), v) || v < min || v > max) {
    return Status::InvalidArgument(StrCat(where, " line ", e->line, ": ", key, "=", Quote(e->value),
                                          " is not an integer in [", min, ", ", max, "]"));
  }
  return v;
}

struct ObjectiveInfo {
  ModelTask task = ModelTask::kRegression;
  OutputKind output = OutputKind::kValue;
  OutputTransform transform = OutputTransform::kIdentity;
  double sigmoid = 1.0;
  std::string name;
};

Result<ObjectiveInfo> ParseObjective(const Section& header) {
  ObjectiveInfo info;
  const Entry* e = header.Find("objective");
  if (e == nullptr) {
    info.name = "custom";
    return info;
  }
  std::vector<std::string_view> tokens;
  std::string_view rest = Trim(e->value);
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    if (sp != 0) tokens.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  if (tokens.empty()) {
    return Status::InvalidArgument(StrCat("line ", e->line, ": objective= is empty"));
  }
  const std::string_view name = tokens[0];
  info.name = std::string(name);
  for (size_t i = 1; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (StartsWith(t, "sigmoid:")) {
      if (!ParseOne(t.substr(8), info.sigmoid) || !std::isfinite(info.sigmoid) ||
          info.sigmoid <= 0) {
        return Status::InvalidArgument(StrCat("line ", e->line, ": objective parameter ", Quote(t),
                                              " is not a positive number"));
      }
    } else if (t == "sqrt") {
      return Status::Unimplemented(StrCat("line ", e->line, ": objective ", Quote(e->value),
                                          ": the sqrt transform is not supported"));
    }
  }
  if (name == "regression" || name == "regression_l1" || name == "huber" || name == "fair" ||
      name == "quantile" || name == "mape" || name == "custom") {
    return info;
  }
  if (name == "binary") {
    info.task = ModelTask::kBinaryClassification;
    info.output = OutputKind::kProbability;
    info.transform = OutputTransform::kSigmoid;
    return info;
  }
  if (name == "multiclass") {
    info.task = ModelTask::kMulticlassClassification;
    info.output = OutputKind::kProbability;
    info.transform = OutputTransform::kSoftmax;
    return info;
  }
  if (name == "multiclassova") {
    info.task = ModelTask::kMulticlassClassification;
    info.output = OutputKind::kProbability;
    info.transform = OutputTransform::kSigmoid;
    return info;
  }
  return Status::Unimplemented(StrCat(
      "line ", e->line, ": objective ", Quote(name),
      " is not supported (supported: regression, regression_l1, huber, fair, quantile, mape, "
      "binary, multiclass, multiclassova)"));
}

Result<SourceTree> ReadTree(const Section& sec, std::string_view where, int64_t num_features) {
  EDDY_ASSIGN_OR_RETURN(int64_t num_leaves, ParseInt(sec, where, "num_leaves", 1, kMaxLeaves));
  int64_t num_cat = 0;
  if (sec.Find("num_cat") != nullptr) {
    EDDY_ASSIGN_OR_RETURN(num_cat, ParseInt(sec, where, "num_cat", 0, kMaxLeaves));
  }
  if (const Entry* e = sec.Find("is_linear"); e != nullptr && Trim(e->value) != "0") {
    return Status::Unimplemented(
        StrCat(where, " line ", e->line, ": linear trees (is_linear=1) are not supported"));
  }
  const auto leaves = static_cast<size_t>(num_leaves);
  const size_t internal = leaves - 1;
  EDDY_ASSIGN_OR_RETURN(auto leaf_value, ParseArray<double>(sec, where, "leaf_value", leaves));
  SourceTree tree;
  tree.first_leaf_index = static_cast<int64_t>(internal);
  tree.nodes.resize(internal + leaves);
  for (size_t j = 0; j < leaves; ++j) {
    tree.nodes[internal + j].is_leaf = true;
    tree.nodes[internal + j].leaf_value = leaf_value[j];
  }
  if (num_leaves == 1) {
    // A single leaf is the whole tree: the root is the leaf.
    tree.nodes.erase(tree.nodes.begin(), tree.nodes.begin() + static_cast<int64_t>(internal));
    tree.first_leaf_index = 0;
    return tree;
  }
  EDDY_ASSIGN_OR_RETURN(auto split_feature,
                        ParseArray<int64_t>(sec, where, "split_feature", internal));
  EDDY_ASSIGN_OR_RETURN(auto threshold, ParseArray<double>(sec, where, "threshold", internal));
  EDDY_ASSIGN_OR_RETURN(auto decision_type,
                        ParseArray<int64_t>(sec, where, "decision_type", internal));
  EDDY_ASSIGN_OR_RETURN(auto left, ParseArray<int64_t>(sec, where, "left_child", internal));
  EDDY_ASSIGN_OR_RETURN(auto right, ParseArray<int64_t>(sec, where, "right_child", internal));

  if (num_cat > 0) {
    EDDY_ASSIGN_OR_RETURN(auto bounds, ParseArray<int64_t>(sec, where, "cat_boundaries",
                                                           static_cast<size_t>(num_cat) + 1));
    const Entry* ct = sec.Find("cat_threshold");
    if (ct == nullptr) return Status::InvalidArgument(StrCat(where, ": missing cat_threshold="));
    const int64_t total = bounds.back();
    if (bounds[0] != 0 || total < 0 || total > kMaxLeaves * 64) {
      return Status::InvalidArgument(
          StrCat(where, ": cat_boundaries must start at 0 and end at the cat_threshold count"));
    }
    EDDY_ASSIGN_OR_RETURN(
        auto words, ParseArray<uint32_t>(sec, where, "cat_threshold", static_cast<size_t>(total)));
    for (int64_t c = 0; c < num_cat; ++c) {
      if (bounds[c + 1] < bounds[c]) {
        return Status::InvalidArgument(
            StrCat(where, ": cat_boundaries[", c + 1, "] is smaller than cat_boundaries[", c, "]"));
      }
      tree.category_sets.emplace_back(words.begin() + bounds[c], words.begin() + bounds[c + 1]);
    }
  }

  auto child_index = [&](int64_t c) -> int64_t {
    // >= 0: an internal node; < 0: leaf ~c.
    if (c >= 0) return c < static_cast<int64_t>(internal) ? c : -1;
    const int64_t leaf = ~c;
    return leaf < num_leaves ? static_cast<int64_t>(internal) + leaf : -1;
  };
  for (size_t i = 0; i < internal; ++i) {
    SourceNode& node = tree.nodes[i];
    node.is_leaf = false;
    node.left = child_index(left[i]);
    node.right = child_index(right[i]);
    if (node.left < 0 || node.right < 0) {
      return Status::InvalidArgument(StrCat(where, " node ", i, ": children ", left[i], ", ",
                                            right[i], " are out of range (", internal,
                                            " internal nodes, ", leaves, " leaves)"));
    }
    if (split_feature[i] < 0 || split_feature[i] >= num_features) {
      return Status::InvalidArgument(StrCat(where, " node ", i, ": split_feature ",
                                            split_feature[i], " is out of range (", num_features,
                                            " features)"));
    }
    node.feature = split_feature[i];
    const int64_t dt = decision_type[i];
    if (dt < 0 || dt > 15) {
      return Status::InvalidArgument(
          StrCat(where, " node ", i, ": decision_type ", dt, " is not in [0, 15]"));
    }
    const int64_t missing = (dt >> 2) & 3;
    if (missing == 3) {
      return Status::InvalidArgument(
          StrCat(where, " node ", i, ": decision_type ", dt, " has an unknown missing type 3"));
    }
    node.missing = static_cast<MissingType>(missing);
    node.default_left = (dt & 2) != 0;
    if (dt & 1) {
      const double idx = threshold[i];
      if (!(idx >= 0 && idx < static_cast<double>(num_cat)) || idx != std::floor(idx)) {
        return Status::InvalidArgument(StrCat(where, " node ", i, ": categorical threshold ", idx,
                                              " is not a category set index (num_cat=", num_cat,
                                              ")"));
      }
      node.category_set = static_cast<int64_t>(idx);
    } else {
      if (std::isnan(threshold[i])) {
        return Status::InvalidArgument(StrCat(where, " node ", i, ": threshold is NaN"));
      }
      node.threshold = threshold[i];
    }
  }
  return tree;
}

Result<std::unique_ptr<Model>> ParseLightGbm(std::string_view bytes) {
  std::string_view rest = bytes;
  size_t line_no = 0;
  Section header;
  std::vector<Section> tree_sections;
  std::vector<std::string_view> tree_names;
  Section* current = &header;
  bool first = true;
  bool ended = false;
  while (!rest.empty()) {
    std::string_view line = NextLine(rest);
    ++line_no;
    if (first) {
      first = false;
      if (Trim(line) != "tree") {
        return Status::InvalidArgument(StrCat(
            "line 1: expected \"tree\" (the LightGBM text model header), found ", Quote(line)));
      }
      continue;
    }
    if (line.empty()) continue;
    if (line == "end of trees") {
      ended = true;
      break;
    }
    size_t eq = line.find('=');
    std::string_view key = line.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1);
    if (key == "Tree") {
      tree_sections.emplace_back();
      tree_sections.back().first_line = line_no;
      tree_names.push_back(value);
      current = &tree_sections.back();
      continue;
    }
    current->entries.push_back(Entry{key, value, eq != std::string_view::npos, line_no});
  }
  if (!ended) return Status::InvalidArgument("missing \"end of trees\" (the file is truncated)");

  EDDY_ASSIGN_OR_RETURN(int64_t max_feature_idx,
                        ParseInt(header, "header", "max_feature_idx", 0, kMaxFeatures - 1));
  const int64_t num_features = max_feature_idx + 1;
  int64_t num_class = 1;
  if (header.Find("num_class") != nullptr) {
    EDDY_ASSIGN_OR_RETURN(num_class, ParseInt(header, "header", "num_class", 1, 65536));
  }
  int64_t per_iteration = 1;
  if (header.Find("num_tree_per_iteration") != nullptr) {
    EDDY_ASSIGN_OR_RETURN(per_iteration,
                          ParseInt(header, "header", "num_tree_per_iteration", 1, 65536));
  }
  EDDY_ASSIGN_OR_RETURN(ObjectiveInfo obj, ParseObjective(header));
  const bool multiclass = obj.task == ModelTask::kMulticlassClassification;
  if (multiclass ? per_iteration != num_class : per_iteration != 1 || num_class != 1) {
    return Status::InvalidArgument(StrCat("header: num_class=", num_class,
                                          " and num_tree_per_iteration=", per_iteration,
                                          " do not fit objective ", Quote(obj.name)));
  }
  if (tree_sections.size() % static_cast<size_t>(per_iteration) != 0) {
    return Status::InvalidArgument(
        StrCat("the model has ", tree_sections.size(),
               " trees, not a multiple of num_tree_per_iteration=", per_iteration));
  }

  ModelInfo info;
  info.format = ModelFormat::kLightGbmText;
  info.task = obj.task;
  info.output = obj.output;
  info.objective = obj.name;
  info.num_outputs = static_cast<size_t>(per_iteration);
  info.content_hash = ContentHash(bytes);
  if (const Entry* e = header.Find("feature_names"); e != nullptr) {
    std::string_view names = e->value;
    while (!names.empty()) {
      size_t sp = names.find(' ');
      if (sp != 0) info.feature_names.emplace_back(names.substr(0, sp));
      names = sp == std::string_view::npos ? std::string_view() : names.substr(sp + 1);
    }
    if (info.feature_names.size() != static_cast<size_t>(num_features)) {
      return Status::InvalidArgument(StrCat("line ", e->line, ": feature_names has ",
                                            info.feature_names.size(),
                                            " names but max_feature_idx says ", num_features));
    }
  } else {
    for (int64_t i = 0; i < num_features; ++i) info.feature_names.push_back(StrCat("Column_", i));
  }
  info.categorical.assign(info.feature_names.size(), false);
  if (const Entry* e = header.Find("feature_infos"); e != nullptr) {
    // "[min:max]" for numeric features, "0:1:5" (the categories) for
    // categorical ones, "none" for unused ones.
    std::string_view infos = e->value;
    size_t i = 0;
    while (!infos.empty() && i < info.categorical.size()) {
      size_t sp = infos.find(' ');
      std::string_view item = infos.substr(0, sp);
      infos = sp == std::string_view::npos ? std::string_view() : infos.substr(sp + 1);
      if (item.empty()) continue;
      info.categorical[i++] = item.front() != '[' && item != "none";
    }
  }

  std::vector<SourceTree> trees;
  trees.reserve(tree_sections.size());
  for (size_t t = 0; t < tree_sections.size(); ++t) {
    const std::string where =
        StrCat("Tree=", tree_names[t], " (line ", tree_sections[t].first_line, ")");
    EDDY_ASSIGN_OR_RETURN(SourceTree tree, ReadTree(tree_sections[t], where, num_features));
    tree.output_group = static_cast<int64_t>(t % static_cast<size_t>(per_iteration));
    trees.push_back(std::move(tree));
  }

  EnsembleSpec spec;
  spec.semantics = TreeSemantics::kLightGbm;
  spec.transform = obj.transform;
  spec.sigmoid_scale = obj.sigmoid;
  spec.average_output = header.Find("average_output") != nullptr;
  return model_internal::BuildTreeEnsemble(std::move(info), spec, trees);
}

}  // namespace

Result<std::unique_ptr<Model>> ParseLightGbmText(std::string_view bytes, std::string_view source) {
  try {
    auto r = ParseLightGbm(bytes);
    if (!r.ok()) return r.status().WithContext(StrCat(source, " (LightGBM text)"));
    return r;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(StrCat(source, ": out of memory loading the model"));
  }
}

}  // namespace eddy
