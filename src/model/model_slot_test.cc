// ModelSlot: feature validation, warm-up, failed loads keeping the old
// version, and readers scoring while versions are swapped.

#include "model/model_slot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/strings.h"

namespace eddy {
namespace {

// y = bias + 1 * x (+ 0 * z): the bias identifies the version.
std::shared_ptr<const Model> Linear(double bias, std::string_view second = "z") {
  auto m = ParseModel(StrCat(R"({"format": "eddy.linear", "version": 1, "link": "identity", )",
                             R"("bias": )", bias, R"(, "features": [{"name": "x", "weight": 1}, )",
                             R"({"name": ")", second, R"(", "weight": 0}]})"),
                      ModelFormat::kLinearJson);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::shared_ptr<const Model>(std::move(*m));
}

const std::vector<std::string> kProvided = {"a", "z", "x"};

TEST(ModelSlotTest, LoadsValidatesAndMapsFeatures) {
  ModelSlot slot("m");
  EXPECT_EQ(slot.Current(), nullptr);
  ASSERT_TRUE(slot.Load(Linear(10), ModelVersion(1), kProvided).ok());
  auto cur = slot.Current();
  ASSERT_NE(cur, nullptr);
  EXPECT_EQ(cur->version, ModelVersion(1));
  EXPECT_EQ(cur->input_index, (std::vector<uint32_t>{2, 1}));
  double out = 0;
  ASSERT_TRUE(
      ScoreServed(*cur, std::vector<double>{100, 7, 5}, {}, std::span<double>(&out, 1)).ok());
  EXPECT_EQ(out, 15);  // 10 + x(=5)
}

TEST(ModelSlotTest, FailedLoadKeepsTheOldVersion) {
  ModelSlot slot("m");
  ASSERT_TRUE(slot.Load(Linear(1), ModelVersion(1), kProvided).ok());
  Status s = slot.Load(Linear(2, "zz"), ModelVersion(2), kProvided);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'zz'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("did you mean 'z'"), std::string::npos) << s.message();
  EXPECT_EQ(slot.Current()->version, ModelVersion(1));
  // Warm-up rows with the wrong width are refused too.
  EXPECT_FALSE(slot.Load(Linear(3), ModelVersion(3), kProvided, std::vector<double>{1, 2, 3}).ok());
  EXPECT_EQ(slot.Current()->version, ModelVersion(1));
  EXPECT_EQ(slot.failed_loads(), 2u);
  EXPECT_EQ(slot.loads(), 1u);
}

TEST(ModelSlotTest, ReadersNeverSeeAHalfLoadedModel) {
  ModelSlot slot("m");
  ASSERT_TRUE(slot.Load(Linear(0), ModelVersion(1), kProvided).ok());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      int64_t last_version = 0;
      while (!stop.load()) {
        auto cur = slot.Current();
        // A version's score is its bias: model and version always match,
        // and versions never go backwards for one reader.
        double out = -1;
        Status s = ScoreServed(*cur, std::vector<double>{0, 0, 0}, {}, std::span<double>(&out, 1));
        if (!s.ok() || out != static_cast<double>(cur->version.value() - 1) ||
            cur->version.value() < last_version || cur->input_index.size() != 2) {
          errors.fetch_add(1);
        }
        last_version = cur->version.value();
        reads.fetch_add(1);
      }
    });
  }
  auto wait_for_reads = [&] {
    const int64_t seen = reads.load();
    while (reads.load() < seen + 4) std::this_thread::yield();
  };
  for (int v = 2; v <= 300; ++v) {
    wait_for_reads();  // readers run between swaps, whatever the scheduler does
    ASSERT_TRUE(slot.Load(Linear(v - 1), ModelVersion(v), kProvided).ok());
    if (v % 50 == 0) {
      // A failing load in the middle of it all.
      EXPECT_FALSE(slot.Load(Linear(-1, "missing"), ModelVersion(1000), kProvided).ok());
    }
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(slot.Current()->version, ModelVersion(300));
}

}  // namespace
}  // namespace eddy
