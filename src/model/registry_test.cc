// ModelRegistry on a temporary directory: versions, metadata and lineage,
// immutability, the live pointer, promote and rollback.

#include "model/registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/strings.h"
#include "test_util.h"

namespace eddy {
namespace {

using testing::TempDir;

std::string Linear(double bias) {
  return StrCat(R"({"format": "eddy.linear", "version": 1, "link": "identity", "bias": )", bias,
                R"(, "features": [{"name": "x", "weight": 2}, {"name": "y", "weight": 1}]})");
}

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : clock_(ProcessingTime::FromMicros(1714564800000000)) {}
  ModelRegistry Open() {
    auto r = ModelRegistry::Open(dir_.File("registry"), clock_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(*r);
  }
  TempDir dir_;
  ManualClock clock_;
};

TEST_F(RegistryTest, RegistersVersionsWithMetadata) {
  ModelRegistry reg = Open();
  Lineage lineage;
  lineage.source = "train.py@abc123";
  lineage.data_from = EventTime::FromMillis(1714000000000);
  lineage.data_to = EventTime::FromMillis(1714500000000);
  lineage.parameters = {{"max_depth", "6"}, {"eta", "0.3"}};
  lineage.metrics = {{"auc", 0.91}, {"log_loss", 0.25}};
  auto v1 = reg.Register("fraud", Linear(0.5), ModelFormat::kLinearJson, lineage);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, ModelVersion(1));
  clock_.Advance(Duration::Seconds(60));
  auto v2 = reg.Register("fraud", Linear(0.7), ModelFormat::kLinearJson, Lineage{});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, ModelVersion(2));

  auto shown = reg.Show("fraud", ModelVersion(1));
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->format, ModelFormat::kLinearJson);
  EXPECT_EQ(shown->model_file, "model.linear.json");
  EXPECT_EQ(shown->feature_names, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(shown->task, ModelTask::kRegression);
  EXPECT_EQ(shown->created_at, ProcessingTime::FromMicros(1714564800000000));
  EXPECT_EQ(shown->lineage.source, "train.py@abc123");
  EXPECT_EQ(shown->lineage.data_from, lineage.data_from);
  EXPECT_EQ(shown->lineage.data_to, lineage.data_to);
  EXPECT_EQ(shown->lineage.parameters, lineage.parameters);
  EXPECT_EQ(shown->lineage.metrics, lineage.metrics);
  EXPECT_EQ(shown->content_hash, v1->content_hash);
  EXPECT_EQ(VersionMetadataToJson(*shown), VersionMetadataToJson(*v1));

  auto versions = reg.ListVersions("fraud");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].created_at, ProcessingTime::FromMicros(1714564860000000));
  auto models = reg.ListModels();
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(*models, (std::vector<std::string>{"fraud"}));

  // Layout: <root>/<name>/<version>/{model file, metadata.json}, read-only.
  const std::string file = reg.VersionDir("fraud", ModelVersion(1)) + "/model.linear.json";
  EXPECT_EQ(testing::ReadFile(file), Linear(0.5));
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u);

  auto model = reg.Load("fraud", ModelVersion(2));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  double out = 0;
  ASSERT_TRUE((*model)->Predict(std::vector<double>{1, 1}, std::span<double>(&out, 1)).ok());
  EXPECT_EQ(out, 3.7);
}

TEST_F(RegistryTest, RejectsBadModelsAndNames) {
  ModelRegistry reg = Open();
  auto bad = reg.Register("m", "{}", ModelFormat::kLinearJson, Lineage{});
  EXPECT_FALSE(bad.ok());
  // Rejected before anything is written.
  EXPECT_EQ(reg.ListVersions("m").status().code(), StatusCode::kNotFound);
  for (std::string_view name : {"", "../etc", ".hidden", "a/b", "sp ace"}) {
    EXPECT_FALSE(reg.Register(name, Linear(0), ModelFormat::kLinearJson, Lineage{}).ok()) << name;
  }
  EXPECT_EQ(reg.Show("m", ModelVersion(9)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg.ListVersions("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, RejectsMetadataWithOutOfRangeNumbers) {
  ASSERT_TRUE(Open().Register("m", Linear(1), ModelFormat::kLinearJson, Lineage{}).ok());
  auto good = Open().Show("m", ModelVersion(1));
  ASSERT_TRUE(good.ok());
  std::string json = VersionMetadataToJson(*good);
  for (std::string_view bad : {"1e300", "-1", "1.5"}) {
    std::string edited = json;
    edited.replace(edited.find("\"version\":1"), 11, StrCat("\"version\":", bad));
    auto m = VersionMetadataFromJson(edited, "metadata.json");
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_NE(m.status().message().find("version"), std::string::npos);
  }
}

TEST_F(RegistryTest, DetectsAModifiedVersion) {
  ModelRegistry reg = Open();
  ASSERT_TRUE(reg.Register("m", Linear(1), ModelFormat::kLinearJson, Lineage{}).ok());
  const std::string file = reg.VersionDir("m", ModelVersion(1)) + "/model.linear.json";
  ::chmod(file.c_str(), 0644);
  testing::WriteFile(file, Linear(2));
  auto m = reg.Load("m", ModelVersion(1));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
}

TEST_F(RegistryTest, PromoteAndRollback) {
  ModelRegistry reg = Open();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(reg.Register("m", Linear(i), ModelFormat::kLinearJson, Lineage{}).ok());
  }
  EXPECT_EQ(reg.LiveVersion("m").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg.Rollback("m").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg.Promote("m", ModelVersion(7)).code(), StatusCode::kNotFound);

  ASSERT_TRUE(reg.Promote("m", ModelVersion(2)).ok());
  ASSERT_TRUE(reg.Promote("m", ModelVersion(4)).ok());
  EXPECT_EQ(*reg.LiveVersion("m"), ModelVersion(4));
  EXPECT_EQ(testing::ReadFile(reg.ModelDir("m") + "/live"), "4\n");
  // Rollback without a target: the newest older version that was live (2).
  auto back = reg.Rollback("m");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, ModelVersion(2));
  EXPECT_EQ(*reg.LiveVersion("m"), ModelVersion(2));
  // Rollback to any earlier version; not to a newer one.
  EXPECT_EQ(*reg.Rollback("m", ModelVersion(1)), ModelVersion(1));
  EXPECT_EQ(reg.Rollback("m", ModelVersion(3)).status().code(), StatusCode::kInvalidArgument);
  // Nothing older than 1.
  EXPECT_EQ(reg.Rollback("m").status().code(), StatusCode::kFailedPrecondition);

  auto history = reg.History("m");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].action, "promote");
  EXPECT_EQ((*history)[0].previous, ModelVersion(0));
  EXPECT_EQ((*history)[2].action, "rollback");
  EXPECT_EQ((*history)[2].version, ModelVersion(2));
  EXPECT_EQ((*history)[2].previous, ModelVersion(4));
  // No temporary files are left behind.
  for (const auto& e : std::filesystem::directory_iterator(reg.ModelDir("m"))) {
    EXPECT_FALSE(StartsWith(e.path().filename().string(), ".tmp")) << e.path();
    EXPECT_FALSE(StartsWith(e.path().filename().string(), ".live.tmp")) << e.path();
  }
}

TEST_F(RegistryTest, RegistersEveryFormat) {
  ModelRegistry reg = Open();
  for (const char* seed : {"xgb_binary_cat.json", "lgb_multiclass.txt", "learner.snapshot"}) {
    auto v = reg.RegisterFile(seed[0] == 'x' ? "x" : (seed[0] == 'l' && seed[1] == 'g' ? "l" : "o"),
                              StrCat(EDDY_MODEL_TESTDATA, "/fuzz_seeds/", seed), std::nullopt,
                              Lineage{});
    ASSERT_TRUE(v.ok()) << seed << ": " << v.status().ToString();
    auto m = reg.Load(v->name, v->version);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ((*m)->info().format, v->format);
  }
  auto x = reg.Show("x", ModelVersion(1));
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->categorical_features, (std::vector<std::string>{"c"}));
  EXPECT_EQ(x->objective, "binary:logistic");
}

}  // namespace
}  // namespace eddy
