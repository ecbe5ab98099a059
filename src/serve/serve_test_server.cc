// serve_test_server: the HTTP server with demo routes, for the integration
// tests (tests/integration/serve) and the load test (scripts/load.sh). Not
// part of the product; the real endpoints are wired in `eddy run`.
//
//   serve_test_server [--port 0] [--threads 2] [--tokens FILE] [--tls-cert F --tls-key F]
//                     [--read-timeout 10s] [--idle-timeout 60s] [--write-timeout 10s]
//                     [--max-body-bytes N] [--max-header-bytes N] [--max-connections N]
//                     [--audit FILE] [--not-ready] [--public-metrics] [--stop-deadline 10s]
//
// Tokens also come from $EDDY_API_TOKENS; with none, auth is off. Prints
// "listening on <port>" on stdout once it accepts connections, stops
// gracefully on SIGTERM or SIGINT and then prints "stopped".
//
// Routes (role in brackets):
//   GET  /v1/noop [read]                         {"ok":true}: the bare server
//   POST /v1/predict [predict]                   parses the JSON body, a fixed score,
//                                                an audit record with --audit
//   POST /v1/echo [predict]                      parses the JSON body, reports its type
//   GET  /v1/slow?ms=N [read]                    sleeps N ms (at most 10000)
//   GET  /v1/seq/{n} [read]                      {"n":"<n>"}
//   GET  /v1/whoami [read]                       the caller's name and roles
//   GET  /v1/throw [read]                        a handler that throws
//   POST /v1/bulk [ingest]                       body limit 8 MiB
//   POST /v1/admin/{action} [admin]              an audited admin action
//   POST /v2/models/{name}[/versions/{version}]/infer [predict]

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "base/json_writer.h"
#include "base/strings.h"
#include "model/json_dom.h"
#include "monitor/metrics.h"
#include "serve/audit_log.h"
#include "serve/auth.h"
#include "serve/http_server.h"

namespace eddy {
namespace {

using model_internal::JsonValue;
using model_internal::ParseJson;

struct Flags {
  HttpServerOptions server;
  std::string tokens_file;
  std::string audit_path;
  bool not_ready = false;
  Duration stop_deadline = Duration::Seconds(10);
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "serve_test_server: %s (see the comment at the top of serve_test_server.cc)\n",
               why.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  f.server.port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    auto duration = [&]() {
      Result<Duration> d = ParseDuration(value());
      if (!d.ok()) Usage(d.status().ToString());
      return *d;
    };
    auto number = [&]() {
      return static_cast<size_t>(std::strtoull(value().c_str(), nullptr, 10));
    };
    if (a == "--address") {
      f.server.address = value();
    } else if (a == "--port") {
      f.server.port = static_cast<uint16_t>(number());
    } else if (a == "--threads") {
      f.server.threads = static_cast<int>(number());
    } else if (a == "--tokens") {
      f.tokens_file = value();
    } else if (a == "--tls-cert") {
      f.server.tls_cert_file = value();
    } else if (a == "--tls-key") {
      f.server.tls_key_file = value();
    } else if (a == "--read-timeout") {
      f.server.read_timeout = duration();
    } else if (a == "--idle-timeout") {
      f.server.idle_timeout = duration();
    } else if (a == "--write-timeout") {
      f.server.write_timeout = duration();
    } else if (a == "--max-body-bytes") {
      f.server.max_body_bytes = number();
    } else if (a == "--max-header-bytes") {
      f.server.max_header_bytes = number();
    } else if (a == "--max-connections") {
      f.server.max_connections = number();
    } else if (a == "--audit") {
      f.audit_path = value();
    } else if (a == "--not-ready") {
      f.not_ready = true;
    } else if (a == "--public-metrics") {
      f.server.public_metrics_and_readiness = true;
    } else if (a == "--stop-deadline") {
      f.stop_deadline = duration();
    } else {
      Usage("unknown flag " + a);
    }
  }
  return f;
}

// Parses a request body as JSON, or says why not as a 400 bad_json response.
Result<JsonValue> ParseBody(const HttpRequest& req, HttpResponse& error) {
  Result<JsonValue> v = ParseJson(req.body);
  if (!v.ok()) error = HttpResponse::Error(400, kErrBadJson, v.status().message());
  return v;
}

Status AddRoutes(Router& r, AuditLog* audit) {
  EDDY_RETURN_IF_ERROR(
      r.Add(HttpMethod::kGet, "/v1/noop", {.role = Role::kRead},
            [](const HttpRequest&) { return HttpResponse::Json("{\"ok\":true}"); }));
  EDDY_RETURN_IF_ERROR(r.Add(
      HttpMethod::kPost, "/v1/predict", {.role = Role::kPredict}, [audit](const HttpRequest& req) {
        HttpResponse error;
        Result<JsonValue> body = ParseBody(req, error);
        if (!body.ok()) return error;
        if (!body->is_object()) {
          return HttpResponse::Error(400, kErrInvalidArgument, "the body must be a JSON object");
        }
        const JsonValue* key = body->Find("key");
        if (key == nullptr || !key->is_string()) {
          return HttpResponse::Error(400, kErrInvalidArgument, "field 'key' must be a string");
        }
        double score = 0.25;
        std::string out;
        JsonWriter w(out);
        w.BeginObject().Key("key").String(key->str()).Key("score").Double(score);
        w.Key("model").String("demo").Key("version").String("1").EndObject();
        if (audit != nullptr) {
          std::string fields;
          JsonWriter f(fields);
          f.BeginObject().Key("model").String("demo").Key("version").String("1");
          f.Key("input").Raw(req.body.find('\n') == std::string_view::npos ? req.body : "null");
          f.Key("score").Double(score).EndObject();
          Status s = audit->Append("prediction", req.principal->name,
                                   std::string_view(fields).substr(1, fields.size() - 2));
          if (!s.ok()) return HttpResponse::FromStatus(s);
        }
        return HttpResponse::Json(std::move(out));
      }));
  EDDY_RETURN_IF_ERROR(
      r.Add(HttpMethod::kPost, "/v1/echo", {.role = Role::kPredict}, [](const HttpRequest& req) {
        HttpResponse error;
        Result<JsonValue> body = ParseBody(req, error);
        if (!body.ok()) return error;
        std::string out;
        JsonWriter w(out);
        w.BeginObject().Key("type").String(body->type_name());
        w.Key("bytes").Uint(req.body.size()).EndObject();
        return HttpResponse::Json(std::move(out));
      }));
  EDDY_RETURN_IF_ERROR(
      r.Add(HttpMethod::kGet, "/v1/slow", {.role = Role::kRead}, [](const HttpRequest& req) {
        std::optional<std::string> ms_text = req.QueryParam("ms");
        long ms = ms_text ? std::strtol(ms_text->c_str(), nullptr, 10) : 100;
        ms = std::clamp(ms, 0L, 10000L);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return HttpResponse::Json(StrCat("{\"slept_ms\":", static_cast<int64_t>(ms), "}"));
      }));
  EDDY_RETURN_IF_ERROR(
      r.Add(HttpMethod::kGet, "/v1/seq/{n}", {.role = Role::kRead}, [](const HttpRequest& req) {
        std::string out;
        JsonWriter(out).BeginObject().Key("n").String(req.Param("n")).EndObject();
        return HttpResponse::Json(std::move(out));
      }));
  EDDY_RETURN_IF_ERROR(
      r.Add(HttpMethod::kGet, "/v1/whoami", {.role = Role::kRead}, [](const HttpRequest& req) {
        std::string out;
        JsonWriter w(out);
        w.BeginObject().Key("name").String(req.principal->name);
        w.Key("roles").String(req.principal->roles.ToString()).EndObject();
        return HttpResponse::Json(std::move(out));
      }));
  EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kGet, "/v1/throw", {.role = Role::kRead},
                             [](const HttpRequest&) -> HttpResponse {
                               throw std::runtime_error("demo handler failure");
                             }));
  EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v1/bulk",
                             {.role = Role::kIngest, .max_body_bytes = 8 << 20},
                             [](const HttpRequest& req) {
                               return HttpResponse::Json(StrCat(
                                   "{\"bytes\":", static_cast<int64_t>(req.body.size()), "}"));
                             }));
  EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v1/admin/{action}", {.role = Role::kAdmin},
                             [audit](const HttpRequest& req) {
                               if (audit != nullptr) {
                                 std::string fields = "\"action\":";
                                 AppendJsonString(fields, req.Param("action"));
                                 Status s = audit->Append("admin", req.principal->name, fields);
                                 if (!s.ok()) return HttpResponse::FromStatus(s);
                               }
                               std::string out;
                               JsonWriter w(out);
                               w.BeginObject().Key("action").String(req.Param("action"));
                               w.Key("caller").String(req.principal->name).EndObject();
                               return HttpResponse::Json(std::move(out));
                             }));
  auto infer = [](const HttpRequest& req) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject().Key("model_name").String(req.Param("name"));
    w.Key("model_version").String(req.Param("version")).EndObject();
    return HttpResponse::Json(std::move(out));
  };
  EDDY_RETURN_IF_ERROR(
      r.Add(HttpMethod::kPost, "/v2/models/{name}/infer", {.role = Role::kPredict}, infer));
  EDDY_RETURN_IF_ERROR(r.Add(HttpMethod::kPost, "/v2/models/{name}/versions/{version}/infer",
                             {.role = Role::kPredict}, infer));
  return Status::OK();
}

int Main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);

  // Signals are taken synchronously by this thread: block them before any
  // other thread starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<TokenStore> tokens;
  if (!flags.tokens_file.empty()) {
    Result<TokenStore> t = TokenStore::LoadFile(flags.tokens_file);
    if (!t.ok()) Usage(t.status().ToString());
    tokens = std::make_unique<TokenStore>(std::move(*t));
  }
  Result<TokenStore> env = TokenStore::FromEnv("EDDY_API_TOKENS");
  if (!env.ok()) Usage(env.status().ToString());
  if (!env->empty()) {
    if (!tokens) tokens = std::make_unique<TokenStore>();
    Status s = tokens->Merge(std::move(*env));
    if (!s.ok()) Usage(s.ToString());
  }

  MetricsRegistry registry;
  registry.RegisterProcessMetrics();
  std::unique_ptr<AuditLog> audit;
  if (!flags.audit_path.empty()) {
    Result<std::unique_ptr<AuditLog>> a =
        AuditLog::Open(AuditLogOptions{.path = flags.audit_path}, Clock::System(), &registry);
    if (!a.ok()) Usage(a.status().ToString());
    audit = std::move(*a);
  }

  Router router;
  Status s = AddRoutes(router, audit.get());
  if (!s.ok()) Usage(s.ToString());
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Create(flags.server, std::move(router), registry, tokens.get());
  if (!server.ok()) Usage(server.status().ToString());
  if (flags.not_ready) {
    (*server)->SetReadinessCheck([] { return Status::Unavailable("models are not loaded yet"); });
  }
  s = (*server)->Start();
  if (!s.ok()) {
    std::fprintf(stderr, "serve_test_server: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("listening on %u\n", static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "serve_test_server: %s, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Stop(flags.stop_deadline);
  if (audit) {
    s = audit->Stop();
    if (!s.ok()) {
      std::fprintf(stderr, "serve_test_server: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::printf("stopped\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) { return eddy::Main(argc, argv); }
