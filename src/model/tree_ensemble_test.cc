// Tree-ensemble evaluation on hand-built tiny XGBoost JSON and LightGBM text
// models: comparison rules at float32 boundaries, missing values in both
// directions, categorical splits in and out of the set, multiclass layout,
// base scores, and rejection of malformed files with a useful message.
// (Parity with the real libraries is tests/integration/model/test_parity.py.)

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/strings.h"
#include "model/model.h"
#include "model/tree_loaders.h"

namespace eddy {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One XGBoost tree: node arrays as in the file.
struct XTree {
  std::vector<int> left, right, feature, default_left, split_type;
  std::vector<double> cond;
  std::vector<int> cat_nodes, cat_segments, cat_sizes, categories;
};

std::string Join(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) StrAppend(s, i ? "," : "", v[i]);
  return s;
}
std::string Join(const std::vector<double>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    if (std::isnan(v[i])) {
      s += "NaN";
    } else {
      AppendDouble(s, v[i]);
    }
  }
  return s;
}

std::string XgbJson(const std::vector<XTree>& trees, std::string_view objective,
                    std::string_view base_score, int num_feature, int num_class = 0,
                    std::vector<int> tree_info = {}, std::string_view types = "") {
  std::string ts;
  for (size_t t = 0; t < trees.size(); ++t) {
    const XTree& x = trees[t];
    std::vector<int> split_type = x.split_type;
    if (split_type.empty()) split_type.assign(x.left.size(), 0);
    StrAppend(ts, t ? "," : "", R"({"left_children":[)", Join(x.left), R"(],"right_children":[)",
              Join(x.right), R"(],"split_indices":[)", Join(x.feature), R"(],"split_conditions":[)",
              Join(x.cond), R"(],"default_left":[)", Join(x.default_left), R"(],"split_type":[)",
              Join(split_type), R"(],"categories":[)", Join(x.categories),
              R"(],"categories_nodes":[)", Join(x.cat_nodes), R"(],"categories_segments":[)",
              Join(x.cat_segments), R"(],"categories_sizes":[)", Join(x.cat_sizes), R"(],"id":)", t,
              R"(,"tree_param":{"num_nodes":")", x.left.size(), R"(","size_leaf_vector":"1"}})");
  }
  if (tree_info.empty()) tree_info.assign(trees.size(), 0);
  return StrCat(R"({"learner":{"feature_names":[],"feature_types":[)", types,
                R"(],"gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":)",
                R"({"num_trees":")", trees.size(), R"("},"tree_info":[)", Join(tree_info),
                R"(],"trees":[)", ts, R"(]}},"learner_model_param":{"base_score":")", base_score,
                R"(","num_class":")", num_class, R"(","num_feature":")", num_feature,
                R"(","num_target":"1"},"objective":{"name":")", objective,
                R"("}},"version":[2,1,4]})");
}

std::unique_ptr<Model> MustLoad(const std::string& bytes, ModelFormat f) {
  auto m = ParseModel(bytes, f, "test");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok()) return nullptr;
  return std::move(*m);
}

double Score(const Model& m, std::vector<double> row, size_t output = 0) {
  std::vector<double> out(m.num_outputs());
  Status s = m.Predict(row, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // The batch path must agree bit for bit.
  std::vector<double> batch(m.num_outputs());
  EXPECT_TRUE(m.PredictBatch(row, batch).ok());
  EXPECT_EQ(std::bit_cast<uint64_t>(batch[output]), std::bit_cast<uint64_t>(out[output]));
  return out[output];
}

// A stump on feature 0: left leaf 1, right leaf 2 (raw regression).
XTree Stump(double threshold, bool default_left) {
  return XTree{{1, -1, -1}, {2, -1, -1},          {0, 0, 0}, {default_left ? 1 : 0, 0, 0},
               {},          {threshold, 1.0, 2.0}};
}

TEST(XGBoostTest, ComparesFloat32OfInputWithThreshold) {
  // 0.1 is not a float32; XGBoost keeps the threshold as float(0.1) and
  // compares float(x) < float(0.1).
  const float t = 0.1f;
  auto m =
      MustLoad(XgbJson({Stump(0.1, false)}, "reg:squarederror", "0", 1), ModelFormat::kXGBoostJson);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(Score(*m, {static_cast<double>(t)}), 2.0);  // equal -> right
  // A double just below float(0.1) that still rounds to it: right.
  const double just_below = std::nextafter(static_cast<double>(t), 0.0);
  ASSERT_EQ(static_cast<float>(just_below), t);
  EXPECT_EQ(Score(*m, {just_below}), 2.0);
  // The float32 below it: left.
  EXPECT_EQ(Score(*m, {static_cast<double>(std::nextafter(t, 0.0f))}), 1.0);
  // 0.1 as a double is above float(0.1)? float(0.1) > 0.1, so double 0.1
  // rounds to float(0.1): right, although 0.1 < float(0.1) in double.
  ASSERT_LT(0.1, static_cast<double>(t));
  EXPECT_EQ(Score(*m, {0.1}), 2.0);
}

TEST(XGBoostTest, MissingFollowsDefaultDirectionBothWays) {
  auto left =
      MustLoad(XgbJson({Stump(0.5, true)}, "reg:squarederror", "0", 1), ModelFormat::kXGBoostJson);
  auto right =
      MustLoad(XgbJson({Stump(0.5, false)}, "reg:squarederror", "0", 1), ModelFormat::kXGBoostJson);
  ASSERT_NE(left, nullptr);
  ASSERT_NE(right, nullptr);
  EXPECT_EQ(Score(*left, {kNaN}), 1.0);
  EXPECT_EQ(Score(*right, {kNaN}), 2.0);
  // Infinities are values, not missing.
  EXPECT_EQ(Score(*left, {std::numeric_limits<double>::infinity()}), 2.0);
  EXPECT_EQ(Score(*right, {-std::numeric_limits<double>::infinity()}), 1.0);
}

TEST(XGBoostTest, CategoricalSetGoesRight) {
  // Node 0 splits feature 1 (categorical) on {1, 3, 40}; feature 0 unused.
  XTree t{{1, -1, -1}, {2, -1, -1}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {kNaN, 10.0, 20.0}};
  t.cat_nodes = {0};
  t.cat_segments = {0};
  t.cat_sizes = {3};
  t.categories = {1, 3, 40};
  auto m = MustLoad(XgbJson({t}, "reg:squarederror", "0", 2, 0, {}, R"("float","c")"),
                    ModelFormat::kXGBoostJson);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->info().categorical[1]);
  EXPECT_EQ(Score(*m, {0, 1}), 20.0);  // in the set: right
  EXPECT_EQ(Score(*m, {0, 3}), 20.0);
  EXPECT_EQ(Score(*m, {0, 40}), 20.0);  // second bitset word
  EXPECT_EQ(Score(*m, {0, 2}), 10.0);   // not in the set: left
  EXPECT_EQ(Score(*m, {0, 0}), 10.0);
  EXPECT_EQ(Score(*m, {0, 1000}), 10.0);  // past the bitset: left
  EXPECT_EQ(Score(*m, {0, 1.7}), 20.0);   // truncates to 1
  EXPECT_EQ(Score(*m, {0, -1}), 10.0);    // invalid (negative): left
  EXPECT_EQ(Score(*m, {0, -0.5}), 10.0);
  EXPECT_EQ(Score(*m, {0, 16777216.0}), 10.0);  // >= 2^24: invalid, left
  EXPECT_EQ(Score(*m, {0, kNaN}), 10.0);        // missing: default (left)
}

TEST(XGBoostTest, LogisticBaseScoreIsAProbability) {
  // No trees' worth of margin: the score is sigmoid(logit(base_score)).
  XTree zero{{-1}, {-1}, {0}, {0}, {}, {0.0}};
  for (std::string_view base : {"5E-1", "[2E-1]", "2.5E-1"}) {
    auto m = MustLoad(XgbJson({zero}, "binary:logistic", base, 1), ModelFormat::kXGBoostJson);
    ASSERT_NE(m, nullptr);
    const double p = base == "5E-1" ? 0.5 : (base == "[2E-1]" ? 0.2 : 0.25);
    EXPECT_NEAR(Score(*m, {0}), p, 1e-7) << base;
  }
  // Regression: base_score is added as is.
  auto reg = MustLoad(XgbJson({zero}, "reg:squarederror", "1.5E0", 1), ModelFormat::kXGBoostJson);
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(Score(*reg, {0}), 1.5);
  // A probability outside (0, 1) is an error naming the field.
  auto bad = ParseModel(XgbJson({zero}, "binary:logistic", "1.5", 1), ModelFormat::kXGBoostJson);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("base_score"), std::string::npos);
}

TEST(XGBoostTest, SumsInFloat32) {
  // 1e8 + 1 in float32 is 1e8: XGBoost adds leaves in float32.
  XTree a{{-1}, {-1}, {0}, {0}, {}, {1e8}};
  XTree b{{-1}, {-1}, {0}, {0}, {}, {1.0}};
  auto m = MustLoad(XgbJson({a, b}, "reg:squarederror", "0", 1), ModelFormat::kXGBoostJson);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(Score(*m, {0}), 1e8);
}

TEST(XGBoostTest, MulticlassTreesAddToTheirClass) {
  // 2 rounds x 3 classes; tree_info gives each tree's class.
  std::vector<XTree> trees;
  const double leaf[6] = {1.0, 0.0, -1.0, 0.5, 0.0, -0.5};
  for (double v : leaf) trees.push_back(XTree{{-1}, {-1}, {0}, {0}, {}, {v}});
  auto prob = MustLoad(XgbJson(trees, "multi:softprob", "5E-1", 1, 3, {0, 1, 2, 0, 1, 2}),
                       ModelFormat::kXGBoostJson);
  ASSERT_NE(prob, nullptr);
  ASSERT_EQ(prob->num_outputs(), 3u);
  std::vector<double> out(3);
  ASSERT_TRUE(prob->Predict(std::vector<double>{0}, out).ok());
  // Margins 0.5 + {1.5, 0, -1.5}.
  const double e0 = std::exp(0.0), e1 = std::exp(-1.5), e2 = std::exp(-3.0);
  EXPECT_NEAR(out[0], e0 / (e0 + e1 + e2), 1e-7);
  EXPECT_NEAR(out[1], e1 / (e0 + e1 + e2), 1e-7);
  EXPECT_NEAR(out[2], e2 / (e0 + e1 + e2), 1e-7);
  EXPECT_NEAR(out[0] + out[1] + out[2], 1.0, 1e-6);

  auto index = MustLoad(XgbJson(trees, "multi:softmax", "5E-1", 1, 3, {2, 1, 0, 2, 1, 0}),
                        ModelFormat::kXGBoostJson);
  ASSERT_NE(index, nullptr);
  ASSERT_EQ(index->num_outputs(), 1u);
  EXPECT_EQ(index->info().output, OutputKind::kClassIndex);
  EXPECT_EQ(Score(*index, {0}), 2.0);  // class 2 got the +1.5
}

TEST(XGBoostTest, DefaultFeatureNames) {
  auto m =
      MustLoad(XgbJson({Stump(0, false)}, "reg:squarederror", "0", 3), ModelFormat::kXGBoostJson);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->info().feature_names, (std::vector<std::string>{"f0", "f1", "f2"}));
  EXPECT_EQ(m->info().content_hash.size(), 32u);
}

void ExpectError(const std::string& bytes, ModelFormat f, StatusCode code,
                 std::vector<std::string_view> parts) {
  auto m = ParseModel(bytes, f, "m.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), code) << m.status().ToString();
  for (std::string_view p : parts) {
    EXPECT_NE(m.status().message().find(p), std::string::npos)
        << "missing '" << p << "' in: " << m.status().message();
  }
}

TEST(XGBoostTest, RejectsMalformedFilesNamingThePlace) {
  XTree bad_child = Stump(0.5, false);
  bad_child.right[0] = 7;
  ExpectError(XgbJson({Stump(0.5, false), bad_child}, "reg:squarederror", "0", 1),
              ModelFormat::kXGBoostJson, StatusCode::kInvalidArgument,
              {"m.json", "trees[1]", "node 0", "out of range"});
  XTree bad_feature = Stump(0.5, false);
  bad_feature.feature[0] = 5;
  ExpectError(XgbJson({bad_feature}, "reg:squarederror", "0", 2), ModelFormat::kXGBoostJson,
              StatusCode::kInvalidArgument, {"split_indices[0]", "feature 5"});
  XTree cycle{{1, 0, -1}, {2, 2, -1}, {0, 0, 0}, {0, 0, 0}, {}, {0, 0, 1}};
  ExpectError(XgbJson({cycle}, "reg:squarederror", "0", 1), ModelFormat::kXGBoostJson,
              StatusCode::kInvalidArgument, {"tree 0", "reached twice"});
  ExpectError(XgbJson({Stump(0.5, false)}, "rank:pairwise", "0", 1), ModelFormat::kXGBoostJson,
              StatusCode::kUnimplemented, {"rank:pairwise"});
  ExpectError(R"({"learner":{}})", ModelFormat::kXGBoostJson, StatusCode::kInvalidArgument,
              {"learner_model_param", "missing"});
  ExpectError("{\"learner\": [1, 2", ModelFormat::kXGBoostJson, StatusCode::kInvalidArgument,
              {"invalid JSON"});
  std::string gblinear = XgbJson({Stump(0.5, false)}, "reg:squarederror", "0", 1);
  gblinear.replace(gblinear.find("\"gbtree\""), 8, "\"gblinear\"");
  ExpectError(gblinear, ModelFormat::kXGBoostJson, StatusCode::kUnimplemented, {"gblinear"});
}

// --------------------------------------------------------------------------
// LightGBM

std::string LgbModel(std::string_view objective, int num_class, int max_feature_idx,
                     const std::vector<std::string>& trees, std::string_view extra = "") {
  std::string out =
      StrCat("tree\nversion=v4\nnum_class=", num_class, "\nnum_tree_per_iteration=", num_class,
             "\nlabel_index=0\nmax_feature_idx=", max_feature_idx, "\nobjective=", objective, "\n",
             extra, "\n");
  for (size_t t = 0; t < trees.size(); ++t) StrAppend(out, "Tree=", t, "\n", trees[t], "\n\n");
  out += "end of trees\n\nfeature_importances:\n\nparameters:\nend of parameters\n";
  return out;
}

// A stump on feature 0: leaf 0 (left) = 1, leaf 1 (right) = 2.
std::string LgbStump(std::string_view threshold, int decision_type) {
  return StrCat("num_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=", threshold,
                "\ndecision_type=", decision_type,
                "\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\n"
                "leaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\n"
                "is_linear=0\nshrinkage=1");
}

TEST(LightGbmTest, LessOrEqualInDouble) {
  auto m = MustLoad(LgbModel("regression", 1, 0, {LgbStump("0.10000000000000001", 0)}),
                    ModelFormat::kLightGbmText);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(Score(*m, {0.1}), 1.0);  // equal: left
  EXPECT_EQ(Score(*m, {std::nextafter(0.1, 1.0)}), 2.0);
  EXPECT_EQ(Score(*m, {std::nextafter(0.1, 0.0)}), 1.0);
}

TEST(LightGbmTest, MissingTypes) {
  // decision_type: bit 1 default_left, bits 2-3 missing type.
  const int kNone = 0, kZero = 1 << 2, kNan = 2 << 2, kDefaultLeft = 2;
  auto none =
      MustLoad(LgbModel("regression", 1, 0, {LgbStump("-0.5", kNone)}), ModelFormat::kLightGbmText);
  auto zero_left = MustLoad(LgbModel("regression", 1, 0, {LgbStump("-0.5", kZero | kDefaultLeft)}),
                            ModelFormat::kLightGbmText);
  auto nan_left = MustLoad(LgbModel("regression", 1, 0, {LgbStump("0.5", kNan | kDefaultLeft)}),
                           ModelFormat::kLightGbmText);
  auto nan_right =
      MustLoad(LgbModel("regression", 1, 0, {LgbStump("0.5", kNan)}), ModelFormat::kLightGbmText);
  ASSERT_TRUE(none && zero_left && nan_left && nan_right);
  // None: NaN is 0, compared normally (0 > -0.5: right).
  EXPECT_EQ(Score(*none, {kNaN}), 2.0);
  EXPECT_EQ(Score(*none, {-1.0}), 1.0);
  // Zero: NaN becomes 0, and 0 (or |x| <= 1e-35) takes the default.
  EXPECT_EQ(Score(*zero_left, {kNaN}), 1.0);
  EXPECT_EQ(Score(*zero_left, {0.0}), 1.0);
  EXPECT_EQ(Score(*zero_left, {1e-36}), 1.0);
  EXPECT_EQ(Score(*zero_left, {-1e-36}), 1.0);
  EXPECT_EQ(Score(*zero_left, {1e-30}), 2.0);
  // NaN: only NaN takes the default; 0 is compared.
  EXPECT_EQ(Score(*nan_left, {kNaN}), 1.0);
  EXPECT_EQ(Score(*nan_right, {kNaN}), 2.0);
  EXPECT_EQ(Score(*nan_right, {0.0}), 1.0);
}

TEST(LightGbmTest, CategoricalBitsetGoesLeft) {
  // One categorical split on feature 0 with categories {0, 2, 33}: words
  // 0b101 and 0b10 (bit 1 of the second word = 33).
  const std::string tree =
      "num_leaves=2\nnum_cat=1\nsplit_feature=0\nsplit_gain=1\nthreshold=0\ndecision_type=1\n"
      "left_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=0 2\ncat_threshold=5 2\n"
      "is_linear=0\nshrinkage=1";
  auto m = MustLoad(LgbModel("regression", 1, 0, {tree}, "feature_infos=0:2:33"),
                    ModelFormat::kLightGbmText);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->info().categorical[0]);
  EXPECT_EQ(Score(*m, {0}), 1.0);  // in the set: left
  EXPECT_EQ(Score(*m, {2}), 1.0);
  EXPECT_EQ(Score(*m, {33}), 1.0);
  EXPECT_EQ(Score(*m, {1}), 2.0);     // not in the set: right
  EXPECT_EQ(Score(*m, {64}), 2.0);    // past the bitset
  EXPECT_EQ(Score(*m, {2.9}), 1.0);   // truncates to 2
  EXPECT_EQ(Score(*m, {-0.5}), 1.0);  // truncates to 0, as LightGBM's int cast does
  EXPECT_EQ(Score(*m, {-1}), 2.0);    // negative: right
  EXPECT_EQ(Score(*m, {kNaN}), 2.0);  // NaN: right
  EXPECT_EQ(Score(*m, {3e9}), 2.0);   // beyond int: right
}

TEST(LightGbmTest, MulticlassTreeOrderAndSoftmax) {
  auto leaf = [](double v) {
    return StrCat(
        "num_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\n"
        "decision_type=\nleft_child=\nright_child=\nleaf_value=",
        v, "\nis_linear=0\nshrinkage=1");
  };
  // Two iterations of three classes: tree i adds to class i % 3.
  auto m = MustLoad(LgbModel("multiclass num_class:3", 3, 0,
                             {leaf(1), leaf(0), leaf(-1), leaf(1), leaf(0), leaf(-1)}),
                    ModelFormat::kLightGbmText);
  ASSERT_NE(m, nullptr);
  std::vector<double> out(3);
  ASSERT_TRUE(m->Predict(std::vector<double>{0}, out).ok());
  const double e0 = 1.0, e1 = std::exp(-2.0), e2 = std::exp(-4.0);
  EXPECT_DOUBLE_EQ(out[0], e0 / (e0 + e1 + e2));
  EXPECT_DOUBLE_EQ(out[2], e2 / (e0 + e1 + e2));
}

TEST(LightGbmTest, BinarySigmoidParameter) {
  auto m =
      MustLoad(LgbModel("binary sigmoid:2", 1, 0, {LgbStump("0", 0)}), ModelFormat::kLightGbmText);
  ASSERT_NE(m, nullptr);
  EXPECT_DOUBLE_EQ(Score(*m, {-1}), 1.0 / (1.0 + std::exp(-2.0 * 1.0)));
}

TEST(LightGbmTest, RejectsMalformedFilesNamingThePlace) {
  std::string no_leaf = LgbStump("0", 0);
  no_leaf.replace(no_leaf.find("leaf_value=1 2"), 14, "leaf_value=1");
  ExpectError(LgbModel("regression", 1, 0, {no_leaf}), ModelFormat::kLightGbmText,
              StatusCode::kInvalidArgument, {"Tree=0", "leaf_value", "expected 2"});
  std::string bad_child = LgbStump("0", 0);
  bad_child.replace(bad_child.find("right_child=-2"), 14, "right_child=-9");
  ExpectError(LgbModel("regression", 1, 0, {LgbStump("0", 0), bad_child}),
              ModelFormat::kLightGbmText, StatusCode::kInvalidArgument,
              {"Tree=1", "node 0", "out of range"});
  std::string bad_feature = LgbStump("0", 0);
  bad_feature.replace(bad_feature.find("split_feature=0"), 15, "split_feature=3");
  ExpectError(LgbModel("regression", 1, 0, {bad_feature}), ModelFormat::kLightGbmText,
              StatusCode::kInvalidArgument, {"split_feature 3"});
  std::string linear = LgbStump("0", 0);
  linear.replace(linear.find("is_linear=0"), 11, "is_linear=1");
  ExpectError(LgbModel("regression", 1, 0, {linear}), ModelFormat::kLightGbmText,
              StatusCode::kUnimplemented, {"linear trees"});
  ExpectError(LgbModel("lambdarank", 1, 0, {LgbStump("0", 0)}), ModelFormat::kLightGbmText,
              StatusCode::kUnimplemented, {"lambdarank"});
  std::string truncated = LgbModel("regression", 1, 0, {LgbStump("0", 0)});
  truncated.resize(truncated.find("end of trees"));
  ExpectError(truncated, ModelFormat::kLightGbmText, StatusCode::kInvalidArgument, {"truncated"});
  ExpectError("not a model", ModelFormat::kLightGbmText, StatusCode::kInvalidArgument, {"line 1"});
}

TEST(ModelTest, PredictChecksSpanSizes) {
  auto m = MustLoad(LgbModel("regression", 1, 1, {LgbStump("0", 0)}), ModelFormat::kLightGbmText);
  ASSERT_NE(m, nullptr);
  std::vector<double> out(1);
  EXPECT_FALSE(m->Predict(std::vector<double>{1.0}, out).ok());
  EXPECT_FALSE(m->Predict(std::vector<double>{1.0, 2.0}, std::span<double>()).ok());
  EXPECT_FALSE(m->PredictBatch(std::vector<double>{1, 2, 3}, out).ok());
  std::vector<double> rows = {-1, 0, 1, 0, kNaN, 0};
  std::vector<double> batch(3);
  ASSERT_TRUE(m->PredictBatch(rows, batch).ok());
  EXPECT_EQ(batch, (std::vector<double>{1, 2, 1}));
}

TEST(ModelTest, DetectsFormats) {
  EXPECT_EQ(*DetectModelFormat(XgbJson({Stump(0, false)}, "reg:squarederror", "0", 1)),
            ModelFormat::kXGBoostJson);
  EXPECT_EQ(*DetectModelFormat(LgbModel("regression", 1, 0, {LgbStump("0", 0)})),
            ModelFormat::kLightGbmText);
  EXPECT_EQ(*DetectModelFormat(R"({"format": "eddy.linear", "version": 1})"),
            ModelFormat::kLinearJson);
  EXPECT_EQ(*DetectModelFormat("EDDYOLRN...."), ModelFormat::kOnlineSnapshot);
  EXPECT_FALSE(DetectModelFormat("hello").ok());
}

}  // namespace
}  // namespace eddy
