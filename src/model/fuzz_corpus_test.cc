// Runs every model parser over the fuzz seeds and deterministic mutations of
// them (truncations, byte flips, splices), as the fuzz target
// fuzz_model_file.cc does, so that ordinary (and ASan/UBSan) test runs cover
// the parsers' error paths. Each parser must return a Status, never crash;
// accepted models must score.

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <random>

#include "base/strings.h"
#include "model/model.h"

namespace eddy {
namespace {

void TryAll(std::string_view bytes) {
  for (ModelFormat f : {ModelFormat::kXGBoostJson, ModelFormat::kLightGbmText,
                        ModelFormat::kLinearJson, ModelFormat::kOnlineSnapshot}) {
    auto m = ParseModel(bytes, f, "fuzz");
    if (!m.ok()) {
      EXPECT_FALSE(m.status().message().empty());
      continue;
    }
    std::vector<double> row((*m)->num_features(), std::numeric_limits<double>::quiet_NaN());
    std::vector<double> out((*m)->num_outputs());
    EXPECT_TRUE((*m)->Predict(row, out).ok());
    std::fill(row.begin(), row.end(), 1.0);
    EXPECT_TRUE((*m)->Predict(row, out).ok());
  }
  (void)DetectModelFormat(bytes);
}

TEST(FuzzCorpusTest, SeedsAndMutationsNeverCrash) {
  // Seeds are valid model files, except "regression-*": inputs that once
  // crashed a parser (found by the fuzzer), kept so the fix stays tested.
  std::vector<std::string> seeds;
  for (const auto& e :
       std::filesystem::directory_iterator(StrCat(EDDY_MODEL_TESTDATA, "/fuzz_seeds"))) {
    auto bytes = ReadFileBytes(e.path().string());
    ASSERT_TRUE(bytes.ok());
    if (StartsWith(e.path().filename().string(), "regression-")) {
      TryAll(*bytes);
      continue;
    }
    seeds.push_back(*bytes);
  }
  ASSERT_GE(seeds.size(), 5u);
  std::mt19937_64 rng(12345);
  for (const std::string& seed : seeds) {
    // The seed itself parses in its own format.
    auto format = DetectModelFormat(seed);
    ASSERT_TRUE(format.ok());
    auto m = ParseModel(seed, *format);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    TryAll(seed);
    for (size_t cut = 0; cut < seed.size(); cut += 1 + seed.size() / 97) {
      TryAll(std::string_view(seed).substr(0, cut));
    }
    for (int i = 0; i < 300; ++i) {
      std::string s = seed;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0:
            s[pos] = static_cast<char>(rng());
            break;
          case 1:
            s[pos] = "0123456789-.,[]{}\":eE \nN"[rng() % 25];
            break;
          case 2:
            s.erase(pos, 1 + rng() % 8);
            break;
          case 3:
            s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 16));
            break;
        }
        if (s.empty()) s = "x";
      }
      TryAll(s);
    }
  }
}

}  // namespace
}  // namespace eddy
