// ScoringEngine: models in the stream, and the feedback loop.
//
// For every accepted event of a source with models, each model whose filter
// passes is scored on inputs computed from the event's fields and features
// (InputMapper), and a prediction row (event id, key, model, version,
// score(s), decision) goes to the model's output. Static models (tree
// ensembles, linear models) are served from a ModelSlot, so a new version can
// be swapped in atomically; online learners score with their current
// weights.
//
// Feedback. Predictions are logged by event id (with the inputs an online
// learner saw; the first prediction of an id is kept if the id repeats).
// Labels come from the feedback source; a label with event time L is held
// until, for every model source, watermark - allowed_lateness has passed L:
// from then on no event at or before L can still be accepted, so every
// prediction the label could match has been made. It is then joined with the
// logged prediction: online learners learn from the inputs as they were at
// prediction time (never later values), and each model's rolling quality
// metrics are updated. A label with no prediction, a second label for one
// prediction, one more than `horizon` after its prediction, or one without an
// id or label value is counted and written to the `unmatched` output with the
// reason. Predictions are dropped from the log once no label that may still
// arrive, or that is pending, could match them within the horizon; their id
// is remembered for one more horizon, so that a label for it is reported as
// `after_horizon` (or `duplicate`), and after that as `no_prediction`.
//
// A label known before the predictions' watermark passes its time is learned
// at exactly that point of the stream. One read after that is learned when it
// is read, which depends on how the sources' inputs were batched: a replay of
// the same recorded files learns at the same points, a live run or a pipe may
// not (docs/concepts/models-and-feedback.md, "Replay").
//
// One thread uses a ScoringEngine (the engine's loop).

#ifndef EDDY_SCORING_SCORING_ENGINE_H_
#define EDDY_SCORING_SCORING_ENGINE_H_

#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "config/pipeline.h"
#include "features/feature_value.h"
#include "ingest/schema.h"
#include "model/metrics.h"
#include "model/model_slot.h"
#include "model/online_learner.h"
#include "model/registry.h"
#include "scoring/input_mapper.h"

namespace eddy {

// Where scoring writes its rows (the engine's outputs).
class ScoringSink {
 public:
  virtual ~ScoringSink() = default;
  virtual void OnPredictionRow(size_t model, std::string_view json_line) = 0;
  virtual void OnUnmatchedLabel(std::string_view json_line) = 0;
  // A score produced in the stream (for score-distribution metrics).
  virtual void OnScore(size_t model, double score) {}
};

struct ModelRunStats {
  std::string name;
  std::string kind;  // "static" or "online"
  int64_t version = 0;
  uint64_t scored = 0;
  uint64_t positives = 0;  // decisions >= threshold
  uint64_t skipped_missing = 0;
  uint64_t filtered = 0;
  uint64_t errors = 0;
  uint64_t labelled = 0;  // predictions joined with a label
  uint64_t updates = 0;   // online: examples learned from
  bool classifier = true;
  ClassifierReport window, since_start;
  RegressorReport regression_window, regression_since_start;
};

struct FeedbackStats {
  uint64_t labels = 0;
  uint64_t matched = 0;
  uint64_t pending = 0;  // held until the predictions' watermark passes them
  uint64_t no_prediction = 0;
  uint64_t after_horizon = 0;
  uint64_t duplicates = 0;
  uint64_t missing = 0;       // labels without an id or without a label value
  uint64_t repeated_ids = 0;  // predictions not logged: their id was already logged
  uint64_t logged = 0;        // predictions kept for joining
};

class ScoringEngine {
 public:
  // `source_vars[s]` are the variables an event of source s provides (its
  // fields, then its features); `schemas[s]` its schema.
  static Result<std::unique_ptr<ScoringEngine>> Create(
      const PipelineSpec& spec, const std::vector<const Schema*>& schemas,
      const std::vector<std::vector<ExprVariable>>& source_vars, Clock& clock);
  ~ScoringEngine();

  bool has_models(size_t source) const;
  bool is_feedback_source(size_t source) const {
    return feedback_source_ == static_cast<int>(source);
  }
  size_t num_models() const { return models_.size(); }
  const ModelSpec& model_spec(size_t i) const;

  // Scores an accepted event of `source`. `features` is its feature row.
  void OnEvent(size_t source, const Row& row, EventTime t,
               const std::vector<FeatureValue>& features, ScoringSink& sink);
  // An accepted record of the feedback source.
  void OnLabel(const Row& row, EventTime t, ScoringSink& sink);
  // A source's watermark advanced: release labels, expire old predictions.
  void OnWatermark(size_t source, Watermark wm, ScoringSink& sink);

  // ---- Serving (thread-safe unless noted) ----

  // Index of the model called `name`, or -1.
  int FindModel(std::string_view name) const;
  size_t model_source(size_t i) const;

  struct RequestScore {
    int64_t version = 0;  // registry version; an online learner's export: its updates
    std::vector<double> scores;
    bool classifier = true;
    bool multiclass = false;
    double threshold = 0.5;
    std::vector<std::string> missing;  // inputs the model read that were null
  };
  // Scores model `i` on variable values (the source's fields, then its
  // features, as in the stream). Static models use their slot; online
  // learners a frozen export refreshed by RefreshOnline(). With
  // `missing: skip`, a request missing an input the model reads fails with
  // kFailedPrecondition naming it.
  Result<RequestScore> ScoreRequest(size_t i, std::span<const ExprValue> values) const;

  // The model being served for model `i` (for the Open Inference Protocol:
  // raw tensors in the model's own feature order).
  std::shared_ptr<const ServedModel> Served(size_t i) const;

  // Loads `version` of registry model `i` (0 = the live one) into its slot:
  // promote and rollback. A failed load keeps the serving version.
  Status Reload(size_t i, ModelVersion version);
  // The registry of model `i` (null for file and online models).
  const ModelRegistry* registry(size_t i) const;

  // Engine thread: publishes fresh exports of online learners that learned
  // since the last export (at most every `min_interval` unless 1000 more
  // examples came).
  void RefreshOnline(ProcessingTime now, Duration min_interval = Duration::Seconds(1));

  std::vector<ModelRunStats> model_stats() const;
  FeedbackStats feedback_stats() const;

  // The online learner of model `i`, or null. Engine thread only.
  const OnlineLearner* learner(size_t i) const;

  // The snapshot of online learner `i` published with its newest frozen
  // export (RefreshOnline): the learner's byte-exact state in the
  // online_snapshot format, which `eddy model register` takes as a new
  // version, and the examples it had learned from. Null for other models
  // and before the first publication. Thread-safe.
  struct LearnerSnapshot {
    std::string bytes;
    uint64_t updates = 0;
    ProcessingTime published_at;
  };
  std::shared_ptr<const LearnerSnapshot> PublishedSnapshot(size_t i) const;

  // Checkpoints: learners, rolling quality metrics, logged predictions,
  // pending labels, counters (format version kStateVersion; version 1,
  // without the metrics, is still read: they then restart empty).
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes);
  static constexpr uint64_t kStateVersion = 2;

 private:
  struct ModelRun;
  struct Logged;
  struct PendingLabel {
    int64_t time;
    uint64_t seq;
    std::string id;
    double label;
    friend bool operator>(const PendingLabel& a, const PendingLabel& b) {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };

  ScoringEngine() = default;
  void Join(const PendingLabel& label, ScoringSink& sink);
  void Unmatched(const PendingLabel& label, std::string_view reason,
                 std::optional<int64_t> prediction_time, ScoringSink& sink);
  void Expire();
  // Labels with a time below this are released (see the class comment).
  int64_t ReleaseBound() const;

  std::vector<std::unique_ptr<ModelRun>> models_;
  std::vector<const Schema*> schemas_;
  std::vector<std::vector<size_t>> models_of_source_;
  std::vector<Watermark> watermarks_;  // per source
  std::vector<Duration> lateness_;     // per source: allowed_lateness
  Clock* clock_ = nullptr;

  // Feedback.
  FeedbackSpec feedback_;
  int feedback_source_ = -1;
  int id_index_ = -1, label_index_ = -1;  // in the feedback source's schema
  std::vector<size_t> prediction_sources_;
  std::unordered_map<std::string, Logged> log_;
  // Predictions dropped from log_: id -> (prediction time, labelled).
  struct Dropped {
    int64_t time;
    bool labelled;
  };
  std::unordered_map<std::string, Dropped> dropped_;
  std::priority_queue<PendingLabel, std::vector<PendingLabel>, std::greater<>> pending_;
  std::priority_queue<std::pair<int64_t, std::string>, std::vector<std::pair<int64_t, std::string>>,
                      std::greater<>>
      expiry_, dropped_expiry_;
  uint64_t label_seq_ = 0;
  FeedbackStats fb_;

  // Scratch.
  std::vector<ExprValue> values_;
  std::string line_;
};

}  // namespace eddy

#endif  // EDDY_SCORING_SCORING_ENGINE_H_
