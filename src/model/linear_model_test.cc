// The eddy.linear format: scoring formula, missing values, hashing, exact
// round trip of weights, and errors.

#include "model/linear_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/hashing.h"

namespace eddy {
namespace {

constexpr std::string_view kModel = R"({
  "format": "eddy.linear", "version": 1, "link": "logistic", "bias": -0.5,
  "features": [
    {"name": "amount", "weight": 0.25, "mean": 10, "scale": 2},
    {"name": "age", "weight": -1.5}
  ],
  "hashing": {"fields": ["country"], "bits": 4, "seed": 0, "signed": false,
              "weights": [[3, 0.75]]}
})";

TEST(LinearModelTest, ScoresWithTheDocumentedFormula) {
  auto m = ParseModel(kModel, ModelFormat::kLinearJson);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Model& model = **m;
  EXPECT_EQ(model.info().feature_names, (std::vector<std::string>{"amount", "age"}));
  EXPECT_EQ(model.info().hashed_fields, (std::vector<std::string>{"country"}));
  EXPECT_EQ(model.info().output, OutputKind::kProbability);
  double out = 0;
  ASSERT_TRUE(model.Predict(std::vector<double>{14, 0.5}, std::span<double>(&out, 1)).ok());
  const double margin = -0.5 + 0.25 * ((14 - 10) / 2.0) + -1.5 * 0.5;
  EXPECT_EQ(out, 1 / (1 + std::exp(-margin)));
  // A missing feature contributes nothing.
  ASSERT_TRUE(model.Predict(std::vector<double>{NAN, 0.5}, std::span<double>(&out, 1)).ok());
  EXPECT_EQ(out, 1 / (1 + std::exp(-(-0.5 - 0.75))));
  // Hashed: only the value landing on index 3 has a weight.
  FeatureHasher h(4, 0, false);
  std::string hit;
  for (int i = 0; hit.empty(); ++i) {
    if (h.Hash("country", std::to_string(i)).index == 3) hit = std::to_string(i);
  }
  std::vector<CategoricalValue> cats = {{"country", hit}};
  ASSERT_TRUE(model.Predict(std::vector<double>{NAN, NAN}, cats, std::span<double>(&out, 1)).ok());
  EXPECT_EQ(out, 1 / (1 + std::exp(-(-0.5 + 0.75))));
}

TEST(LinearModelTest, JsonRoundTripIsExact) {
  LinearWeights w;
  w.link = Link::kIdentity;
  w.bias = 0.1;
  w.feature_names = {"a", "b"};
  w.weights = {1.0 / 3, -2.0 / 7};
  w.means = {std::nextafter(5.0, 6.0), 0};
  w.scales = {3.3, 1};
  w.hashed_fields = {"f"};
  w.hash_bits = 3;
  w.hash_seed = 4000000000u;
  w.signed_hash = true;
  w.hashed_weights = {0, -0.0, 1e-300, 0, 0, 0, 2.5, 0};
  auto back = LinearWeightsFromJson(LinearWeightsToJson(w));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(LinearWeightsToJson(*back), LinearWeightsToJson(w));
  EXPECT_EQ(back->weights, w.weights);
  EXPECT_EQ(back->means, w.means);
  EXPECT_EQ(back->hash_seed, w.hash_seed);
  EXPECT_TRUE(std::signbit(back->hashed_weights[1]));
  EXPECT_EQ(back->hashed_weights[2], 1e-300);
}

TEST(LinearModelTest, RejectsBadFiles) {
  auto err = [](std::string_view json) {
    auto m = ParseModel(json, ModelFormat::kLinearJson, "lin.json");
    EXPECT_FALSE(m.ok()) << json;
    return m.ok() ? std::string() : m.status().message();
  };
  EXPECT_NE(err(R"({"format": "other", "version": 1})").find("format"), std::string::npos);
  EXPECT_NE(err(R"({"format": "eddy.linear", "version": 2, "link": "identity", "features": []})")
                .find("version"),
            std::string::npos);
  EXPECT_NE(err(R"({"format": "eddy.linear", "version": 1, "link": "probit", "features": []})")
                .find("link"),
            std::string::npos);
  EXPECT_NE(err(R"({"format": "eddy.linear", "version": 1, "link": "identity",
                    "features": [{"name": "a", "weight": 1, "scale": 0}]})")
                .find("scale"),
            std::string::npos);
  EXPECT_NE(err(R"({"format": "eddy.linear", "version": 1, "link": "identity",
                    "features": [{"name": "a"}]})")
                .find("features[0].weight"),
            std::string::npos);
  EXPECT_NE(err(R"({"format": "eddy.linear", "version": 1, "link": "identity", "features": [],
                    "hashing": {"bits": 30}})")
                .find("bits"),
            std::string::npos);
  EXPECT_NE(err(R"({"format": "eddy.linear", "version": 1, "link": "identity", "features": [],
                    "hashing": {"bits": 2, "weights": [[4, 1.0]]}})")
                .find("index 4"),
            std::string::npos);
}

}  // namespace
}  // namespace eddy
