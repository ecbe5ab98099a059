// The Eddy engine: runs a pipeline file. This is the embedding API; the
// `eddy` command is a thin layer over it.
//
//   auto engine = eddy::Engine::Open("pipeline.yaml", {});
//   if (!engine.ok()) { ... engine.status().message() ... }
//   eddy::Status s = (*engine)->Run();   // until inputs end or RequestStop()
//   std::cerr << eddy::Engine::FormatSummary((*engine)->Summary());
//
// Threading: Run() runs the pipeline on the calling thread. RequestStop() may
// be called from any thread or from a signal handler. Summary() may be called
// from any thread; while running it returns a snapshot.

#ifndef EDDY_ENGINE_H_
#define EDDY_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eddy/status.h"

namespace eddy {

class Clock;

struct SourceSummary {
  std::string name;
  uint64_t records = 0;          // records read, including blank lines and headers
  uint64_t bytes = 0;            // input bytes read
  uint64_t accepted = 0;         // passed validation, on time, passed the filter
  uint64_t late = 0;             // sent to the late output
  uint64_t dead_letter = 0;      // sent to the dead-letter output
  uint64_t filtered = 0;         // valid and on time, but the filter said no
  uint64_t blank = 0;            // empty lines, skipped
  std::string watermark;         // ISO-8601; "-inf" before any record, "+inf" at end of input
  int64_t watermark_micros = 0;  // the same in microseconds (INT64_MIN / INT64_MAX at the ends)
  int partitions = 0;
  int idle_partitions = 0;
  // Dead-letter counts by error code, largest first.
  std::vector<std::pair<std::string, uint64_t>> errors;
};

struct FeatureGroupSummary {
  std::string name;
  std::string kind;            // "per-event" or "windows"
  uint64_t keys = 0;           // per-event: keys with state now
  uint64_t entries = 0;        // per-event: buffered events now; windows: open windows
  uint64_t peak_keys = 0;      // per-event: the most keys held at once
  uint64_t peak_entries = 0;   // per-event: the most buffered events at once
  uint64_t out_of_order = 0;   // per-event: events computed by the out-of-order path
  uint64_t nulls_skipped = 0;  // per-event: null inputs skipped by aggregations
  uint64_t updates = 0;        // windows: rows re-emitted for late-but-allowed events
  uint64_t rows = 0;           // windows: rows emitted, updates included
};

struct ModelSummary {
  std::string name;
  std::string kind;  // "static" or "online"
  int64_t version = 0;
  uint64_t scored = 0;
  uint64_t positives = 0;  // classifier decisions >= threshold
  uint64_t skipped = 0;    // missing inputs or scoring errors
  uint64_t labelled = 0;   // predictions joined with a label
  uint64_t updates = 0;    // online learners: examples learned from
  bool classifier = true;
  // Over the metrics window (the last N labelled predictions).
  uint64_t window_count = 0;
  double auc = 0, log_loss = 0, precision = 0, recall = 0, f1 = 0, false_positive_rate = 0;
  double mae = 0, rmse = 0;
  // Since start.
  double auc_since_start = 0, precision_since_start = 0, recall_since_start = 0,
         fpr_since_start = 0;
};

struct FeedbackSummary {
  uint64_t labels = 0;
  uint64_t matched = 0;
  uint64_t pending = 0;
  uint64_t no_prediction = 0;
  uint64_t after_horizon = 0;
  uint64_t duplicates = 0;
};

struct RunSummary {
  std::string pipeline;
  double elapsed_seconds = 0;
  bool stopped = false;  // ended by RequestStop() rather than by the end of input
  std::vector<SourceSummary> sources;
  std::vector<std::pair<std::string, std::string>> outputs;  // (what, where)
  std::vector<FeatureGroupSummary> groups;
  uint64_t window_rows = 0;  // emitted window rows, including updates
  std::vector<ModelSummary> models;
  FeedbackSummary feedback;
  // Latency of the work per accepted event, in microseconds (a sample of
  // events): computing its features and writing them to the online store and
  // history, and scoring it with every model of its source.
  double feature_p50_us = 0, feature_p99_us = 0;
  double scoring_p50_us = 0, scoring_p99_us = 0;
  // The HTTP API (when serving): predict requests and their latency inside
  // Eddy (from the request parsed to the response built).
  uint64_t predict_requests = 0;
  double predict_p50_us = 0, predict_p99_us = 0;
};

struct EngineOptions {
  // Progress lines on stderr while running.
  bool progress = true;
  double progress_interval_seconds = 1.0;
  // Processing-time clock; null means the system clock. Must outlive the engine.
  Clock* clock = nullptr;
  // For `eddy replay`: read `replay_input` in place of the input of source
  // `replay_source` (empty = the only source) and write its accepted records
  // to `replay_output`.
  std::string replay_input;
  std::string replay_source;
  std::string replay_output;
  std::string replay_format;  // "jsonl" (default) or "csv", for feature rows
  // eddy replay: where its durable state goes (the pipeline's own state is
  // never touched by a replay). Empty = no durable state.
  std::string replay_state_dir;
  // Discard the pipeline's checkpoints, history and online store and start
  // from the beginning of the inputs.
  bool fresh = false;
};

class Engine {
 public:
  // Loads and plans a pipeline without opening its inputs. Returns a short
  // description of what the pipeline does, or every problem found.
  static Result<std::string> Validate(const std::string& pipeline_path);

  // Loads, plans and opens the inputs and outputs of a pipeline.
  static Result<std::unique_ptr<Engine>> Open(const std::string& pipeline_path,
                                              const EngineOptions& options);

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs until every input has ended (then flushes: watermarks advance to
  // the end of time) or RequestStop() is called (then stops without
  // flushing windows). Outputs are flushed and closed in both cases. Returns
  // an error only if an input or output fails; bad records never stop a run.
  Status Run();

  // Asks Run() to stop after the record batch in hand. Async-signal-safe.
  void RequestStop();

  // Asks Run() to reopen the log files it appends to by path (the serving
  // audit log) after the record batch in hand, for log rotation: rename the
  // file, then ask. Async-signal-safe (`eddy run` calls it on SIGUSR1).
  void RequestReopenLogs();

  RunSummary Summary() const;

  // A few lines a person can read: per-source counts, throughput, outputs.
  static std::string FormatSummary(const RunSummary& summary);

  class Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_H_
