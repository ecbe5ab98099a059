// ServingApi: the HTTP API of `eddy run` (docs/reference/http-api.md).
//
//   POST /v1/sources/{source}/events   ingest records into an http source
//   POST /v1/feedback                  ingest labels into the feedback source
//   GET|POST /v1/features/{group}      read feature vectors, with freshness
//   POST /v1/predict                   features by key + request fields -> score
//   GET  /v1/models, POST /v1/models/{name}/promote|rollback   admin
//   /v2/...                            the Open Inference Protocol (KServe V2)
//   /metrics, /healthz, /readyz        (built into the server)
//
// Handlers run on the server's threads and touch only thread-safe parts of
// the engine: the online store, the immutable feature and model plans, model
// slots (swapped atomically), the event logs of http sources (appends under a
// mutex) and metric atomics. Records ingested over HTTP are appended to the
// source's event log, which the engine's loop reads like a growing file, so
// HTTP input is checkpointed and replayable like any file.

#ifndef EDDY_ENGINE_SERVING_API_H_
#define EDDY_ENGINE_SERVING_API_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "config/pipeline.h"
#include "eddy/engine.h"
#include "eddy/status.h"
#include "features/feature_engine.h"
#include "ingest/schema.h"
#include "monitor/metrics.h"
#include "scoring/scoring_engine.h"
#include "store/feature_reader.h"
#include "store/online_store.h"

namespace eddy {

class HttpServer;
class AuditLog;
class TokenStore;

struct ServingContext {
  const PipelineSpec* spec = nullptr;
  std::vector<const Schema*> schemas;  // per source
  const FeatureEngine* features = nullptr;
  ScoringEngine* scoring = nullptr;
  const OnlineStore* store = nullptr;
  Clock* clock = nullptr;
  // A snapshot of the engine's counters (for /metrics).
  std::function<RunSummary()> summary;
};

class ServingApi {
 public:
  // Builds the routes and the server (not started). Errors: bad TLS or token
  // files, auth on without tokens, unwritable audit log.
  static Result<std::unique_ptr<ServingApi>> Create(ServingContext ctx);
  ~ServingApi();

  // Starts listening; /readyz answers 503 until SetReady().
  Status Start();
  void SetReady();
  // Stops accepting, finishes in-flight requests (up to `deadline`), flushes
  // the audit log.
  void Stop(Duration deadline = Duration::Seconds(10));
  uint16_t port() const;
  // Reopens the audit log at its path (after logrotate renamed it); records
  // not yet written go to the new file. On failure the old file stays open.
  Status ReopenLogs();

  // Engine thread: a score produced in the stream (score distribution).
  void ObserveStreamScore(size_t model, double score);

  MetricsRegistry& metrics();
  // Predict requests served and their latency quantiles (microseconds).
  void PredictLatency(uint64_t& count, double& p50_us, double& p99_us) const;

  class Impl;

 private:
  explicit ServingApi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_SERVING_API_H_
