#include "scoring/scoring_engine.h"

#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/coding.h"
#include "base/strings.h"
#include "features/expr_binding.h"
#include "ingest/schema.h"
#include "model/registry.h"
#include "test_util.h"

namespace eddy {
namespace {

using ::eddy::testing::JsonSubsetDiff;
using ::eddy::testing::TempDir;
using ::eddy::testing::WriteFile;

// 2024-05-01T00:00:00Z
constexpr int64_t kBase = 1714521600LL * 1000000;
EventTime At(double seconds) {
  return EventTime::FromMicros(kBase + static_cast<int64_t>(seconds * 1e6));
}

// A pipeline with a transaction source (id, user, amount, country, channel,
// ts) and a label source (id, label, ts); `models` and `feedback` are YAML
// put in as they are. Transactions also carry one per-event feature, `f`.
std::string PipelineYaml(std::string_view models, std::string_view feedback,
                         std::string_view tx_lateness = "0s",
                         std::string_view label_lateness = "0s") {
  std::string y = R"(sources:
  - name: tx
    format: jsonl
    path: tx.jsonl
    event_time: ts
    key: user
    id: id
    watermark: {max_out_of_orderness: 0s, allowed_lateness: TX_LATENESS}
    schema:
      fields:
        - {name: id, type: string}
        - {name: user, type: string}
        - {name: amount, type: double}
        - {name: country, type: string}
        - {name: channel, type: string}
        - {name: ts, type: timestamp}
  - name: labels
    format: jsonl
    path: labels.jsonl
    event_time: ts
    id: id
    watermark: {max_out_of_orderness: 0s, allowed_lateness: LABEL_LATENESS}
    schema:
      fields:
        - {name: id, type: string}
        - {name: label, type: int}
        - {name: ts, type: timestamp}
)";
  y.replace(y.find("TX_LATENESS"), 11, tx_lateness);
  y.replace(y.find("LABEL_LATENESS"), 14, label_lateness);
  y += models;
  y += feedback;
  y += "outputs: {late: late.jsonl, dead_letter: dead.jsonl}\n";
  return y;
}

constexpr size_t kTx = 0, kLabels = 1;

class CollectingSink : public ScoringSink {
 public:
  void OnPredictionRow(size_t model, std::string_view line) override {
    rows.emplace_back(model, std::string(line));
  }
  void OnUnmatchedLabel(std::string_view line) override { unmatched.emplace_back(line); }

  // The rows of one model.
  std::vector<std::string> Rows(size_t model) const {
    std::vector<std::string> out;
    for (const auto& [m, line] : rows) {
      if (m == model) out.push_back(line);
    }
    return out;
  }

  std::vector<std::pair<size_t, std::string>> rows;
  std::vector<std::string> unmatched;
};

double Score(const std::string& row) {
  boost::json::value v = boost::json::parse(row);
  const boost::json::value& s = v.as_object().at("score");
  return s.is_null() ? NAN : s.to_number<double>();
}

// An optional field value: null, a string or a double.
using Cell = std::variant<std::monostate, std::string, double>;

// One ScoringEngine over PipelineYaml(), driven by hand: events, labels and
// watermarks in whatever order a test needs.
class Harness {
 public:
  Status Open(std::string_view models, std::string_view feedback = "",
              std::string_view tx_lateness = "0s", std::string_view label_lateness = "0s") {
    auto spec = ParsePipeline(PipelineYaml(models, feedback, tx_lateness, label_lateness),
                              dir.File("pipeline.yaml"), dir.path());
    if (!spec.ok()) return spec.status();
    spec_ = std::move(spec).value();
    schemas_.clear();
    for (const SourceSpec& s : spec_.sources) {
      auto schema = Schema::Create(s);
      if (!schema.ok()) return schema.status();
      schemas_.push_back(std::make_unique<Schema>(std::move(schema).value()));
    }
    std::vector<const Schema*> schemas;
    std::vector<std::vector<ExprVariable>> vars;
    for (size_t i = 0; i < spec_.sources.size(); ++i) {
      schemas.push_back(schemas_[i].get());
      vars.push_back(FieldVariables(spec_.sources[i]));
    }
    vars[kTx].push_back({"f", ExprType::kDouble});  // the per-event feature
    auto e = ScoringEngine::Create(spec_, schemas, vars, clock_);
    if (!e.ok()) return e.status();
    engine = std::move(e).value();
    return Status::OK();
  }

  // A transaction at `seconds`; `f` is its feature.
  void Event(std::string_view id, std::string_view user, Cell amount, Cell country, Cell f,
             double seconds, Cell channel = {}) {
    const Schema& s = *schemas_[kTx];
    Row row(s.num_fields());
    row.SetString(0, id);
    row.SetString(1, user);
    Set(row, 2, amount);
    Set(row, 3, country);
    Set(row, 4, channel);
    row.Set(5, Value::Timestamp(At(seconds)));
    std::vector<FeatureValue> features(1);
    if (const double* d = std::get_if<double>(&f)) features[0] = FeatureValue::Double(*d);
    engine->OnEvent(kTx, row, At(seconds), features, sink);
  }

  // A label; null id or label when not given.
  void Label(std::optional<std::string> id, std::optional<int64_t> label, double seconds) {
    Row row(schemas_[kLabels]->num_fields());
    if (id) row.SetString(0, *id);
    if (label) row.Set(1, Value::Int(*label));
    row.Set(2, Value::Timestamp(At(seconds)));
    engine->OnLabel(row, At(seconds), sink);
  }

  void Watermark(size_t source, double seconds) {
    engine->OnWatermark(source, ::eddy::Watermark(At(seconds)), sink);
  }
  void End(size_t source) { engine->OnWatermark(source, Watermark::EndOfTime(), sink); }

  ModelRunStats Stats(size_t model) const { return engine->model_stats()[model]; }

  TempDir dir;
  std::unique_ptr<ScoringEngine> engine;
  CollectingSink sink;

 private:
  static void Set(Row& row, size_t i, const Cell& c) {
    if (const std::string* s = std::get_if<std::string>(&c)) row.SetString(i, *s);
    if (const double* d = std::get_if<double>(&c)) row.Set(i, Value::Double(*d));
  }

  ManualClock clock_;
  PipelineSpec spec_;
  std::vector<std::unique_ptr<Schema>> schemas_;
};

// score = logistic(-1 + 0.5 amount - 0.25 f)
constexpr char kLinearModel[] = R"({"format": "eddy.linear", "version": 1, "link": "logistic",
  "bias": -1, "features": [{"name": "amount", "weight": 0.5}, {"name": "f", "weight": -0.25}]})";

std::unique_ptr<Model> LoadOk(const std::string& path) {
  auto m = LoadModelFile(path);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? std::move(m).value() : nullptr;
}

double PredictOne(const Model& m, std::vector<double> x, std::vector<CategoricalValue> cats = {}) {
  double out = NAN;
  EXPECT_TRUE(m.Predict(x, cats, std::span<double>(&out, 1)).ok());
  return out;
}

// ---- Static models ----

TEST(ScoringEngineTest, StaticModelFromAFileScoresEveryEventWithADecision) {
  Harness h;
  WriteFile(h.dir.File("m.linear.json"), kLinearModel);
  ASSERT_TRUE(h.Open(R"(models:
  - name: fraud
    source: tx
    path: m.linear.json
    threshold: 0.6
)")
                  .ok());
  EXPECT_TRUE(h.engine->has_models(kTx));
  EXPECT_FALSE(h.engine->has_models(kLabels));
  h.Event("e1", "u1", 4.0, "FR", 2.0, 10);
  h.Event("e2", "u2", 1.0, "FR", 0.0, 11.5);
  auto rows = h.sink.Rows(0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(JsonSubsetDiff(R"({"model": "fraud", "version": 1, "id": "e1", "key": "u1",
      "event_time": "2024-05-01T00:00:10Z", "decision": true})",
                           rows[0]),
            "")
      << rows[0];
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e2", "key": "u2", "event_time": "2024-05-01T00:00:11.500Z",
      "decision": false})",
                           rows[1]),
            "")
      << rows[1];
  // margin 0.5 and -0.5; bit for bit what the model file gives.
  auto model = LoadOk(h.dir.File("m.linear.json"));
  EXPECT_EQ(Score(rows[0]), PredictOne(*model, {4, 2}));
  EXPECT_EQ(Score(rows[1]), PredictOne(*model, {1, 0}));
  EXPECT_NEAR(Score(rows[0]), 1 / (1 + std::exp(-0.5)), 1e-15);
  EXPECT_NEAR(Score(rows[1]), 1 / (1 + std::exp(0.5)), 1e-15);

  ModelRunStats s = h.Stats(0);
  EXPECT_EQ(s.kind, "static");
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.scored, 2u);
  EXPECT_EQ(s.positives, 1u);
  EXPECT_TRUE(s.classifier);
}

TEST(ScoringEngineTest, RegressionModelRowsHaveNoDecision) {
  Harness h;
  WriteFile(h.dir.File("r.json"), R"({"format": "eddy.linear", "version": 1, "link": "identity",
    "bias": 1.5, "features": [{"name": "amount", "weight": 2}]})");
  ASSERT_TRUE(h.Open("models:\n  - {name: price, source: tx, path: r.json}\n").ok());
  h.Event("e1", "u1", 4.0, {}, {}, 1);
  auto rows = h.sink.Rows(0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Score(rows[0]), 9.5);
  EXPECT_EQ(rows[0].find("decision"), std::string::npos) << rows[0];
  EXPECT_FALSE(h.Stats(0).classifier);
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = ModelRegistry::Open(h_.dir.File("registry"), clock_);
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    for (const char* w : {"1", "-1"}) {
      std::string model = StrCat(R"({"format": "eddy.linear", "version": 1, "link": "logistic",
        "bias": 0, "features": [{"name": "amount", "weight": )",
                                 w, "}]}");
      auto m = reg->Register("risk", model, ModelFormat::kLinearJson, {});
      ASSERT_TRUE(m.ok()) << m.status().message();
    }
    ASSERT_TRUE(reg->Promote("risk", ModelVersion(2)).ok());
  }
  Status Open(std::string_view extra) {
    return h_.Open(StrCat("models:\n  - {name: scorer, source: tx, registry: registry, ",
                          "registry_name: risk", extra, "}\n"));
  }
  ManualClock clock_;
  Harness h_;
};

TEST_F(RegistryTest, ServesTheLiveVersionOrAPinnedOne) {
  ASSERT_TRUE(Open("").ok());
  h_.Event("e1", "u1", 2.0, {}, {}, 1);
  auto rows = h_.sink.Rows(0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(JsonSubsetDiff(R"({"model": "scorer", "version": 2})", rows[0]), "") << rows[0];
  EXPECT_NEAR(Score(rows[0]), 1 / (1 + std::exp(2.0)), 1e-15);
  EXPECT_EQ(h_.Stats(0).version, 2);

  Harness pinned;
  std::filesystem::copy(h_.dir.File("registry"), pinned.dir.File("registry"),
                        std::filesystem::copy_options::recursive);
  ASSERT_TRUE(pinned
                  .Open("models:\n  - {name: scorer, source: tx, registry: registry, "
                        "registry_name: risk, version: 1}\n")
                  .ok());
  pinned.Event("e1", "u1", 2.0, {}, {}, 1);
  ASSERT_EQ(pinned.sink.Rows(0).size(), 1u);
  EXPECT_EQ(JsonSubsetDiff(R"({"version": 1})", pinned.sink.Rows(0)[0]), "");
  EXPECT_NEAR(Score(pinned.sink.Rows(0)[0]), 1 / (1 + std::exp(-2.0)), 1e-15);
}

TEST_F(RegistryTest, BadRegistryReferencesAreErrorsThatCreateNothing) {
  Status s = Open(", version: 3");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model 'risk' has no version 3"), std::string::npos) << s.message();
  // Regression: a version number too large for int64 made std::stoll throw.
  s = Open(", version: 99999999999999999999");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is not a version number"), std::string::npos) << s.message();

  s = h_.Open("models:\n  - {name: x, source: tx, registry: registry, registry_name: nobody}\n");
  EXPECT_NE(s.message().find("model 'nobody' has no live version"), std::string::npos)
      << s.message();
  // Regression: opening the pipeline created a missing registry directory.
  s = h_.Open("models:\n  - {name: x, source: tx, registry: no_such_dir}\n");
  EXPECT_NE(s.message().find("is not a directory"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(h_.dir.File("no_such_dir")));
}

TEST(ScoringEngineTest, FilterDecidesWhichEventsAreScored) {
  Harness h;
  WriteFile(h.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(
      h.Open("models:\n  - {name: m, source: tx, path: m.json, filter: 'amount > 2'}\n").ok());
  h.Event("e1", "u1", 4.0, {}, 0.0, 1);
  h.Event("e2", "u1", 1.0, {}, 0.0, 2);
  h.Event("e3", "u1", {}, {}, 0.0, 3);  // null: the filter is not true
  h.Event("e4", "u1", 3.0, {}, 0.0, 4);
  auto rows = h.sink.Rows(0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e1"})", rows[0]), "");
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e4"})", rows[1]), "");
  EXPECT_EQ(h.Stats(0).filtered, 2u);
  EXPECT_EQ(h.Stats(0).scored, 2u);
}

TEST(ScoringEngineTest, MissingInputsAreSkippedOrDefaulted) {
  Harness h;
  WriteFile(h.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(h.Open(R"(models:
  - {name: skip, source: tx, path: m.json, missing: skip}
  - {name: dflt, source: tx, path: m.json, defaults: {f: 3}}
  - {name: nan, source: tx, path: m.json}
  - {name: online_skip, source: tx, missing: skip, online: {numeric: [amount, f]}}
)")
                  .ok());
  h.Event("e1", "u1", 4.0, {}, {}, 1);  // f is null
  h.Event("e2", "u1", 4.0, {}, 1.0, 2);
  auto model = LoadOk(h.dir.File("m.json"));

  // skip: only e2.
  ASSERT_EQ(h.sink.Rows(0).size(), 1u);
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e2"})", h.sink.Rows(0)[0]), "");
  EXPECT_EQ(h.Stats(0).skipped_missing, 1u);
  // default: f = 3.
  ASSERT_EQ(h.sink.Rows(1).size(), 2u);
  EXPECT_EQ(Score(h.sink.Rows(1)[0]), PredictOne(*model, {4, 3}));
  EXPECT_EQ(h.Stats(1).skipped_missing, 0u);
  // no default: NaN, which a linear model imputes with the mean (0 here).
  ASSERT_EQ(h.sink.Rows(2).size(), 2u);
  EXPECT_EQ(Score(h.sink.Rows(2)[0]), PredictOne(*model, {4, 0}));
  // online learners skip too.
  ASSERT_EQ(h.sink.Rows(3).size(), 1u);
  EXPECT_EQ(h.Stats(3).skipped_missing, 1u);
}

TEST(ScoringEngineTest, ConfigurationErrorsSayWhatIsWrong) {
  auto error = [](std::string_view models, std::string_view feedback = "") {
    Harness h;
    Status s = h.Open(models, feedback);
    EXPECT_FALSE(s.ok()) << models;
    return s.message();
  };
  EXPECT_NE(error("models:\n  - {name: m, source: txx, online: {numeric: [amount]}}\n")
                .find("unknown source 'txx' (did you mean 'tx'?)"),
            std::string::npos);
  EXPECT_NE(error("models:\n  - {name: m, source: tx, online: {numeric: [amont]}}\n")
                .find("numeric input 'amont' is not a numeric field, feature or entry of `inputs`"),
            std::string::npos);
  EXPECT_NE(error("models:\n  - {name: m, source: tx, online: {hashed: [contry]}}\n")
                .find("hashed input 'contry' is not a field or feature"),
            std::string::npos);
  EXPECT_NE(error("models:\n  - {name: m, source: tx, online: {numeric: [amount], options: "
                  "{optimiser: sgd}}}\n")
                .find("optimiser"),
            std::string::npos);
  EXPECT_NE(error("models:\n  - {name: m, source: tx, online: {numeric: [amount]}}\n",
                  "feedback: {source: labels, label: id}\n")
                .find("label field 'id' must be bool, int or double"),
            std::string::npos);
  EXPECT_NE(error("models:\n  - {name: m, source: labels, online: {numeric: [label]}}\n",
                  "feedback: {source: labels, label: label}\n")
                .find("labels and predictions come from different sources"),
            std::string::npos);
  EXPECT_NE(error("", "feedback: {source: labels, label: label}\n").find("no model scores"),
            std::string::npos);
}

// ---- Online learners and feedback ----

constexpr char kOnline[] = R"(models:
  - name: learner
    source: tx
    online:
      numeric: [amount, f]
      hashed: [country, channel]
      options: {optimizer: sgd, learning_rate: 0.1, hash_bits: 8}
)";

constexpr char kFeedback[] = R"(feedback:
  source: labels
  label: label
  horizon: 1h
  metrics_window: 10
)";

// A learner with the options kOnline gives the engine's.
std::unique_ptr<OnlineLearner> ReferenceLearner() {
  auto options = ParseLearnerOptions(
      {{"link", "logistic"}, {"optimizer", "sgd"}, {"learning_rate", "0.1"}, {"hash_bits", "8"}},
      {"amount", "f"}, {"country", "channel"});
  EXPECT_TRUE(options.ok()) << options.status().message();
  auto l = OnlineLearner::Create(std::move(options).value());
  EXPECT_TRUE(l.ok());
  return std::move(l).value();
}

TEST(ScoringEngineTest, OnlineLearnerScoresWithItsCurrentWeights) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline).ok());
  h.Event("e1", "u1", 4.0, "FR", 1.0, 1);
  ASSERT_EQ(h.sink.Rows(0).size(), 1u);
  EXPECT_EQ(JsonSubsetDiff(R"({"model": "learner", "updates": 0, "id": "e1", "score": 0.5,
      "decision": true})",
                           h.sink.Rows(0)[0]),
            "")
      << h.sink.Rows(0)[0];
  EXPECT_EQ(h.Stats(0).kind, "online");
  ASSERT_NE(h.engine->learner(0), nullptr);
  EXPECT_EQ(h.engine->learner(0)->num_updates(), 0u);
}

TEST(ScoringEngineTest, LabelsAreHeldUntilThePredictionWatermarkPassesThem) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline, kFeedback).ok());
  h.Event("e1", "u1", 4.0, "FR", 1.0, 10);
  h.Watermark(kTx, 10);
  h.Label("e1", 1, 70);
  h.Watermark(kLabels, 70);
  EXPECT_EQ(h.engine->feedback_stats().pending, 1u);
  EXPECT_EQ(h.engine->learner(0)->num_updates(), 0u);
  // An event at 70s could still come: the label waits.
  h.Watermark(kTx, 70);
  EXPECT_EQ(h.engine->feedback_stats().pending, 1u);
  EXPECT_EQ(h.engine->feedback_stats().matched, 0u);
  h.Watermark(kTx, 70.001);
  EXPECT_EQ(h.engine->feedback_stats().pending, 0u);
  EXPECT_EQ(h.engine->feedback_stats().matched, 1u);
  EXPECT_EQ(h.engine->learner(0)->num_updates(), 1u);
  EXPECT_EQ(h.Stats(0).labelled, 1u);
  // A label whose time the predictions have passed is joined at once.
  h.Event("e2", "u1", 1.0, "FR", 1.0, 80);
  h.Watermark(kTx, 100);
  h.Label("e2", 0, 90);
  EXPECT_EQ(h.engine->feedback_stats().matched, 2u);
  EXPECT_EQ(h.engine->learner(0)->num_updates(), 2u);
}

// Regression: labels were released when the watermark reached them, although
// the prediction source still accepted events within its allowed lateness.
TEST(ScoringEngineTest, LabelsWaitForThePredictionSourcesAllowedLateness) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline, kFeedback, /*tx_lateness=*/"30s").ok());
  h.Watermark(kTx, 50);
  h.Label("e1", 1, 60);
  h.Watermark(kTx, 80);  // an event at 55s is still accepted
  EXPECT_EQ(h.engine->feedback_stats().pending, 1u);
  h.Event("e1", "u1", 4.0, "FR", 1.0, 55);  // late but allowed
  h.Watermark(kTx, 91);
  EXPECT_EQ(h.engine->feedback_stats().matched, 1u);
  EXPECT_EQ(h.engine->feedback_stats().no_prediction, 0u);
  EXPECT_TRUE(h.sink.unmatched.empty());
}

TEST(ScoringEngineTest, LabelsJoinByIdAndTheLearnerSeesThePredictionTimeInputs) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline, kFeedback).ok());
  h.Event("e1", "u1", 10.0, "FR", 1.0, 10, "web");
  // country null, channel set: the learner must hash ("channel", "app"), not
  // ("country", "app") (regression: null hashed values shifted the others).
  h.Event("e2", "u2", 3.0, {}, {}, 20, "app");
  // The key of e1 changes its features after e1's prediction.
  h.Event("e3", "u1", 50.0, "DE", 9.0, 30, "pos");
  h.Label("e2", 0, 40);
  h.Label("e1", 1, 45);
  h.Watermark(kTx, 100);
  ASSERT_EQ(h.engine->feedback_stats().matched, 2u);
  EXPECT_TRUE(h.sink.unmatched.empty());

  // Labels are applied in label-time order with the logged inputs.
  auto reference = ReferenceLearner();
  std::vector<CategoricalValue> e2_cats = {{"channel", "app"}};
  std::vector<CategoricalValue> e1_cats = {{"country", "FR"}, {"channel", "web"}};
  ASSERT_TRUE(reference->Learn(std::vector<double>{3, NAN}, e2_cats, 0).ok());
  ASSERT_TRUE(reference->Learn(std::vector<double>{10, 1}, e1_cats, 1).ok());
  EXPECT_EQ(h.engine->learner(0)->Snapshot(), reference->Snapshot());

  // Not e1's key's later values.
  auto later = ReferenceLearner();
  std::vector<CategoricalValue> e3_cats = {{"country", "DE"}, {"channel", "pos"}};
  ASSERT_TRUE(later->Learn(std::vector<double>{3, NAN}, e2_cats, 0).ok());
  ASSERT_TRUE(later->Learn(std::vector<double>{50, 9}, e3_cats, 1).ok());
  EXPECT_NE(h.engine->learner(0)->Snapshot(), later->Snapshot());

  // Later predictions use the updated weights.
  h.Event("e4", "u3", 7.0, "FR", 2.0, 110, "web");
  auto rows = h.sink.Rows(0);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e4", "updates": 2})", rows[3]), "") << rows[3];
  std::vector<CategoricalValue> e4_cats = {{"country", "FR"}, {"channel", "web"}};
  EXPECT_EQ(Score(rows[3]), reference->Predict(std::vector<double>{7, 2}, e4_cats));
  EXPECT_EQ(h.Stats(0).updates, 2u);
  EXPECT_EQ(h.Stats(0).labelled, 2u);
  // Metrics are computed on the scores logged at prediction time.
  EXPECT_EQ(h.Stats(0).window.count, 2u);
  EXPECT_EQ(h.Stats(0).window.positives, 1u);
}

TEST(ScoringEngineTest, OnlineRegressionReportsErrorsNotDecisions) {
  Harness h;
  ASSERT_TRUE(h.Open(R"(models:
  - name: price
    source: tx
    online: {task: regression, numeric: [amount], options: {optimizer: sgd}}
)",
                     kFeedback)
                  .ok());
  h.Event("e1", "u1", 1.0, {}, {}, 1);
  h.Event("e2", "u1", 2.0, {}, {}, 2);
  h.Label("e1", 3, 10);
  h.Label("e2", 5, 11);
  h.Watermark(kTx, 20);
  auto rows = h.sink.Rows(0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(JsonSubsetDiff(R"({"model": "price", "updates": 0, "score": 0})", rows[0]), "");
  EXPECT_EQ(rows[0].find("decision"), std::string::npos);
  ModelRunStats s = h.Stats(0);
  EXPECT_FALSE(s.classifier);
  EXPECT_EQ(s.updates, 2u);
  // Errors of the scores made at prediction time (0 and 0) against 3 and 5.
  EXPECT_EQ(s.regression_window.count, 2u);
  EXPECT_EQ(s.regression_window.mae, 4.0);
  EXPECT_DOUBLE_EQ(s.regression_window.rmse, std::sqrt(17.0));
}

// Regression: an id scored twice (a repeated event) trained the learner twice
// on one label.
TEST(ScoringEngineTest, ARepeatedIdKeepsItsFirstPrediction) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline, kFeedback).ok());
  h.Event("e1", "u1", 10.0, "FR", 1.0, 10);
  h.Event("e1", "u1", 99.0, "DE", 5.0, 11);
  h.Label("e1", 1, 20);
  h.Watermark(kTx, 30);
  EXPECT_EQ(h.engine->feedback_stats().repeated_ids, 1u);
  EXPECT_EQ(h.engine->learner(0)->num_updates(), 1u);
  auto reference = ReferenceLearner();
  std::vector<CategoricalValue> cats = {{"country", "FR"}};
  ASSERT_TRUE(reference->Learn(std::vector<double>{10, 1}, cats, 1).ok());
  EXPECT_EQ(h.engine->learner(0)->Snapshot(), reference->Snapshot());
}

TEST(ScoringEngineTest, UnmatchedLabelsAreCountedAndWrittenWithTheReason) {
  Harness h;
  WriteFile(h.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(h.Open("models:\n  - {name: m, source: tx, path: m.json}\n", kFeedback).ok());
  h.Event("e1", "u1", 4.0, {}, 0.0, 0);
  h.Event("e2", "u1", 4.0, {}, 0.0, 10);
  h.Label("e1", 1, 100);
  h.Label("e1", 0, 200);             // duplicate
  h.Label("zz", 1, 300);             // no_prediction
  h.Label(std::nullopt, 1, 400);     // missing_id
  h.Label("e2", std::nullopt, 500);  // missing_label: reported at once
  h.Label("e2", 1, 3611);            // 3601s after e2: after_horizon
  h.Watermark(kTx, 4000);
  FeedbackStats f = h.engine->feedback_stats();
  EXPECT_EQ(f.labels, 6u);
  EXPECT_EQ(f.matched, 1u);
  EXPECT_EQ(f.duplicates, 1u);
  EXPECT_EQ(f.no_prediction, 1u);
  EXPECT_EQ(f.after_horizon, 1u);
  EXPECT_EQ(f.missing, 2u);
  EXPECT_EQ(f.pending, 0u);
  ASSERT_EQ(h.sink.unmatched.size(), 5u);
  const auto& u = h.sink.unmatched;
  EXPECT_EQ(JsonSubsetDiff(R"({"id": null, "label": 1, "label_time": "2024-05-01T00:06:40Z",
      "reason": "missing_id"})",
                           u[0]),
            "")
      << u[0];
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e2", "label": null, "reason": "missing_label"})", u[1]), "")
      << u[1];
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e1", "label": 0, "reason": "duplicate",
      "label_time": "2024-05-01T00:03:20Z", "prediction_time": "2024-05-01T00:00:00Z"})",
                           u[2]),
            "")
      << u[2];
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "zz", "reason": "no_prediction"})", u[3]), "") << u[3];
  EXPECT_EQ(u[3].find("prediction_time"), std::string::npos);
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e2", "reason": "after_horizon",
      "prediction_time": "2024-05-01T00:00:10Z"})",
                           u[4]),
            "")
      << u[4];
  EXPECT_EQ(h.Stats(0).labelled, 1u);
}

TEST(ScoringEngineTest, OldPredictionsExpireOnceNoLabelCanReachThem) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline, kFeedback, "0s", /*label_lateness=*/"10m").ok());
  h.Event("e1", "u1", 1.0, "FR", 0.0, 0);
  h.Event("e2", "u1", 1.0, "FR", 0.0, 3000);
  h.Watermark(kTx, 9000);
  EXPECT_EQ(h.engine->feedback_stats().logged, 2u);
  // Labels may still arrive down to 4000 - 600 = 3400s; e1 is within the
  // 1h horizon of such a label until 3400 > 0 + 3600.
  h.Watermark(kLabels, 4000);
  EXPECT_EQ(h.engine->feedback_stats().logged, 2u);
  h.Watermark(kLabels, 4201);
  EXPECT_EQ(h.engine->feedback_stats().logged, 1u);
  // The dropped prediction's id is remembered: its label is too late, not
  // unknown (regression: reported as no_prediction).
  h.Label("e1", 1, 3700);
  EXPECT_EQ(h.engine->feedback_stats().after_horizon, 1u);
  ASSERT_EQ(h.sink.unmatched.size(), 1u);
  EXPECT_EQ(JsonSubsetDiff(R"({"id": "e1", "reason": "after_horizon",
      "prediction_time": "2024-05-01T00:00:00Z"})",
                           h.sink.unmatched[0]),
            "")
      << h.sink.unmatched[0];
  h.Label("e2", 1, 3800);
  EXPECT_EQ(h.engine->feedback_stats().matched, 1u);
  // One more horizon on, e1 is forgotten; e2 (labelled) is dropped but
  // remembered.
  h.Watermark(kLabels, 7801);
  EXPECT_EQ(h.engine->feedback_stats().logged, 0u);
  h.Label("e1", 1, 7300);
  h.Label("e2", 1, 7400);
  FeedbackStats f = h.engine->feedback_stats();
  EXPECT_EQ(f.no_prediction, 1u);
  EXPECT_EQ(f.duplicates, 1u);
  EXPECT_EQ(f.pending, 0u);
  // When labels end, nothing can join any more.
  h.Event("e3", "u1", 1.0, "FR", 0.0, 8000);
  EXPECT_EQ(h.engine->feedback_stats().logged, 1u);
  h.End(kLabels);
  EXPECT_EQ(h.engine->feedback_stats().logged, 0u);
}

// A pending label keeps its prediction findable even when the labels have
// moved far past the horizon.
TEST(ScoringEngineTest, PendingLabelsHoldTheirPredictionsFromExpiring) {
  Harness h;
  ASSERT_TRUE(h.Open(kOnline, kFeedback).ok());
  h.Event("e0", "u1", 1.0, "FR", 0.0, 0);
  h.Label("e0", 1, 4000);  // pending: the transactions are at -inf
  h.Event("e1", "u1", 1.0, "FR", 0.0, 1000);
  h.Label("e1", 1, 1100);
  h.Watermark(kLabels, 90000);
  EXPECT_EQ(h.engine->feedback_stats().logged, 2u);
  h.Watermark(kTx, 5000);
  FeedbackStats f = h.engine->feedback_stats();
  EXPECT_EQ(f.matched, 1u);
  EXPECT_EQ(f.after_horizon, 1u);
  EXPECT_TRUE(h.engine->learner(0)->num_updates() == 1u);
}

// ---- Static linear models with hashed fields ----

// Regression: an exported online learner with hashed fields could not be
// served by the pipeline (its hashed fields were "not provided"), and its
// string inputs were never passed to it.
TEST(ScoringEngineTest, AnExportedLearnerScoresLikeTheLearner) {
  auto learner = ReferenceLearner();
  std::vector<CategoricalValue> fr = {{"country", "FR"}, {"channel", "web"}};
  std::vector<CategoricalValue> de = {{"channel", "pos"}};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(learner->Learn(std::vector<double>{1.0 * i, 1}, fr, i % 2).ok());
    ASSERT_TRUE(learner->Learn(std::vector<double>{2.0 * i, 0}, de, 1).ok());
  }
  Harness h;
  WriteFile(h.dir.File("exported.linear.json"), learner->ExportLinearJson());
  WriteFile(h.dir.File("exported.snapshot"), learner->Snapshot());
  ASSERT_TRUE(h.Open(R"(models:
  - {name: json, source: tx, path: exported.linear.json}
  - {name: snapshot, source: tx, path: exported.snapshot}
)")
                  .ok());
  h.Event("e1", "u1", 3.0, "FR", 1.0, 1, "web");
  h.Event("e2", "u1", 5.0, {}, 0.0, 2, "pos");
  for (size_t m = 0; m < 2; ++m) {
    auto rows = h.sink.Rows(m);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(Score(rows[0]), learner->Predict(std::vector<double>{3, 1}, fr)) << m;
    EXPECT_EQ(Score(rows[1]), learner->Predict(std::vector<double>{5, 0}, de)) << m;
  }
}

// ---- Checkpoints ----

// Drives a deterministic stream: events every 10s over a few keys, labels 60s
// later, watermarks after each record.
void Drive(Harness& h, int from, int to) {
  const char* countries[] = {"FR", "DE", "US"};
  for (int i = from; i < to; ++i) {
    double t = 10.0 * i;
    double amount = (i * 37 % 101) / 10.0;
    double f = (i * 13 % 7) - 3;
    Cell country = i % 5 == 0 ? Cell{} : Cell{std::string(countries[i % 3])};
    h.Event(StrCat("e", i), StrCat("u", i % 4), amount, country, f, t, std::string("web"));
    h.Watermark(kTx, t);
    if (i >= 6) {
      int j = i - 6;  // its label is known now
      int label = ((j * 37 % 101) / 10.0 - ((j * 13 % 7) - 3)) > 2 ? 1 : 0;
      if (j % 11 != 3) h.Label(StrCat("e", j), label, t);
      if (j % 17 == 5) h.Label(StrCat("e", j), label, t + 1);          // a duplicate
      if (j % 19 == 7) h.Label(StrCat("x", j), label, t);              // no prediction
      if (i >= 70 && i % 13 == 0) h.Label(StrCat("e", i - 70), 1, t);  // 700s late
      h.Watermark(kLabels, t);
    }
  }
}

constexpr char kBoth[] = R"(models:
  - name: learner
    source: tx
    online:
      numeric: [amount, f]
      hashed: [country, channel]
      options: {optimizer: adagrad, learning_rate: 0.1, hash_bits: 8}
  - {name: fixed, source: tx, path: m.json, threshold: 0.3}
)";

// A 10-minute horizon: predictions are dropped and forgotten during Drive().
constexpr char kShortFeedback[] = R"(feedback:
  source: labels
  label: label
  horizon: 10m
  metrics_window: 10
)";

TEST(ScoringEngineTest, ThePublishedSnapshotIsTheLearnerAtItsExport) {
  Harness h;
  WriteFile(h.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(h.Open(kBoth, kShortFeedback).ok());
  EXPECT_EQ(h.engine->PublishedSnapshot(0), nullptr);  // nothing published yet
  EXPECT_EQ(h.engine->PublishedSnapshot(1), nullptr);  // not a learner
  Drive(h, 0, 100);
  const OnlineLearner& learner = *h.engine->learner(0);
  ASSERT_GT(learner.num_updates(), 50u);
  h.engine->RefreshOnline(ProcessingTime::FromMicros(1));
  auto snap = h.engine->PublishedSnapshot(0);
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->updates, learner.num_updates());
  EXPECT_EQ(snap->bytes, learner.Snapshot());
  // It is a model file Eddy serves, and it is the version requests see.
  auto model = ParseModel(snap->bytes, ModelFormat::kOnlineSnapshot, "published");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(h.engine->Served(0)->version.value(), static_cast<int64_t>(snap->updates));

  // Later learning does not change a published snapshot; the next export does.
  Drive(h, 100, 200);
  EXPECT_EQ(snap->bytes.size(), h.engine->PublishedSnapshot(0)->bytes.size());
  EXPECT_EQ(h.engine->PublishedSnapshot(0)->updates, snap->updates);
  h.engine->RefreshOnline(ProcessingTime::FromMicros(1) + Duration::Seconds(10));
  auto next = h.engine->PublishedSnapshot(0);
  EXPECT_GT(next->updates, snap->updates);
  EXPECT_EQ(next->bytes, h.engine->learner(0)->Snapshot());
  EXPECT_NE(next->bytes, snap->bytes);
}

TEST(ScoringEngineTest, SaveAndRestoreContinueBitIdentically) {
  Harness whole;
  WriteFile(whole.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(whole.Open(kBoth, kShortFeedback).ok());
  Drive(whole, 0, 300);

  Harness first;
  WriteFile(first.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(first.Open(kBoth, kShortFeedback).ok());
  Drive(first, 0, 150);
  std::string state;
  first.engine->SaveState(state);
  // Something is in flight at the checkpoint.
  EXPECT_GT(first.engine->feedback_stats().pending + first.engine->feedback_stats().logged, 0u);

  Harness second;
  WriteFile(second.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(second.Open(kBoth, kShortFeedback).ok());
  Status s = second.engine->RestoreState(state);
  ASSERT_TRUE(s.ok()) << s.message();
  std::string again;
  second.engine->SaveState(again);
  EXPECT_EQ(again, state);
  Drive(second, 150, 300);

  // The rows after the checkpoint, the learner and every counter are as if
  // nothing had happened.
  for (size_t m = 0; m < 2; ++m) {
    auto all = whole.sink.Rows(m);
    auto before = first.sink.Rows(m);
    auto after = second.sink.Rows(m);
    ASSERT_EQ(before.size() + after.size(), all.size());
    for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i], all[before.size() + i]) << i;
  }
  auto before_unmatched = first.sink.unmatched;
  auto after_unmatched = second.sink.unmatched;
  before_unmatched.insert(before_unmatched.end(), after_unmatched.begin(), after_unmatched.end());
  EXPECT_EQ(before_unmatched, whole.sink.unmatched);
  EXPECT_EQ(second.engine->learner(0)->Snapshot(), whole.engine->learner(0)->Snapshot());
  EXPECT_GT(whole.engine->learner(0)->num_updates(), 200u);
  std::string end_whole, end_second;
  whole.engine->SaveState(end_whole);
  second.engine->SaveState(end_second);
  EXPECT_EQ(end_second, end_whole);
  FeedbackStats a = whole.engine->feedback_stats(), b = second.engine->feedback_stats();
  EXPECT_EQ(std::tie(a.labels, a.matched, a.pending, a.no_prediction, a.duplicates, a.logged),
            std::tie(b.labels, b.matched, b.pending, b.no_prediction, b.duplicates, b.logged));
  EXPECT_EQ(a.after_horizon, b.after_horizon);
  EXPECT_GT(a.duplicates, 0u);
  EXPECT_GT(a.after_horizon, 0u);
  EXPECT_GT(a.no_prediction, 0u);
  for (size_t m = 0; m < 2; ++m) {
    ModelRunStats x = whole.Stats(m), y = second.Stats(m);
    EXPECT_EQ(std::tie(x.scored, x.positives, x.labelled, x.updates),
              std::tie(y.scored, y.positives, y.labelled, y.updates));
    // The rolling quality metrics too (they were restarted empty before
    // scoring checkpoint version 2), bit for bit.
    EXPECT_GT(x.window.count, 0u);
    EXPECT_GT(x.since_start.count, 100u);
    EXPECT_EQ(x.window.count, y.window.count);
    EXPECT_EQ(x.since_start.count, y.since_start.count);
    for (auto [a, b] :
         {std::pair{x.window.auc, y.window.auc}, std::pair{x.window.log_loss, y.window.log_loss},
          std::pair{x.window.precision, y.window.precision},
          std::pair{x.since_start.auc, y.since_start.auc},
          std::pair{x.since_start.log_loss, y.since_start.log_loss}}) {
      EXPECT_EQ(std::bit_cast<uint64_t>(a), std::bit_cast<uint64_t>(b)) << a << " vs " << b;
    }
  }
}

// Scoring checkpoint version 1 had no metrics: each model's learner snapshot
// was its last field. Turns a version 2 image into the version 1 one.
std::string AsVersion1(std::string_view v2) {
  ByteReader in(v2, "test");
  uint64_t version = 0, models = 0;
  EXPECT_TRUE(in.Varint64(version) && in.Varint64(models));
  std::string out;
  PutVarint64(out, 1);
  PutVarint64(out, models);
  for (uint64_t m = 0; m < models; ++m) {
    std::string_view name, snapshot, metrics;
    EXPECT_TRUE(in.String(name));
    PutString(out, name);
    for (int i = 0; i < 6; ++i) {
      uint64_t v = 0;
      EXPECT_TRUE(in.Varint64(v));
      PutVarint64(out, v);
    }
    EXPECT_TRUE(in.String(snapshot) && in.String(metrics));
    PutString(out, snapshot);
  }
  out.append(v2.substr(in.position()));
  return out;
}

TEST(ScoringEngineTest, RestoresVersion1CheckpointsWithEmptyMetrics) {
  Harness whole;
  WriteFile(whole.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(whole.Open(kBoth, kShortFeedback).ok());
  Drive(whole, 0, 300);

  Harness first;
  WriteFile(first.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(first.Open(kBoth, kShortFeedback).ok());
  Drive(first, 0, 150);
  std::string state;
  first.engine->SaveState(state);
  ASSERT_EQ(state[0], 2);

  Harness second;
  WriteFile(second.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(second.Open(kBoth, kShortFeedback).ok());
  Status s = second.engine->RestoreState(AsVersion1(state));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(second.Stats(0).window.count, 0u);
  EXPECT_EQ(second.Stats(0).since_start.count, 0u);
  Drive(second, 150, 300);
  // Everything but the metrics continues as if nothing had happened.
  auto all = whole.sink.Rows(0);
  auto after = second.sink.Rows(0);
  ASSERT_LE(after.size(), all.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i], all[all.size() - after.size() + i]) << i;
  }
  EXPECT_EQ(second.engine->learner(0)->Snapshot(), whole.engine->learner(0)->Snapshot());
  EXPECT_GT(second.Stats(0).since_start.count, 0u);
  EXPECT_LT(second.Stats(0).since_start.count, whole.Stats(0).since_start.count);
}

TEST(ScoringEngineTest, RestoreRejectsOtherPipelinesAndDamagedState) {
  Harness h;
  WriteFile(h.dir.File("m.json"), kLinearModel);
  ASSERT_TRUE(h.Open(kBoth, kFeedback).ok());
  Drive(h, 0, 40);
  std::string state;
  h.engine->SaveState(state);

  auto restore = [&](std::string_view models, std::string_view bytes) {
    Harness other;
    WriteFile(other.dir.File("m.json"), kLinearModel);
    EXPECT_TRUE(other.Open(models, kFeedback).ok());
    return other.engine->RestoreState(bytes);
  };
  EXPECT_TRUE(restore(kBoth, state).ok());
  // Another set of models.
  Status s = restore("models:\n  - {name: fixed, source: tx, path: m.json}\n", state);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
  // A learner over other inputs.
  std::string other_inputs = kBoth;
  other_inputs.replace(other_inputs.find("[amount, f]"), 11, "[f, amount]");
  s = restore(other_inputs, state);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
  EXPECT_NE(s.message().find("other inputs"), std::string::npos) << s.message();
  // A format version from the future.
  std::string future = state;
  future[0] = ScoringEngine::kStateVersion + 1;
  EXPECT_EQ(restore(kBoth, future).code(), StatusCode::kUnimplemented);
  // Every truncation and trailing bytes are errors, never crashes.
  for (size_t n = 0; n < state.size(); n += 1 + state.size() / 200) {
    EXPECT_FALSE(restore(kBoth, state.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(restore(kBoth, state + "x").ok());
}

}  // namespace
}  // namespace eddy
