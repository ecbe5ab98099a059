// libFuzzer target: every model-file parser on arbitrary bytes. A parser may
// reject the input, but must not crash, leak, hang or trip ASan/UBSan; a
// model it accepts must score a row of missing values and a row of zeros.
//
// Build with -DEDDY_FUZZ=ON (clang) and run, e.g.:
//   build/fuzz/bin/fuzz_model_file -max_total_time=300 src/model/testdata/fuzz_seeds

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "model/online_learner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (eddy::ModelFormat f : {eddy::ModelFormat::kXGBoostJson, eddy::ModelFormat::kLightGbmText,
                              eddy::ModelFormat::kLinearJson, eddy::ModelFormat::kOnlineSnapshot}) {
    auto model = eddy::ParseModel(bytes, f, "fuzz");
    if (!model.ok()) continue;
    const eddy::Model& m = **model;
    std::vector<double> row(m.num_features(), std::numeric_limits<double>::quiet_NaN());
    std::vector<double> out(m.num_outputs());
    (void)m.Predict(row, out);
    std::fill(row.begin(), row.end(), 0.0);
    (void)m.Predict(row, out);
    (void)m.PredictBatch(row, out);
  }
  (void)eddy::DetectModelFormat(bytes);
  return 0;
}
