#include "engine/serving_api.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "base/json_writer.h"
#include "base/strings.h"
#include "features/expr_binding.h"
#include "ingest/decoder.h"
#include "model/json_dom.h"
#include "model/registry.h"
#include "serve/audit_log.h"
#include "serve/auth.h"
#include "serve/http_server.h"
#include "serve/router.h"

namespace eddy {
namespace {

using model_internal::JsonValue;
using model_internal::ParseJson;

constexpr std::string_view kVersion = "0.1.0";

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
int64_t Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

HttpResponse BadRequest(std::string_view code, std::string_view msg) {
  return HttpResponse::Error(400, code, msg);
}

// Splits a request body into records: a JSON array of objects, one object,
// or JSON lines. Each record's raw text is returned (not re-serialised).
Result<std::vector<std::string_view>> SplitRecords(std::string_view body) {
  std::vector<std::string_view> out;
  std::string_view b = Trim(body);
  if (b.empty())
    return Status::InvalidArgument(
        "the body is empty; send a JSON object, an array of objects or JSON lines");
  if (b.front() != '[') {
    // One object, or JSON lines.
    size_t start = 0;
    while (start < b.size()) {
      size_t nl = b.find('\n', start);
      if (nl == std::string_view::npos) nl = b.size();
      std::string_view line = Trim(b.substr(start, nl - start));
      if (!line.empty()) out.push_back(line);
      start = nl + 1;
    }
    // A pretty-printed single object spans lines: take the body whole.
    if (out.size() > 1 && out.front().front() == '{' && out.front().back() != '}') {
      out.assign(1, b);
    }
    return out;
  }
  // Top-level array: split at commas at depth 1, outside strings.
  int depth = 0;
  bool in_string = false, escaped = false;
  size_t start = 1;
  for (size_t i = 0; i < b.size(); ++i) {
    char c = b[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
      if (depth == 0) {
        std::string_view last = Trim(b.substr(start, i - start));
        if (!last.empty()) out.push_back(last);
        if (Trim(b.substr(i + 1)).size() > 0) {
          return Status::InvalidArgument("unexpected text after the JSON array");
        }
        return out;
      }
    } else if (c == ',' && depth == 1) {
      out.push_back(Trim(b.substr(start, i - start)));
      start = i + 1;
    }
  }
  return Status::InvalidArgument("the JSON array is not closed");
}

// The text of a JSON value used as (part of) a key.
bool KeyText(const JsonValue& v, std::string& out) {
  out.clear();
  if (v.is_string()) {
    out = v.str();
    return true;
  }
  if (v.is_number()) {
    if (v.is_integer()) {
      AppendInt(out, static_cast<int64_t>(v.number()));
    } else {
      AppendDouble(out, v.number());
    }
    return true;
  }
  if (v.is_bool()) {
    out = v.bool_value() ? "true" : "false";
    return true;
  }
  return false;
}

}  // namespace

class ServingApi::Impl {
 public:
  explicit Impl(ServingContext ctx) : ctx_(std::move(ctx)) {}

  Status Init() {
    const ServingSpec& sv = ctx_.spec->serving;
    // Tokens.
    if (sv.auth) {
      std::optional<TokenStore> tokens;
      if (!sv.tokens.empty()) {
        auto t = TokenStore::LoadFile(sv.tokens);
        if (!t.ok()) return t.status().WithContext("serving.tokens");
        tokens.emplace(std::move(t).value());
      }
      if (const char* env = std::getenv("EDDY_API_TOKENS"); env != nullptr && *env != 0) {
        auto t = TokenStore::FromEnv("EDDY_API_TOKENS");
        if (!t.ok()) return t.status().WithContext("$EDDY_API_TOKENS");
        if (tokens) {
          EDDY_RETURN_IF_ERROR(tokens->Merge(std::move(t).value()));
        } else {
          tokens.emplace(std::move(t).value());
        }
      }
      if (!tokens) {
        return Status::InvalidArgument(
            StrCat(sv.where,
                   ": serving: auth is on but there are no tokens; set serving.tokens "
                   "or $EDDY_API_TOKENS, or `auth: false` (docs/operations/security.md)"));
      }
      tokens_ = std::make_unique<TokenStore>(std::move(*tokens));
    }
    if (!sv.audit_log.empty()) {
      AuditLogOptions o;
      o.path = sv.audit_log;
      auto a = AuditLog::Open(o, *ctx_.clock, &metrics_);
      if (!a.ok()) return a.status().WithContext("serving.audit_log");
      audit_ = std::move(a).value();
    }
    // Event logs of http sources.
    for (size_t s = 0; s < ctx_.spec->sources.size(); ++s) {
      const SourceSpec& src = ctx_.spec->sources[s];
      if (!src.http) continue;
      int fd = ::open(src.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) {
        return Status::IoError(StrCat("source ", Quote(src.name), ": cannot open the event log ",
                                      Quote(src.path, 500), ": ", std::strerror(errno)));
      }
      logs_[src.name] = std::make_unique<EventLog>(fd);
    }
    // Feature reads: per group TTL, policy and defaults.
    std::vector<GroupReadSpec> groups;
    for (size_t g = 0; g < ctx_.features->asof_groups().size(); ++g) {
      GroupReadSpec r;
      r.group = ctx_.features->asof_groups()[g]->name();
      r.names = ctx_.features->group_feature_names(g);
      for (const FeatureGroupSpec& f : ctx_.spec->features) {
        if (f.name != r.group) continue;
        r.ttl = f.ttl;
        r.policy = f.stale == "reject"    ? StalePolicy::kReject
                   : f.stale == "default" ? StalePolicy::kDefault
                                          : StalePolicy::kFlag;
        r.defaults.resize(r.names.size());
        for (const auto& [name, text] : f.defaults) {
          for (size_t i = 0; i < r.names.size(); ++i) {
            if (r.names[i] != name) continue;
            char* end = nullptr;
            double d = std::strtod(text.c_str(), &end);
            if (text == "null") {
              r.defaults[i].SetNull();
            } else if (end == text.c_str() + text.size() && !text.empty()) {
              r.defaults[i].SetDouble(d);
            } else {
              r.defaults[i].SetString(text);
            }
          }
        }
      }
      groups.push_back(std::move(r));
    }
    reader_ = std::make_unique<FeatureReader>(*ctx_.store, *ctx_.clock, std::move(groups));
    // Metrics.
    for (const char* stage : {"lookup", "compute", "inference", "total"}) {
      stage_[stage] = &metrics_.GetHistogram("eddy_predict_stage_seconds",
                                             "Time per stage of /v1/predict", {{"stage", stage}});
    }
    staleness_ = &metrics_.GetHistogram(
        "eddy_feature_age_seconds", "Age of feature vectors served (now - event time)", {},
        HistogramOptions{{0.001, 0.01, 0.1, 1, 10, 60, 600, 3600, 86400, 604800}, -10, 22});
    stale_reads_ = &metrics_.GetCounter("eddy_feature_reads_total",
                                        "Feature vectors read by serving", {{"result", "stale"}});
    fresh_reads_ = &metrics_.GetCounter("eddy_feature_reads_total",
                                        "Feature vectors read by serving", {{"result", "fresh"}});
    missing_reads_ = &metrics_.GetCounter(
        "eddy_feature_reads_total", "Feature vectors read by serving", {{"result", "missing"}});
    for (size_t m = 0; m < ctx_.scoring->num_models(); ++m) {
      const std::string& name = ctx_.scoring->model_spec(m).name;
      HistogramOptions o;
      o.bounds = {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99};
      o.min_exponent = -20;
      o.max_exponent = 20;
      stream_scores_.push_back(&metrics_.GetHistogram(
          "eddy_model_score", "Scores of predictions made in the stream", {{"model", name}}, o));
      served_missing_.push_back(&metrics_.GetCounter(
          "eddy_predict_missing_inputs_total",
          "Inputs a served prediction read that were null (missing features)", {{"model", name}}));
    }
    // process_* (CPU, resident memory, threads, fds), as docs/operations/metrics.md lists.
    metrics_.RegisterProcessMetrics();
    RegisterEngineMetrics();
    return BuildServer();
  }

  Status Start() { return server_->Start(); }
  void Stop(Duration deadline) {
    if (server_) server_->Stop(deadline);
    if (audit_) (void)audit_->Stop();
    callbacks_.clear();
  }
  uint16_t port() const { return server_->port(); }
  void SetReady() { ready_.store(true); }
  Status ReopenLogs() { return audit_ ? audit_->Reopen() : Status::OK(); }
  MetricsRegistry& metrics() { return metrics_; }
  void PredictLatency(uint64_t& count, double& p50, double& p99) const {
    const Histogram* h = stage_.at("total");
    count = h->count();
    p50 = count ? h->Quantile(0.5) * 1e6 : 0;
    p99 = count ? h->Quantile(0.99) * 1e6 : 0;
  }
  void ObserveStreamScore(size_t model, double score) {
    if (model < stream_scores_.size() && std::isfinite(score))
      stream_scores_[model]->Observe(score);
  }

 private:
  // An http source's event log: whole records appended as lines.
  struct EventLog {
    explicit EventLog(int fd) : fd(fd) {}
    ~EventLog() { ::close(fd); }
    std::mutex mu;
    int fd;
    Status Append(const std::vector<std::string_view>& records) {
      std::string buf;
      for (std::string_view r : records) {
        // JSON needs no raw newlines: one record, one line.
        size_t start = buf.size();
        buf.append(r);
        for (size_t i = start; i < buf.size(); ++i) {
          if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
        }
        buf.push_back('\n');
      }
      std::lock_guard<std::mutex> lock(mu);
      size_t done = 0;
      while (done < buf.size()) {
        ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Status::IoError(StrCat("writing the event log: ", std::strerror(errno)));
        }
        done += static_cast<size_t>(n);
      }
      return Status::OK();
    }
  };

  Status BuildServer() {
    Router r;
    const size_t bulk = static_cast<size_t>(ctx_.spec->serving.max_body_bytes);
    EDDY_RETURN_IF_ERROR(
        r.Add(HttpMethod::kPost, "/v1/sources/{source}/events",
              {.role = Role::kIngest, .max_body_bytes = bulk},
              [this](const HttpRequest& q) { return Ingest(q, q.Param("source")); }));
    EDDY_RETURN_IF_ERROR(r.Add(
        HttpMethod::kPost, "/v1/feedback", {.role = Role::kIngest, .max_body_bytes = bulk},
        [this](const HttpRequest& q) {
          if (!ctx_.spec->feedback.enabled) {
            return HttpResponse::Error(404, "not_found", "the pipeline has no feedback section");
          }
          return Ingest(q, ctx_.spec->feedback.source);
        }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kGet, "/v1/features/{group}", {.role = Role::kRead},
                               [this](const HttpRequest& q) { return Features(q); }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v1/features/{group}", {.role = Role::kRead},
                               [this](const HttpRequest& q) { return Features(q); }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v1/predict", {.role = Role::kPredict},
                               [this](const HttpRequest& q) { return Predict(q); }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kGet, "/v1/models", {.role = Role::kRead},
                               [this](const HttpRequest& q) { return ListModels(q); }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v1/models/{name}/promote",
                               {.role = Role::kAdmin},
                               [this](const HttpRequest& q) { return Promote(q); }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v1/models/{name}/rollback",
                               {.role = Role::kAdmin},
                               [this](const HttpRequest& q) { return Rollback(q); }));
    EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kGet, "/v1/models/{name}/snapshot",
                               {.role = Role::kAdmin},
                               [this](const HttpRequest& q) { return Snapshot(q); }));
    // Open Inference Protocol (KServe V2).
    EDDY_RETURN_IF_ERROR(
        r.Add(HttpMethod::kGet, "/v2", {.role = Role::kRead}, [](const HttpRequest&) {
          return HttpResponse::Json(
              StrCat("{\"name\":\"eddy\",\"version\":\"", kVersion, "\",\"extensions\":[]}"));
        }));
    EDDY_RETURN_IF_ERROR(
        r.Add(HttpMethod::kGet, "/v2/health/live", {.role = std::nullopt},
              [](const HttpRequest&) { return HttpResponse::Json("{\"live\":true}"); }));
    EDDY_RETURN_IF_ERROR(r.Add(
        HttpMethod::kGet, "/v2/health/ready", {.role = Role::kRead}, [this](const HttpRequest&) {
          bool ok = ready_.load();
          return HttpResponse::Json(ok ? "{\"ready\":true}" : "{\"ready\":false}", ok ? 200 : 503);
        }));
    for (std::string_view base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
      EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kGet, base, {.role = Role::kRead},
                                 [this](const HttpRequest& q) { return ModelMetadata(q); }));
      EDDY_RETURN_IF_ERROR(
          r.Add(HttpMethod::kGet, StrCat(base, "/ready"), {.role = Role::kRead},
                [this](const HttpRequest& q) {
                  auto m = FindServed(q);
                  if (!m.ok()) return HttpResponse::FromStatus(m.status());
                  return HttpResponse::Json(
                      StrCat("{\"name\":", JsonQuote(q.Param("name")), ",\"ready\":true}"));
                }));
      EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, StrCat(base, "/infer"),
                                 {.role = Role::kPredict},
                                 [this](const HttpRequest& q) { return Infer(q); }));
    }
    HttpServerOptions o;
    const ServingSpec& sv = ctx_.spec->serving;
    o.address = sv.address;
    o.port = static_cast<uint16_t>(sv.port);
    o.threads = sv.threads;
    o.max_body_bytes = static_cast<size_t>(sv.max_body_bytes);
    o.tls_cert_file = sv.tls_cert;
    o.tls_key_file = sv.tls_key;
    o.public_metrics_and_readiness = sv.public_metrics;
    EDDY_ASSIGN_OR_RETURN(server_, HttpServer::Create(o, std::move(r), metrics_, tokens_.get()));
    server_->SetReadinessCheck([this]() {
      return ready_.load() ? Status::OK()
                           : Status::Unavailable("restoring state and loading models");
    });
    return Status::OK();
  }

  static std::string JsonQuote(std::string_view s) {
    std::string out;
    AppendJsonString(out, s);
    return out;
  }

  // `members`: the record's own fields as JSON object members without the
  // braces (AuditLog::Append's contract), e.g. "\"model\":\"m\",\"version\":3".
  void Audit(std::string_view kind, const HttpRequest& q, const std::string& members) {
    if (audit_) (void)audit_->Append(kind, q.principal->name, members);
  }

  int SourceIndex(std::string_view name) const {
    for (size_t i = 0; i < ctx_.spec->sources.size(); ++i) {
      if (ctx_.spec->sources[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }

  // ---- Ingest ----
  HttpResponse Ingest(const HttpRequest& q, std::string_view source) {
    int s = SourceIndex(source);
    if (s < 0)
      return HttpResponse::Error(404, "not_found", StrCat("no source named ", Quote(source)));
    const SourceSpec& src = ctx_.spec->sources[static_cast<size_t>(s)];
    auto log = logs_.find(src.name);
    if (log == logs_.end()) {
      return HttpResponse::Error(
          409, "conflict",
          StrCat("source ", Quote(src.name), " reads ", src.path == "-" ? "stdin" : "a file",
                 "; only `type: http` sources take records over HTTP"));
    }
    auto records = SplitRecords(q.body);
    if (!records.ok()) return BadRequest("bad_json", records.status().message());
    // Validate each record as the engine will (the engine dead-letters the
    // bad ones too: nothing is lost, and the caller learns at once).
    const Schema& schema = *ctx_.schemas[static_cast<size_t>(s)];
    std::unique_ptr<Decoder> decoder = MakeDecoder(src, schema);
    std::string padded;
    Row row;
    DecodeError err;
    std::string out = "{\"received\":";
    AppendInt(out, static_cast<int64_t>(records->size()));
    std::string rejected;
    size_t accepted = 0;
    JsonWriter w(rejected);
    w.BeginArray();
    for (size_t i = 0; i < records->size(); ++i) {
      std::string_view rec = (*records)[i];
      padded.assign(rec.data(), rec.size());
      padded.append(kRecordPadding, ' ');
      std::string_view bytes(padded.data(), rec.size());
      if (decoder->Decode(bytes, row, err) && schema.Check(row, err)) {
        ++accepted;
        continue;
      }
      w.BeginObject();
      w.Key("index").Int(static_cast<int64_t>(i));
      w.Key("error").String(err.code);
      if (!err.field.empty()) w.Key("field").String(err.field);
      w.Key("reason").String(err.message);
      w.EndObject();
    }
    w.EndArray();
    Status st = log->second->Append(*records);
    if (!st.ok()) return HttpResponse::FromStatus(st);
    StrAppend(out, ",\"accepted\":", accepted, ",\"rejected\":", rejected, "}");
    return HttpResponse::Json(std::move(out));
  }

  // ---- Features ----
  HttpResponse Features(const HttpRequest& q) {
    std::string group(q.Param("group"));
    const GroupReadSpec* spec = reader_->FindGroup(group);
    if (spec == nullptr)
      return HttpResponse::Error(404, "not_found",
                                 StrCat("no per-event feature group named ", Quote(group)));
    std::vector<std::string> keys;
    std::optional<StalePolicy> policy;
    if (q.method == HttpMethod::kGet) {
      // ?key=a&key=b
      std::string_view query = q.query;
      size_t start = 0;
      while (start <= query.size() && !query.empty()) {
        size_t amp = query.find('&', start);
        if (amp == std::string_view::npos) amp = query.size();
        std::string_view part = query.substr(start, amp - start);
        start = amp + 1;
        if (part.rfind("key=", 0) != 0) continue;
        // A bad escape ("%zz") is the caller's error, not a 500.
        std::optional<std::string> decoded = PercentDecode(part.substr(4), /*plus_is_space=*/true);
        if (!decoded)
          return BadRequest("bad_request", StrCat("bad percent-escape in the query: ", part));
        keys.push_back(std::move(*decoded));
        if (amp == query.size()) break;
      }
      if (auto p = q.QueryParam("policy")) {
        auto parsed = ParseStalePolicy(*p);
        if (!parsed.ok()) return HttpResponse::FromStatus(parsed.status());
        policy = *parsed;
      }
    } else {
      auto body = ParseJson(q.body);
      if (!body.ok() || !body->is_object())
        return BadRequest("bad_json", "expected a JSON object {\"keys\": [...]}");
      const JsonValue* k = body->Find("keys");
      if (k == nullptr) k = body->Find("key");
      std::string text;
      if (k != nullptr && k->is_array()) {
        for (const JsonValue& v : k->items()) {
          if (!KeyText(v, text))
            return BadRequest("invalid_argument", "keys must be strings or numbers");
          keys.push_back(text);
        }
        if (k->is_number_array()) {
          for (double d : k->numbers()) {
            text.clear();
            AppendDouble(text, d);
            keys.push_back(text);
          }
        }
      } else if (k != nullptr && KeyText(*k, text)) {
        keys.push_back(text);
      }
      if (const JsonValue* p = body->Find("policy"); p != nullptr && p->is_string()) {
        auto parsed = ParseStalePolicy(p->str());
        if (!parsed.ok()) return HttpResponse::FromStatus(parsed.status());
        policy = *parsed;
      }
    }
    if (keys.empty())
      return BadRequest("invalid_argument",
                        "give at least one key (?key=... or {\"keys\": [...]})");
    std::vector<std::string_view> views(keys.begin(), keys.end());
    auto reads = reader_->ReadMany(group, views, policy);
    if (!reads.ok()) return HttpResponse::FromStatus(reads.status());
    std::string out;
    JsonWriter w(out);
    w.BeginObject().Key("group").String(group).Key("results").BeginArray();
    for (size_t i = 0; i < keys.size(); ++i) {
      w.BeginObject().Key("key").String(keys[i]);
      const Result<FeatureRead>& r = (*reads)[i];
      if (!r.ok()) {
        auto [status, code] = StatusHttpCode(r.status().code());
        (void)status;
        w.Key("error")
            .BeginObject()
            .Key("code")
            .String(code)
            .Key("message")
            .String(r.status().message())
            .EndObject();
        w.EndObject();
        continue;
      }
      WriteRead(w, *spec, *r);
      w.EndObject();
    }
    w.EndArray().EndObject();
    return HttpResponse::Json(std::move(out));
  }

  void WriteRead(JsonWriter& w, const GroupReadSpec& spec, const FeatureRead& r) {
    w.Key("found").Bool(r.found).Key("stale").Bool(r.stale).Key("defaulted").Bool(r.defaulted);
    if (r.found) {
      w.Key("age_ms").Double(r.age.millis());
      std::string t;
      AppendIso8601(t, r.vector.event_time);
      w.Key("event_time").String(t);
      t.clear();
      AppendIso8601(t, EventTime::FromMicros(r.vector.computed_at.micros()));
      w.Key("computed_at").String(t);
    }
    w.Key("features").BeginObject();
    for (size_t i = 0; i < spec.names.size() && i < r.vector.values.size(); ++i) {
      std::string v;
      r.vector.values[i].AppendJson(v);
      w.Key(spec.names[i]).Raw(v);
    }
    w.EndObject();
    if (r.found) staleness_->Observe(std::max(0.0, r.age.seconds()));
    (r.found ? (r.stale ? stale_reads_ : fresh_reads_) : missing_reads_)->Increment();
  }

  // ---- Predict ----
  HttpResponse Predict(const HttpRequest& q) {
    const auto t_start = std::chrono::steady_clock::now();
    auto body = ParseJson(q.body);
    if (!body.ok()) return BadRequest("bad_json", body.status().message());
    if (!body->is_object()) return BadRequest("bad_json", "expected a JSON object");
    const JsonValue* model = body->Find("model");
    if (model == nullptr || !model->is_string())
      return BadRequest("invalid_argument", "\"model\" (a string) is required");
    int m = ctx_.scoring->FindModel(model->str());
    if (m < 0)
      return HttpResponse::Error(404, "not_found", StrCat("no model named ", Quote(model->str())));
    const size_t s = ctx_.scoring->model_source(static_cast<size_t>(m));
    const Schema& schema = *ctx_.schemas[s];
    std::optional<StalePolicy> policy;
    if (const JsonValue* p = body->Find("policy"); p != nullptr) {
      if (!p->is_string())
        return BadRequest("invalid_argument", "\"policy\" must be reject, default or flag");
      auto parsed = ParseStalePolicy(p->str());
      if (!parsed.ok()) return HttpResponse::FromStatus(parsed.status());
      policy = *parsed;
    }
    // Keys: "key" or "keys"; each a value (single key field) or an array.
    std::vector<const JsonValue*> keys;
    if (const JsonValue* k = body->Find("keys"); k != nullptr) {
      if (!k->is_array() || k->is_number_array())
        return BadRequest("invalid_argument", "\"keys\" must be an array of keys (strings)");
      for (const JsonValue& v : k->items()) keys.push_back(&v);
    } else if (const JsonValue* k1 = body->Find("key"); k1 != nullptr) {
      keys.push_back(k1);
    }
    const JsonValue* fields = body->Find("fields");
    if (fields != nullptr && !fields->is_object())
      return BadRequest("invalid_argument", "\"fields\" must be an object");
    if (keys.empty() && fields == nullptr) {
      return BadRequest("invalid_argument", "give \"key\" (or \"keys\") and/or \"fields\"");
    }
    if (keys.empty()) keys.push_back(nullptr);

    std::string out;
    JsonWriter w(out);
    w.BeginObject().Key("model").String(model->str());
    int64_t version = 0;
    std::string audit_items = "[";
    w.Key("predictions").BeginArray();
    std::chrono::steady_clock::duration lookup{}, compute{}, inference{};
    for (const JsonValue* key : keys) {
      // Field values: the request's, with the key filled in.
      std::vector<ExprValue> vars(schema.num_fields());
      std::vector<std::string> texts(schema.num_fields());
      if (fields != nullptr) {
        for (size_t i = 0; i < fields->keys().size(); ++i) {
          const std::string& name = fields->keys()[i];
          int idx = schema.Lookup(name);
          if (idx < 0)
            return BadRequest("invalid_argument",
                              StrCat("unknown field ", Quote(name), " for source ",
                                     Quote(ctx_.spec->sources[s].name)));
          Status st = ToExpr(fields->items()[i], schema.field(static_cast<size_t>(idx)),
                             texts[static_cast<size_t>(idx)], vars[static_cast<size_t>(idx)]);
          if (!st.ok()) return HttpResponse::FromStatus(st);
        }
      }
      if (key != nullptr) {
        const auto& key_fields = schema.key_indices();
        if (key_fields.empty())
          return BadRequest("invalid_argument", "the model's source has no key; send \"fields\"");
        std::vector<const JsonValue*> parts;
        if (key->is_array() && !key->is_number_array()) {
          for (const JsonValue& v : key->items()) parts.push_back(&v);
        } else {
          parts.push_back(key);
        }
        if (parts.size() != key_fields.size()) {
          return BadRequest("invalid_argument",
                            StrCat("the key has ", key_fields.size(), " part(s)"));
        }
        for (size_t k = 0; k < parts.size(); ++k) {
          size_t idx = static_cast<size_t>(key_fields[k]);
          Status st = ToExpr(*parts[k], schema.field(idx), texts[idx], vars[idx]);
          if (!st.ok()) return HttpResponse::FromStatus(st);
        }
      }
      // Features of the key, from the online store.
      auto t0 = std::chrono::steady_clock::now();
      const size_t num_features = ctx_.features->feature_names(s).size();
      std::vector<FeatureValue> values(num_features);
      w.BeginObject();
      if (key != nullptr) {
        // The key as sent: its text, or the texts of a multi-field key's parts
        // (regression: only the first part was echoed).
        std::string kt;
        if (key->is_array() && !key->is_number_array()) {
          w.Key("key").BeginArray();
          for (const JsonValue& part : key->items()) {
            KeyText(part, kt);
            w.String(kt);
          }
          w.EndArray();
        } else {
          KeyText(*key, kt);
          w.Key("key").String(kt);
        }
      }
      std::string fresh;
      JsonWriter fw(fresh);
      fw.BeginObject();
      for (const FeatureEngine::GroupInfo& g : ctx_.features->group_infos(s)) {
        const std::string& gname = ctx_.features->asof_groups()[g.group]->name();
        std::vector<std::string> parts;
        bool complete = true;
        for (int f : g.key) {
          if (vars[static_cast<size_t>(f)].is_null()) complete = false;
          parts.push_back(texts[static_cast<size_t>(f)]);
        }
        fw.Key(gname).BeginObject();
        if (!complete) {
          fw.Key("found")
              .Bool(false)
              .Key("reason")
              .String("key fields missing in the request")
              .EndObject();
          missing_reads_->Increment();
          continue;
        }
        auto r = reader_->Read(gname, FeatureEngine::EncodeKeyParts(parts), policy);
        if (!r.ok() && r.status().code() == StatusCode::kNotFound &&
            policy.value_or(reader_->FindGroup(gname)->policy) == StalePolicy::kFlag) {
          // A key the group has never seen (a new card, a new user) is the
          // common case in a request path, not an error: its features are
          // missing (null; the model's `missing` setting decides), flagged
          // found:false. `reject` still refuses it, `default` serves defaults.
          fw.Key("found").Bool(false).Key("stale").Bool(false).EndObject();
          missing_reads_->Increment();
          continue;
        }
        if (!r.ok()) {
          auto [status, code] = StatusHttpCode(r.status().code());
          w.EndObject();
          w.EndArray();
          return HttpResponse::Error(status, code, r.status().message());
        }
        for (size_t i = 0; i < g.count && i < r->vector.values.size(); ++i) {
          values[g.offset + i] = r->vector.values[i];
        }
        fw.Key("found").Bool(r->found).Key("stale").Bool(r->stale);
        if (r->found) fw.Key("age_ms").Double(r->age.millis());
        fw.EndObject();
        if (r->found) staleness_->Observe(std::max(0.0, r->age.seconds()));
        (r->found ? (r->stale ? stale_reads_ : fresh_reads_) : missing_reads_)->Increment();
      }
      fw.EndObject();
      auto t1 = std::chrono::steady_clock::now();
      // Derived features from this request's fields, then the model inputs.
      ctx_.features->RecomputeDerived(s, vars, values);
      std::vector<ExprValue> all = vars;
      for (const FeatureValue& v : values) all.push_back(v.ToExpr());
      auto t2 = std::chrono::steady_clock::now();
      auto score = ctx_.scoring->ScoreRequest(static_cast<size_t>(m), all);
      auto t3 = std::chrono::steady_clock::now();
      lookup += t1 - t0;
      compute += t2 - t1;
      inference += t3 - t2;
      if (!score.ok()) {
        w.EndObject();
        w.EndArray();
        return HttpResponse::FromStatus(score.status());
      }
      version = score->version;
      if (!score->missing.empty())
        served_missing_[static_cast<size_t>(m)]->Increment(score->missing.size());
      std::string scored;
      JsonWriter sw(scored);
      if (score->multiclass) {
        sw.BeginArray();
        size_t best = 0;
        for (size_t k = 0; k < score->scores.size(); ++k) {
          sw.Double(score->scores[k]);
          if (score->scores[k] > score->scores[best]) best = k;
        }
        sw.EndArray();
        w.Key("scores").Raw(scored).Key("class").Int(static_cast<int64_t>(best));
      } else {
        w.Key("score").Double(score->scores[0]);
        if (score->classifier) w.Key("decision").Bool(score->scores[0] >= score->threshold);
      }
      w.Key("freshness").Raw(fresh);
      if (!score->missing.empty()) {
        w.Key("missing_inputs").BeginArray();
        for (const std::string& name : score->missing) w.String(name);
        w.EndArray();
      }
      w.EndObject();
      // The audit record: inputs, model version, output.
      if (audit_) {
        if (audit_items.size() > 1) audit_items.push_back(',');
        JsonWriter aw(audit_items);
        aw.BeginObject().Key("fields").BeginObject();
        for (size_t i = 0; i < vars.size(); ++i) {
          if (vars[i].is_null()) continue;
          aw.Key(schema.field(i).name);
          switch (vars[i].type) {
            case ExprType::kString:
              aw.String(vars[i].s);
              break;
            case ExprType::kBool:
              aw.Bool(vars[i].b);
              break;
            case ExprType::kInt:
              aw.Int(vars[i].i);
              break;
            default:
              aw.Double(vars[i].d);
              break;
          }
        }
        aw.EndObject().Key("features").BeginObject();
        const auto& names = ctx_.features->feature_names(s);
        for (size_t i = 0; i < names.size(); ++i) {
          std::string v;
          values[i].AppendJson(v);
          aw.Key(names[i]).Raw(v);
        }
        aw.EndObject()
            .Key("output")
            .Raw(scored.empty() ? StrCat(score->scores[0]) : scored)
            .EndObject();
      }
    }
    w.EndArray();
    w.Key("version").Int(version);
    auto t_end = std::chrono::steady_clock::now();
    stage_["lookup"]->Observe(Seconds(lookup));
    stage_["compute"]->Observe(Seconds(compute));
    stage_["inference"]->Observe(Seconds(inference));
    stage_["total"]->Observe(Seconds(t_end - t_start));
    w.Key("latency_us")
        .BeginObject()
        .Key("lookup")
        .Int(Micros(lookup))
        .Key("compute")
        .Int(Micros(compute))
        .Key("inference")
        .Int(Micros(inference))
        .Key("total")
        .Int(Micros(t_end - t_start))
        .EndObject();
    w.EndObject();
    if (audit_) {
      audit_items.push_back(']');
      Audit("prediction", q,
            StrCat("\"model\":", JsonQuote(model->str()), ",\"version\":", version,
                   ",\"predictions\":", audit_items));
    }
    return HttpResponse::Json(std::move(out));
  }

  // A JSON request value as a field's expression value (texts keep strings
  // alive and hold key text).
  static Status ToExpr(const JsonValue& v, const FieldSpec& f, std::string& text, ExprValue& out) {
    text.clear();
    if (v.is_null()) {
      out = ExprValue::Null();
      return Status::OK();
    }
    auto wrong = [&](std::string_view expected) {
      return Status::InvalidArgument(
          StrCat("field ", Quote(f.name), ": expected ", expected, ", got ", v.type_name()));
    };
    switch (f.type) {
      case FieldType::kString:
        if (!v.is_string()) return wrong("a string");
        text = v.str();
        out = ExprValue::String(text);
        return Status::OK();
      case FieldType::kInt:
        if (!v.is_number() || !v.is_integer()) return wrong("an int");
        out = ExprValue::Int(static_cast<int64_t>(v.number()));
        AppendInt(text, out.i);
        return Status::OK();
      case FieldType::kDouble:
        if (!v.is_number()) return wrong("a number");
        out = ExprValue::Double(v.number());
        AppendDouble(text, v.number());
        return Status::OK();
      case FieldType::kBool:
        if (!v.is_bool()) return wrong("a bool");
        out = ExprValue::Bool(v.bool_value());
        text = v.bool_value() ? "true" : "false";
        return Status::OK();
      case FieldType::kTimestamp: {
        if (v.is_string()) {
          auto t = ParseIso8601(v.str());
          if (!t.ok()) return t.status().WithContext(StrCat("field ", Quote(f.name)));
          out = ExprValue::Double(static_cast<double>(t->micros()) / 1e6);
          AppendIso8601(text, *t);
          return Status::OK();
        }
        if (v.is_number()) {
          double secs =
              f.timestamp_format == TimestampFormat::kEpochMillis ? v.number() / 1e3 : v.number();
          out = ExprValue::Double(secs);
          AppendIso8601(text,
                        EventTime::FromMicros(static_cast<int64_t>(std::llround(secs * 1e6))));
          return Status::OK();
        }
        return wrong("a timestamp");
      }
    }
    return wrong("a value");
  }

  // ---- Admin ----
  HttpResponse ListModels(const HttpRequest&) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject().Key("models").BeginArray();
    for (size_t m = 0; m < ctx_.scoring->num_models(); ++m) {
      const ModelSpec& spec = ctx_.scoring->model_spec(m);
      auto served = ctx_.scoring->Served(m);
      w.BeginObject().Key("name").String(spec.name).Key("source").String(spec.source);
      w.Key("kind").String(spec.online ? "online" : spec.registry.empty() ? "file" : "registry");
      if (served) w.Key("version").Int(served->version.value());
      if (const ModelRegistry* reg = ctx_.scoring->registry(m)) {
        w.Key("registry_name").String(spec.registry_name);
        auto versions = reg->ListVersions(spec.registry_name);
        if (versions.ok()) {
          w.Key("registry_versions").BeginArray();
          for (const VersionMetadata& v : *versions) w.Int(v.version.value());
          w.EndArray();
        }
        auto live = reg->LiveVersion(spec.registry_name);
        if (live.ok()) w.Key("live").Int(live->value());
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    return HttpResponse::Json(std::move(out));
  }

  Result<size_t> RegistryModel(const HttpRequest& q) {
    int m = ctx_.scoring->FindModel(q.Param("name"));
    if (m < 0) return Status::NotFound(StrCat("no model named ", Quote(q.Param("name"))));
    if (ctx_.scoring->registry(static_cast<size_t>(m)) == nullptr) {
      return Status::FailedPrecondition(
          StrCat("model ", Quote(q.Param("name")), " does not come from a registry"));
    }
    return static_cast<size_t>(m);
  }

  HttpResponse Promote(const HttpRequest& q) {
    std::lock_guard<std::mutex> lock(admin_mu_);
    auto m = RegistryModel(q);
    if (!m.ok()) return HttpResponse::FromStatus(m.status());
    auto body = ParseJson(q.body);
    const JsonValue* v = body.ok() && body->is_object() ? body->Find("version") : nullptr;
    if (v == nullptr || !v->is_number() || !v->is_integer() || v->number() < 1) {
      return BadRequest("invalid_argument", "expected {\"version\": N}");
    }
    const ModelSpec& spec = ctx_.scoring->model_spec(*m);
    ModelVersion version(static_cast<int64_t>(v->number()));
    auto reg = ModelRegistry::Open(spec.registry, *ctx_.clock);
    if (!reg.ok()) return HttpResponse::FromStatus(reg.status());
    // Load first: a version that cannot be served is not promoted.
    auto before = ctx_.scoring->Served(*m);
    Status s = ctx_.scoring->Reload(*m, version);
    if (s.ok()) {
      s = reg->Promote(spec.registry_name, version);
      // The registry still names the old version (it is what the next start
      // loads): serve it again rather than disagree with it.
      if (!s.ok() && before != nullptr) (void)ctx_.scoring->Reload(*m, before->version);
    }
    Audit("admin", q,
          StrCat("\"action\":\"promote\",\"model\":", JsonQuote(spec.name),
                 ",\"version\":", version.value(), ",\"ok\":", s.ok() ? "true" : "false"));
    if (!s.ok()) return HttpResponse::FromStatus(s);
    return HttpResponse::Json(
        StrCat("{\"model\":", JsonQuote(spec.name), ",\"live\":", version.value(), "}"));
  }

  // The online learner's state as last published (online_snapshot bytes),
  // for `eddy model register`: the learner moves into the registry without
  // stopping the pipeline.
  HttpResponse Snapshot(const HttpRequest& q) {
    int m = ctx_.scoring->FindModel(q.Param("name"));
    if (m < 0) {
      return HttpResponse::Error(404, "not_found",
                                 StrCat("no model named ", Quote(q.Param("name"))));
    }
    const size_t i = static_cast<size_t>(m);
    if (!ctx_.scoring->model_spec(i).online) {
      return HttpResponse::Error(404, "not_found",
                                 StrCat("model ", Quote(q.Param("name")),
                                        " is not an online learner: only learners have snapshots"));
    }
    auto snap = ctx_.scoring->PublishedSnapshot(i);
    if (snap == nullptr) {
      return HttpResponse::Error(
          503, "unavailable",
          StrCat("online learner ", Quote(q.Param("name")),
                 " has not published its first export yet: retry in a moment"));
    }
    Audit("admin", q,
          StrCat("\"action\":\"snapshot\",\"model\":", JsonQuote(q.Param("name")),
                 ",\"updates\":", snap->updates, ",\"ok\":true"));
    HttpResponse r;
    r.content_type = "application/octet-stream";
    r.body = snap->bytes;
    r.headers.emplace_back("X-Eddy-Updates", StrCat(snap->updates));
    r.headers.emplace_back("X-Eddy-Published-At-Us", StrCat(snap->published_at.micros()));
    return r;
  }

  HttpResponse Rollback(const HttpRequest& q) {
    std::lock_guard<std::mutex> lock(admin_mu_);
    auto m = RegistryModel(q);
    if (!m.ok()) return HttpResponse::FromStatus(m.status());
    std::optional<ModelVersion> to;
    if (!Trim(q.body).empty()) {
      auto body = ParseJson(q.body);
      if (!body.ok() || !body->is_object())
        return BadRequest("bad_json", "expected {\"to\": N} or an empty body");
      if (const JsonValue* v = body->Find("to"); v != nullptr) {
        if (!v->is_number() || !v->is_integer())
          return BadRequest("invalid_argument", "\"to\" must be a version number");
        to = ModelVersion(static_cast<int64_t>(v->number()));
      }
    }
    const ModelSpec& spec = ctx_.scoring->model_spec(*m);
    auto reg = ModelRegistry::Open(spec.registry, *ctx_.clock);
    if (!reg.ok()) return HttpResponse::FromStatus(reg.status());
    auto before = reg->LiveVersion(spec.registry_name);
    auto live = reg->Rollback(spec.registry_name, to);
    Status s = live.ok() ? ctx_.scoring->Reload(*m, *live) : live.status();
    if (live.ok() && !s.ok() && before.ok()) {
      // The slot kept serving `before`; make the registry say so again, or
      // the next start would load a version that cannot be served.
      Status undo = reg->Promote(spec.registry_name, *before);
      if (!undo.ok()) {
        s = Status(s.code(), StrCat(s.message(), "; restoring live version ", before->value(),
                                    " in the registry failed too: ", undo.message()));
      }
    }
    Audit("admin", q,
          StrCat("\"action\":\"rollback\",\"model\":", JsonQuote(spec.name), ",\"version\":",
                 live.ok() ? live->value()
                 : to      ? to->value()
                           : 0,
                 ",\"ok\":", s.ok() ? "true" : "false"));
    if (!s.ok()) return HttpResponse::FromStatus(s);
    return HttpResponse::Json(
        StrCat("{\"model\":", JsonQuote(spec.name), ",\"live\":", live->value(), "}"));
  }

  // ---- Open Inference Protocol ----
  Result<std::shared_ptr<const ServedModel>> FindServed(const HttpRequest& q) {
    int m = ctx_.scoring->FindModel(q.Param("name"));
    if (m < 0) return Status::NotFound(StrCat("no model named ", Quote(q.Param("name"))));
    auto served = ctx_.scoring->Served(static_cast<size_t>(m));
    if (served == nullptr) return Status::Unavailable("the model is not loaded yet");
    std::string_view v = q.Param("version");
    if (!v.empty() && v != StrCat(served->version.value())) {
      return Status::NotFound(StrCat("model ", Quote(q.Param("name")), " serves version ",
                                     served->version.value(), ", not ", v));
    }
    return served;
  }

  HttpResponse ModelMetadata(const HttpRequest& q) {
    auto served = FindServed(q);
    if (!served.ok()) return HttpResponse::FromStatus(served.status());
    const ModelInfo& info = (*served)->model->info();
    std::string out;
    JsonWriter w(out);
    w.BeginObject().Key("name").String(q.Param("name"));
    w.Key("versions").BeginArray().String(StrCat((*served)->version.value())).EndArray();
    w.Key("platform").String(StrCat("eddy/", ModelFormatName(info.format)));
    w.Key("inputs").BeginArray();
    for (const std::string& f : info.feature_names) {
      w.BeginObject()
          .Key("name")
          .String(f)
          .Key("datatype")
          .String("FP64")
          .Key("shape")
          .BeginArray()
          .Int(-1)
          .EndArray()
          .EndObject();
    }
    for (const std::string& f : info.hashed_fields) {
      w.BeginObject()
          .Key("name")
          .String(f)
          .Key("datatype")
          .String("BYTES")
          .Key("shape")
          .BeginArray()
          .Int(-1)
          .EndArray()
          .EndObject();
    }
    w.EndArray();
    w.Key("outputs")
        .BeginArray()
        .BeginObject()
        .Key("name")
        .String("output-0")
        .Key("datatype")
        .String("FP64")
        .Key("shape")
        .BeginArray()
        .Int(-1)
        .Int(static_cast<int64_t>(info.num_outputs))
        .EndArray()
        .EndObject()
        .EndArray();
    w.EndObject();
    return HttpResponse::Json(std::move(out));
  }

  HttpResponse Infer(const HttpRequest& q) {
    auto served = FindServed(q);
    if (!served.ok()) return HttpResponse::FromStatus(served.status());
    const Model& model = *(*served)->model;
    const ModelInfo& info = model.info();
    const size_t nf = info.feature_names.size();
    auto body = ParseJson(q.body);
    if (!body.ok()) return BadRequest("bad_json", body.status().message());
    const JsonValue* inputs = body->is_object() ? body->Find("inputs") : nullptr;
    if (inputs == nullptr || !inputs->is_array() || inputs->items().empty()) {
      return BadRequest(
          "invalid_argument",
          "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}, ...]}");
    }
    // Either one tensor [N, F] in the model's feature order, or one tensor
    // per feature (by name) of shape [N] or [N, 1]; BYTES tensors for hashed
    // string fields.
    std::vector<double> rows;
    size_t n = 0;
    std::vector<std::vector<std::string>> strings(info.hashed_fields.size());
    auto numbers = [](const JsonValue& t, std::vector<double>& out) -> bool {
      const JsonValue* data = t.Find("data");
      if (data == nullptr || !data->is_array()) return false;
      if (data->is_number_array()) {
        out = data->numbers();
        return true;
      }
      out.clear();
      for (const JsonValue& x : data->items()) {
        if (x.is_number()) {
          out.push_back(x.number());
        } else if (x.is_bool()) {
          out.push_back(x.bool_value() ? 1 : 0);
        } else if (x.is_null()) {
          out.push_back(std::nan(""));
        } else {
          return false;
        }
      }
      return true;
    };
    // A tensor's "shape", when given, must describe its data: its product is
    // the number of values, and an [N, F] tensor has the model's F columns.
    // (Otherwise an [N, 3] tensor sent to a 4-input model would be read as
    // rows of 4, silently.)
    auto check_shape = [&](const JsonValue& t, size_t values,
                           std::optional<size_t> columns) -> std::optional<HttpResponse> {
      const JsonValue* shape = t.Find("shape");
      if (shape == nullptr) return std::nullopt;
      if (!shape->is_number_array() || !shape->all_integers() || shape->numbers().empty())
        return BadRequest("invalid_argument", "\"shape\" must be an array of integers");
      double product = 1;
      for (double d : shape->numbers()) product *= d;
      if (product != static_cast<double>(values)) {
        return BadRequest("invalid_argument",
                          StrCat("the shape does not match the data: ", values, " values"));
      }
      if (columns && shape->numbers().size() == 2 &&
          shape->numbers()[1] != static_cast<double>(*columns)) {
        return BadRequest(
            "invalid_argument",
            StrCat("an [N, F] input needs F = ", *columns,
                   " columns, the model's inputs in order (GET /v2/models/", q.Param("name"), ")"));
      }
      return std::nullopt;
    };
    const auto& tensors = inputs->items();
    // One tensor is [N, F] unless it is named after one of the model's
    // inputs (then it is that input alone, the others missing).
    bool one_matrix = tensors.size() == 1 && nf > 0;
    if (one_matrix && nf > 1) {
      const JsonValue* name = tensors[0].Find("name");
      if (name != nullptr && name->is_string() &&
          std::find(info.feature_names.begin(), info.feature_names.end(), name->str()) !=
              info.feature_names.end()) {
        one_matrix = false;
      }
    }
    if (one_matrix) {
      std::vector<double> data;
      if (!numbers(tensors[0], data))
        return BadRequest("invalid_argument", "input data must be numbers");
      if (data.size() % nf != 0) {
        return BadRequest("invalid_argument", StrCat("the model reads ", nf, " features; ",
                                                     data.size(), " values are not whole rows"));
      }
      if (auto bad = check_shape(tensors[0], data.size(), nf)) return *bad;
      n = data.size() / nf;
      rows = std::move(data);
    } else {
      std::map<std::string, std::vector<double>> by_name;
      for (const JsonValue& t : tensors) {
        const JsonValue* name = t.Find("name");
        if (name == nullptr || !name->is_string())
          return BadRequest("invalid_argument", "every input needs a name");
        const JsonValue* dt = t.Find("datatype");
        if (dt != nullptr && dt->is_string() && dt->str() == "BYTES") {
          bool found = false;
          for (size_t h = 0; h < info.hashed_fields.size(); ++h) {
            if (info.hashed_fields[h] != name->str()) continue;
            const JsonValue* data = t.Find("data");
            if (data == nullptr || !data->is_array())
              return BadRequest("invalid_argument", "BYTES data must be an array of strings");
            for (const JsonValue& x : data->items())
              strings[h].push_back(x.is_string() ? x.str() : "");
            found = true;
          }
          if (!found)
            return BadRequest("invalid_argument",
                              StrCat("the model hashes no field ", Quote(name->str())));
          continue;
        }
        std::vector<double> data;
        if (!numbers(t, data))
          return BadRequest("invalid_argument",
                            StrCat("input ", Quote(name->str()), ": data must be numbers"));
        if (auto bad = check_shape(t, data.size(), size_t{1})) return *bad;
        by_name[name->str()] = std::move(data);
      }
      for (const auto& [name, data] : by_name) n = std::max(n, data.size());
      rows.assign(n * nf, std::nan(""));
      for (size_t f = 0; f < nf; ++f) {
        auto it = by_name.find(info.feature_names[f]);
        if (it == by_name.end()) continue;  // missing feature: NaN
        if (it->second.size() != n)
          return BadRequest("invalid_argument", "all inputs need the same number of rows");
        for (size_t i = 0; i < n; ++i) rows[i * nf + f] = it->second[i];
      }
    }
    const size_t k = model.num_outputs();
    std::vector<double> scores(n * k);
    for (size_t i = 0; i < n; ++i) {
      std::vector<CategoricalValue> cats;
      for (size_t h = 0; h < strings.size(); ++h) {
        if (i < strings[h].size()) cats.push_back({info.hashed_fields[h], strings[h][i]});
      }
      Status s = model.Predict(std::span<const double>(rows.data() + i * nf, nf), cats,
                               std::span<double>(scores.data() + i * k, k));
      if (!s.ok()) return HttpResponse::FromStatus(s);
    }
    std::string out;
    JsonWriter w(out);
    w.BeginObject()
        .Key("model_name")
        .String(q.Param("name"))
        .Key("model_version")
        .String(StrCat((*served)->version.value()));
    if (const JsonValue* id = body->Find("id"); id != nullptr && id->is_string())
      w.Key("id").String(id->str());
    w.Key("outputs")
        .BeginArray()
        .BeginObject()
        .Key("name")
        .String("output-0")
        .Key("datatype")
        .String("FP64");
    w.Key("shape")
        .BeginArray()
        .Int(static_cast<int64_t>(n))
        .Int(static_cast<int64_t>(k))
        .EndArray();
    std::string data;
    JsonWriter dw(data);
    dw.BeginArray();
    for (double x : scores) dw.Double(x);
    dw.EndArray();
    w.Key("data").Raw(data).EndObject().EndArray().EndObject();
    if (audit_) {
      // The inputs as the model saw them: one row per prediction in the
      // model's feature order (null = missing), then its hashed strings.
      std::string inputs;
      JsonWriter iw(inputs);
      iw.BeginArray();
      for (size_t i = 0; i < n; ++i) {
        iw.BeginArray();
        for (size_t f = 0; f < nf; ++f) iw.Double(rows[i * nf + f]);
        iw.EndArray();
      }
      iw.EndArray();
      std::string members = StrCat("\"model\":", JsonQuote(q.Param("name")),
                                   ",\"version\":", (*served)->version.value(),
                                   ",\"protocol\":\"v2\",\"rows\":", n, ",\"inputs\":", inputs);
      if (!info.hashed_fields.empty()) {
        std::string hashed;
        JsonWriter hw(hashed);
        hw.BeginObject();
        for (size_t h = 0; h < strings.size(); ++h) {
          hw.Key(info.hashed_fields[h]).BeginArray();
          for (const std::string& v : strings[h]) hw.String(v);
          hw.EndArray();
        }
        hw.EndObject();
        StrAppend(members, ",\"hashed\":", hashed);
      }
      StrAppend(members, ",\"outputs\":", data);
      Audit("prediction", q, members);
    }
    return HttpResponse::Json(std::move(out));
  }

  // ---- Engine metrics, from the summary snapshot at scrape time ----
  void RegisterEngineMetrics() {
    auto summary = ctx_.summary;
    Clock* clock = ctx_.clock;
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_source_records_total", "Records of each source by outcome", MetricType::kCounter,
        {"source", "outcome"}, [summary](std::vector<MetricSample>& out) {
          for (const SourceSummary& s : summary().sources) {
            out.push_back({{s.name, "read"}, static_cast<double>(s.records)});
            out.push_back({{s.name, "accepted"}, static_cast<double>(s.accepted)});
            out.push_back({{s.name, "late"}, static_cast<double>(s.late)});
            out.push_back({{s.name, "dead_letter"}, static_cast<double>(s.dead_letter)});
            out.push_back({{s.name, "filtered"}, static_cast<double>(s.filtered)});
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_dead_letters_total", "Dead-lettered records by source and error code",
        MetricType::kCounter, {"source", "error"}, [summary](std::vector<MetricSample>& out) {
          for (const SourceSummary& s : summary().sources) {
            for (const auto& [code, n] : s.errors)
              out.push_back({{s.name, code}, static_cast<double>(n)});
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_watermark_lag_seconds", "Processing time minus the source watermark (event time)",
        MetricType::kGauge, {"source"}, [summary, clock](std::vector<MetricSample>& out) {
          double now = static_cast<double>(clock->Now().micros()) / 1e6;
          for (const SourceSummary& s : summary().sources) {
            if (s.watermark_micros == INT64_MIN || s.watermark_micros == INT64_MAX) continue;
            out.push_back({{s.name}, now - static_cast<double>(s.watermark_micros) / 1e6});
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_feature_group_keys", "Keys with state in a per-event feature group",
        MetricType::kGauge, {"group"}, [summary](std::vector<MetricSample>& out) {
          for (const FeatureGroupSummary& g : summary().groups) {
            if (g.kind == "per-event") out.push_back({{g.name}, static_cast<double>(g.keys)});
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_feature_group_buffered_events", "Events buffered by a per-event feature group",
        MetricType::kGauge, {"group"}, [summary](std::vector<MetricSample>& out) {
          for (const FeatureGroupSummary& g : summary().groups) {
            if (g.kind == "per-event") out.push_back({{g.name}, static_cast<double>(g.entries)});
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_model_predictions_total", "Predictions made in the stream", MetricType::kCounter,
        {"model", "decision"}, [summary](std::vector<MetricSample>& out) {
          for (const ModelSummary& m : summary().models) {
            out.push_back({{m.name, "positive"}, static_cast<double>(m.positives)});
            out.push_back({{m.name, "negative"}, static_cast<double>(m.scored - m.positives)});
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_model_quality", "Rolling quality of each model from feedback (last labels window)",
        MetricType::kGauge, {"model", "metric"}, [summary](std::vector<MetricSample>& out) {
          for (const ModelSummary& m : summary().models) {
            if (m.window_count == 0) continue;
            auto add = [&](const char* metric, double v) {
              if (std::isfinite(v)) out.push_back({{m.name, metric}, v});
            };
            if (m.classifier) {
              add("auc", m.auc);
              add("log_loss", m.log_loss);
              add("precision", m.precision);
              add("recall", m.recall);
              add("f1", m.f1);
              add("false_positive_rate", m.false_positive_rate);
            } else {
              add("mae", m.mae);
              add("rmse", m.rmse);
            }
          }
        }));
    callbacks_.push_back(metrics_.AddCollector(
        "eddy_feedback_labels_total", "Labels received by outcome", MetricType::kCounter,
        {"outcome"}, [summary](std::vector<MetricSample>& out) {
          FeedbackSummary f = summary().feedback;
          out.push_back({{"matched"}, static_cast<double>(f.matched)});
          out.push_back({{"no_prediction"}, static_cast<double>(f.no_prediction)});
          out.push_back({{"after_horizon"}, static_cast<double>(f.after_horizon)});
          out.push_back({{"duplicate"}, static_cast<double>(f.duplicates)});
          out.push_back({{"pending"}, static_cast<double>(f.pending)});
        }));
  }

  ServingContext ctx_;
  MetricsRegistry metrics_;
  std::atomic<bool> ready_{false};
  // Promote and rollback, one at a time: each loads a version, changes the
  // registry and may undo the load; interleaved on two server threads they
  // could leave the slot serving one version and the registry naming another.
  std::mutex admin_mu_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<FeatureReader> reader_;
  std::map<std::string, std::unique_ptr<EventLog>> logs_;
  std::unique_ptr<HttpServer> server_;
  std::map<std::string, Histogram*> stage_;
  Histogram* staleness_ = nullptr;
  Counter *stale_reads_ = nullptr, *fresh_reads_ = nullptr, *missing_reads_ = nullptr;
  std::vector<Histogram*> stream_scores_;
  std::vector<Counter*> served_missing_;
  std::vector<MetricCallback> callbacks_;
};

Result<std::unique_ptr<ServingApi>> ServingApi::Create(ServingContext ctx) {
  auto impl = std::make_unique<Impl>(std::move(ctx));
  EDDY_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<ServingApi>(new ServingApi(std::move(impl)));
}

ServingApi::ServingApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServingApi::~ServingApi() { impl_->Stop(Duration::Zero()); }
Status ServingApi::Start() { return impl_->Start(); }
void ServingApi::SetReady() { impl_->SetReady(); }
void ServingApi::Stop(Duration deadline) { impl_->Stop(deadline); }
Status ServingApi::ReopenLogs() { return impl_->ReopenLogs(); }
uint16_t ServingApi::port() const { return impl_->port(); }
void ServingApi::ObserveStreamScore(size_t model, double score) {
  impl_->ObserveStreamScore(model, score);
}
MetricsRegistry& ServingApi::metrics() { return impl_->metrics(); }
void ServingApi::PredictLatency(uint64_t& count, double& p50, double& p99) const {
  impl_->PredictLatency(count, p50, p99);
}

}  // namespace eddy
