// Model benchmarks (Google Benchmark).
//
// Tree ensembles: a random model with the structure of the DESIGN.md target
// (200 complete trees of depth 6 = 63 splits + 64 leaves each, over 30
// features) is written in each library's own file format (XGBoost JSON,
// LightGBM text) and loaded through Eddy's loaders, so the benchmark runs the
// same code as a real model file. Rows are standard normal with 5% missing.
// To benchmark a real trained model instead, set EDDY_BENCH_XGB_MODEL and/or
// EDDY_BENCH_LGB_MODEL to its path (tests/integration/model/make_bench_models.py
// writes such files with the venv's xgboost and lightgbm); the "File"
// benchmarks then run on it.
//
// Online learner: logistic regression, 20 numeric + 5 hashed categorical
// features (hash_bits 18), one Learn call per example, per optimizer.
//
//   build/release/bin/model_bench --benchmark_min_time=1s

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"
#include "model/model.h"
#include "model/online_learner.h"

namespace eddy {
namespace {

constexpr int kTrees = 200;
constexpr int kDepth = 6;
constexpr int kFeatures = 30;
constexpr size_t kRows = 4096;

// Writes a random complete tree of depth kDepth in XGBoost's JSON layout
// (nodes numbered breadth-first, as XGBoost numbers them).
void AppendXgbTree(std::string& out, int id, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> feature(0, kFeatures - 1);
  std::bernoulli_distribution coin;
  const int splits = (1 << kDepth) - 1, nodes = (1 << (kDepth + 1)) - 1;
  std::string left, right, idx, cond, dleft, zeros, types;
  for (int i = 0; i < nodes; ++i) {
    const char* sep = i == 0 ? "" : ",";
    const bool leaf = i >= splits;
    StrAppend(left, sep, leaf ? -1 : 2 * i + 1);
    StrAppend(right, sep, leaf ? -1 : 2 * i + 2);
    StrAppend(idx, sep, leaf ? 0 : feature(rng));
    StrAppend(cond, sep,
              static_cast<double>(static_cast<float>(leaf ? 0.1 * normal(rng) : normal(rng))));
    StrAppend(dleft, sep, coin(rng) ? 1 : 0);
    StrAppend(zeros, sep, "0");
    StrAppend(types, sep, "0");
  }
  StrAppend(out, R"({"base_weights":[)", zeros, R"(],"categories":[],"categories_nodes":[],)",
            R"("categories_segments":[],"categories_sizes":[],"default_left":[)", dleft,
            R"(],"id":)", id, R"(,"left_children":[)", left, R"(],"loss_changes":[)", zeros,
            R"(],"parents":[)", zeros, R"(],"right_children":[)", right,
            R"(],"split_conditions":[)", cond, R"(],"split_indices":[)", idx, R"(],"split_type":[)",
            types, R"(],"sum_hessian":[)", zeros,
            R"(],"tree_param":{"num_deleted":"0","num_feature":")", kFeatures, R"(","num_nodes":")",
            nodes, R"(","size_leaf_vector":"1"}})");
}

std::string RandomXgbModel() {
  std::mt19937_64 rng(42);
  std::string trees, info;
  for (int t = 0; t < kTrees; ++t) {
    if (t > 0) {
      trees.push_back(',');
      info.push_back(',');
    }
    AppendXgbTree(trees, t, rng);
    info.push_back('0');
  }
  return StrCat(R"({"learner":{"attributes":{},"feature_names":[],"feature_types":[],)",
                R"("gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1",)",
                R"("num_trees":")", kTrees, R"("},"iteration_indptr":[],"tree_info":[)", info,
                R"(],"trees":[)", trees, R"(]},"name":"gbtree"},)",
                R"("learner_model_param":{"base_score":"5E-1","boost_from_average":"1",)",
                R"("num_class":"0","num_feature":")", kFeatures, R"(","num_target":"1"},)",
                R"("objective":{"name":"binary:logistic","reg_loss_param":)",
                R"({"scale_pos_weight":"1"}}},"version":[2,1,4]})");
}

// A random complete tree of depth kDepth in LightGBM's text layout: internal
// nodes 0..62 breadth-first, leaves numbered left to right (child ~leaf).
std::string RandomLgbModel() {
  std::mt19937_64 rng(43);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> feature(0, kFeatures - 1);
  std::uniform_int_distribution<int> decision(0, 2);  // missing None/Zero/NaN
  std::bernoulli_distribution coin;
  const int splits = (1 << kDepth) - 1, leaves = 1 << kDepth;
  std::string names, infos;
  for (int f = 0; f < kFeatures; ++f) {
    StrAppend(names, f ? " " : "", "Column_", f);
    StrAppend(infos, f ? " " : "", "[-5:5]");
  }
  std::string out = StrCat("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\n",
                           "label_index=0\nmax_feature_idx=", kFeatures - 1,
                           "\nobjective=binary sigmoid:1\nfeature_names=", names,
                           "\nfeature_infos=", infos, "\n\n");
  for (int t = 0; t < kTrees; ++t) {
    std::string sf, th, dt, lc, rc, lv;
    for (int i = 0; i < splits; ++i) {
      const char* sep = i == 0 ? "" : " ";
      StrAppend(sf, sep, feature(rng));
      StrAppend(th, sep, normal(rng));
      StrAppend(dt, sep, (decision(rng) << 2) | (coin(rng) ? 2 : 0));
      const int l = 2 * i + 1, r = 2 * i + 2;
      StrAppend(lc, sep, l < splits ? l : ~(l - splits));
      StrAppend(rc, sep, r < splits ? r : ~(r - splits));
    }
    for (int j = 0; j < leaves; ++j) StrAppend(lv, j ? " " : "", 0.1 * normal(rng));
    StrAppend(out, "Tree=", t, "\nnum_leaves=", leaves, "\nnum_cat=0\nsplit_feature=", sf,
              "\nthreshold=", th, "\ndecision_type=", dt, "\nleft_child=", lc, "\nright_child=", rc,
              "\nleaf_value=", lv, "\nis_linear=0\nshrinkage=0.1\n\n\n");
  }
  out += "end of trees\n";
  return out;
}

std::vector<double> RandomRows(size_t num_features) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::bernoulli_distribution missing(0.05);
  std::vector<double> rows(kRows * num_features);
  for (double& v : rows) {
    v = missing(rng) ? std::numeric_limits<double>::quiet_NaN() : normal(rng);
  }
  return rows;
}

std::unique_ptr<Model> MustParse(const std::string& bytes, ModelFormat format) {
  auto m = ParseModel(bytes, format, "bench");
  if (!m.ok()) {
    std::fprintf(stderr, "model_bench: %s\n", m.status().ToString().c_str());
    std::abort();
  }
  return std::move(*m);
}

void SingleRow(benchmark::State& state, const Model& m) {
  const std::vector<double> rows = RandomRows(m.num_features());
  const size_t nf = m.num_features();
  std::vector<double> out(m.num_outputs());
  size_t r = 0;
  for (auto _ : state) {
    Status s = m.Predict(std::span<const double>(rows).subspan(r * nf, nf), out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
    r = (r + 1) % kRows;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(StrCat(m.info().num_trees, " trees"));
}

void Batch(benchmark::State& state, const Model& m) {
  const std::vector<double> rows = RandomRows(m.num_features());
  const auto batch = static_cast<size_t>(state.range(0));
  const size_t nf = m.num_features();
  std::vector<double> out(batch * m.num_outputs());
  size_t r = 0;
  for (auto _ : state) {
    if (r + batch > kRows) r = 0;
    Status s = m.PredictBatch(std::span<const double>(rows).subspan(r * nf, batch * nf), out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
    r += batch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

const Model& XgbModel() {
  static const std::unique_ptr<Model> m = MustParse(RandomXgbModel(), ModelFormat::kXGBoostJson);
  return *m;
}
const Model& LgbModel() {
  static const std::unique_ptr<Model> m = MustParse(RandomLgbModel(), ModelFormat::kLightGbmText);
  return *m;
}

void BM_XGBoostSingleRow(benchmark::State& state) { SingleRow(state, XgbModel()); }
void BM_XGBoostBatch(benchmark::State& state) { Batch(state, XgbModel()); }
void BM_LightGbmSingleRow(benchmark::State& state) { SingleRow(state, LgbModel()); }
void BM_LightGbmBatch(benchmark::State& state) { Batch(state, LgbModel()); }
BENCHMARK(BM_XGBoostSingleRow);
BENCHMARK(BM_XGBoostBatch)->Arg(64)->Arg(1024);
BENCHMARK(BM_LightGbmSingleRow);
BENCHMARK(BM_LightGbmBatch)->Arg(64)->Arg(1024);

// Real trained models, when given.
void BM_FileSingleRow(benchmark::State& state, const char* env) {
  const char* path = std::getenv(env);
  if (path == nullptr) {
    state.SkipWithError(StrCat(env, " not set").c_str());
    return;
  }
  auto m = LoadModelFile(path);
  if (!m.ok()) {
    state.SkipWithError(m.status().ToString().c_str());
    return;
  }
  SingleRow(state, **m);
}
void BM_FileBatch(benchmark::State& state, const char* env) {
  const char* path = std::getenv(env);
  if (path == nullptr) {
    state.SkipWithError(StrCat(env, " not set").c_str());
    return;
  }
  auto m = LoadModelFile(path);
  if (!m.ok()) {
    state.SkipWithError(m.status().ToString().c_str());
    return;
  }
  Batch(state, **m);
}
BENCHMARK_CAPTURE(BM_FileSingleRow, xgboost, "EDDY_BENCH_XGB_MODEL");
BENCHMARK_CAPTURE(BM_FileBatch, xgboost, "EDDY_BENCH_XGB_MODEL")->Arg(1024);
BENCHMARK_CAPTURE(BM_FileSingleRow, lightgbm, "EDDY_BENCH_LGB_MODEL");
BENCHMARK_CAPTURE(BM_FileBatch, lightgbm, "EDDY_BENCH_LGB_MODEL")->Arg(1024);

// --- online learner ------------------------------------------------------

struct Stream {
  std::vector<double> numeric;      // kRows x 20
  std::vector<std::string> values;  // kRows x 5
  std::vector<double> labels;
};

const Stream& LearnerStream() {
  static const Stream s = [] {
    Stream s;
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal;
    std::uniform_int_distribution<int> cat(0, 9999);
    std::bernoulli_distribution coin;
    for (size_t r = 0; r < kRows; ++r) {
      double margin = 0;
      for (int f = 0; f < 20; ++f) {
        const double x = normal(rng) * (1 + f) + f;
        s.numeric.push_back(x);
        margin += (f % 2 ? 0.1 : -0.1) * (x - f) / (1 + f);
      }
      for (int c = 0; c < 5; ++c) s.values.push_back(StrCat("v", cat(rng)));
      s.labels.push_back(coin(rng) || margin > 0 ? 1.0 : 0.0);
    }
    return s;
  }();
  return s;
}

void BM_OnlineLogisticLearn(benchmark::State& state) {
  OnlineLearnerOptions o;
  o.link = Link::kLogistic;
  o.optimizer = static_cast<Optimizer>(state.range(0));
  o.hash_bits = 18;
  for (int f = 0; f < 20; ++f) o.numeric_features.push_back(StrCat("x", f));
  o.hashed_fields = {"merchant", "country", "device", "channel", "mcc"};
  auto learner = OnlineLearner::Create(o);
  if (!learner.ok()) {
    state.SkipWithError(learner.status().ToString().c_str());
    return;
  }
  const Stream& s = LearnerStream();
  std::vector<CategoricalValue> cats(5);
  size_t r = 0;
  for (auto _ : state) {
    for (int c = 0; c < 5; ++c) cats[c] = {o.hashed_fields[c], s.values[r * 5 + c]};
    auto p = (*learner)->Learn(std::span<const double>(s.numeric).subspan(r * 20, 20), cats,
                               s.labels[r]);
    benchmark::DoNotOptimize(p);
    r = (r + 1) % kRows;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::string(OptimizerName(o.optimizer)));
}
BENCHMARK(BM_OnlineLogisticLearn)
    ->Arg(static_cast<int>(Optimizer::kSgd))
    ->Arg(static_cast<int>(Optimizer::kAdaGrad))
    ->Arg(static_cast<int>(Optimizer::kAdam))
    ->Arg(static_cast<int>(Optimizer::kFtrl));

}  // namespace
}  // namespace eddy

BENCHMARK_MAIN();
