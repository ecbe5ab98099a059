// Runs every scenario in tests/scenarios/: a pipeline, its inputs and the
// outputs it must produce. The format is described in
// tests/scenarios/README.md.

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "eddy/engine.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;
using testing::JsonSubsetDiff;
using testing::ReadLines;
using testing::SplitLines;
using testing::TempDir;

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(testing::SourceDir() + "/tests/scenarios")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

// Compares an output file with the expected JSON lines (each expected line is
// a subset of the actual line at the same position; counts must match).
// CSV outputs (files ending in .csv) compare line by line, exactly.
void ExpectLines(const std::string& what, const std::vector<std::string>& actual,
                 const std::string& expected_text, bool csv = false) {
  std::vector<std::string> expected;
  for (auto& l : SplitLines(expected_text)) {
    if (!l.empty() && l[0] != '#') expected.push_back(l);
  }
  EXPECT_EQ(actual.size(), expected.size()) << what << ": wrong number of records";
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    std::string diff = csv ? (expected[i] == actual[i] ? "" : "lines differ")
                           : JsonSubsetDiff(expected[i], actual[i]);
    EXPECT_EQ(diff, "") << what << " record " << i << "\n  actual:   " << actual[i]
                        << "\n  expected: " << expected[i];
  }
  if (actual.size() > expected.size()) {
    for (size_t i = expected.size(); i < actual.size(); ++i) {
      ADD_FAILURE() << what << ": unexpected record " << i << ": " << actual[i];
    }
  }
}

TEST_P(ScenarioTest, ProducesExpectedOutputs) {
  YAML::Node scenario = YAML::LoadFile(GetParam());
  TempDir dir;
  if (scenario["inputs"]) {
    for (const auto& kv : scenario["inputs"]) {
      testing::WriteFile(dir.File(kv.first.as<std::string>()), kv.second.as<std::string>());
    }
  }
  std::string pipeline = dir.File("pipeline.yaml");
  testing::WriteFile(pipeline, scenario["pipeline"].as<std::string>());

  YAML::Node expect = scenario["expect"];
  if (expect["error"]) {
    auto engine = Engine::Open(pipeline, EngineOptions{.progress = false});
    ASSERT_FALSE(engine.ok()) << "expected the pipeline to be rejected";
    EXPECT_NE(engine.status().message().find(expect["error"].as<std::string>()), std::string::npos)
        << engine.status().message();
    return;
  }
  auto engine = Engine::Open(pipeline, EngineOptions{.progress = false});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  Status s = (*engine)->Run();
  ASSERT_TRUE(s.ok()) << s.ToString();
  RunSummary summary = (*engine)->Summary();

  // Every other key of `expect` names an output file.
  for (const auto& kv : expect) {
    const std::string output = kv.first.as<std::string>();
    if (output == "summary" || output == "models" || output == "feedback" || output == "error") {
      continue;
    }
    std::string file = scenario["outputs"] && scenario["outputs"][output]
                           ? scenario["outputs"][output].as<std::string>()
                           : "out/" + output + ".jsonl";
    const bool csv = file.size() > 4 && file.compare(file.size() - 4, 4, ".csv") == 0;
    ExpectLines(output, ReadLines(dir.File(file)),
                kv.second.IsNull() ? std::string() : kv.second.as<std::string>(), csv);
  }
  if (expect["models"]) {
    for (const auto& m : expect["models"]) {
      const std::string name = m.first.as<std::string>();
      const ModelSummary* found = nullptr;
      for (const auto& ms : summary.models) {
        if (ms.name == name) found = &ms;
      }
      ASSERT_NE(found, nullptr) << "no model " << name << " in summary";
      for (const auto& kv : m.second) {
        const std::string key = kv.first.as<std::string>();
        if (key == "kind") {
          EXPECT_EQ(found->kind, kv.second.as<std::string>()) << name << ".kind";
          continue;
        }
        const int64_t want = kv.second.as<int64_t>();
        const int64_t got = key == "version"     ? found->version
                            : key == "scored"    ? static_cast<int64_t>(found->scored)
                            : key == "positives" ? static_cast<int64_t>(found->positives)
                            : key == "skipped"   ? static_cast<int64_t>(found->skipped)
                            : key == "labelled"  ? static_cast<int64_t>(found->labelled)
                            : key == "updates"   ? static_cast<int64_t>(found->updates)
                                                 : INT64_MIN;
        ASSERT_NE(got, INT64_MIN) << "unknown model summary key " << key;
        EXPECT_EQ(got, want) << name << "." << key;
      }
    }
  }
  if (expect["feedback"]) {
    const FeedbackSummary& f = summary.feedback;
    for (const auto& kv : expect["feedback"]) {
      const std::string key = kv.first.as<std::string>();
      const uint64_t want = kv.second.as<uint64_t>();
      const uint64_t got = key == "labels"          ? f.labels
                           : key == "matched"       ? f.matched
                           : key == "pending"       ? f.pending
                           : key == "no_prediction" ? f.no_prediction
                           : key == "after_horizon" ? f.after_horizon
                           : key == "duplicates"    ? f.duplicates
                                                    : UINT64_MAX;
      ASSERT_NE(got, UINT64_MAX) << "unknown feedback summary key " << key;
      EXPECT_EQ(got, want) << "feedback." << key;
    }
  }
  if (expect["summary"]) {
    for (const auto& src : expect["summary"]) {
      std::string name = src.first.as<std::string>();
      const SourceSummary* found = nullptr;
      for (const auto& ss : summary.sources) {
        if (ss.name == name) found = &ss;
      }
      ASSERT_NE(found, nullptr) << "no source " << name << " in summary";
      for (const auto& kv : src.second) {
        std::string key = kv.first.as<std::string>();
        if (key == "watermark") {
          EXPECT_EQ(found->watermark, kv.second.as<std::string>()) << name << ".watermark";
          continue;
        }
        uint64_t want = kv.second.as<uint64_t>();
        uint64_t got = key == "records"       ? found->records
                       : key == "accepted"    ? found->accepted
                       : key == "late"        ? found->late
                       : key == "dead_letter" ? found->dead_letter
                       : key == "filtered"    ? found->filtered
                       : key == "blank"       ? found->blank
                                              : UINT64_MAX;
        ASSERT_NE(got, UINT64_MAX) << "unknown summary key " << key;
        EXPECT_EQ(got, want) << name << "." << key;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace eddy
