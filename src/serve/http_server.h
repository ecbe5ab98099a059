// The HTTP/1.1 server every Eddy endpoint runs on (Boost.Beast underneath;
// nothing of it shows here).
//
// Model. One io_context run by `threads` threads; each connection is a
// chain of asynchronous reads and writes on its own strand, so a slow or
// stalled client costs a socket and a few KiB, never a thread. Requests on a
// connection are handled one at a time, in order: pipelined requests are
// answered in the order they came. Handlers (see router.h) run synchronously
// on the server thread that read the request.
//
// Limits, each answered with a JSON error and counted in
// eddy_http_connection_closes_total{reason}:
//   - header bytes > max_header_bytes            -> 431 headers_too_large, close
//   - body bytes > max_body_bytes (or the route's) -> 413 payload_too_large, close
//   - a request not fully read within read_timeout -> dropped (read_timeout)
//   - no new request within idle_timeout          -> closed (idle_timeout)
//   - a response not taken within write_timeout   -> dropped (write_timeout)
//   - more than max_connections open              -> new ones closed at once
// Malformed HTTP gets 400 bad_request and the connection is closed.
//
// Built-in routes: GET /healthz (liveness: always 200 while the server
// runs; public), GET /readyz (the readiness callback: 200 or 503), GET
// /metrics (the registry in Prometheus text format). /readyz and /metrics
// need the `read` role unless `public_metrics_and_readiness` is set.
//
// Auth. Each route declares a role; the server checks the request's bearer
// token with Authorize() (auth.h) before calling the handler: 401
// unauthenticated or 403 forbidden otherwise. With no TokenStore, auth is
// off (every caller is "anonymous" with every role) and Start logs a warning.
//
// Metrics (labels: method, route = the route pattern or "unmatched", code):
//   eddy_http_requests_total{method,route,code}
//   eddy_http_request_duration_seconds{method,route}: from the first byte of
//     the request (or the end of the previous response, when pipelined) to
//     its response handed to the kernel
//   eddy_http_connections_active, eddy_http_connections_accepted_total,
//   eddy_http_connections_rejected_total, eddy_http_connection_closes_total{reason},
//   eddy_http_requests_in_flight, eddy_http_auth_failures_total{reason}
//
// Lifecycle: Create, then Start (binds; port() is then known), then Stop.
// Stop stops accepting, closes idle keep-alive connections, lets requests
// already being read or handled finish and answer (with Connection: close)
// until the deadline, then closes whatever is left, joins the threads and
// returns. The destructor stops with a zero deadline if needed.
//
// Thread safety: Start and Stop from one controlling thread; port(),
// connections() and the handlers' calls are safe from any thread.

#ifndef EDDY_SERVE_HTTP_SERVER_H_
#define EDDY_SERVE_HTTP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/time.h"
#include "eddy/status.h"
#include "serve/router.h"

namespace eddy {

class MetricsRegistry;
class TokenStore;

struct HttpServerOptions {
  // Where to listen. Port 0 picks a free port (see HttpServer::port()).
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  // Threads running the event loop and the handlers.
  int threads = 2;
  size_t max_header_bytes = 16 << 10;
  size_t max_body_bytes = 4 << 20;
  // Whole request (headers and body) from its first byte.
  Duration read_timeout = Duration::Seconds(10);
  // Between requests on a keep-alive connection.
  Duration idle_timeout = Duration::Seconds(60);
  Duration write_timeout = Duration::Seconds(10);
  size_t max_connections = 10000;
  // TLS: both set turns TLS on (PEM files: the certificate chain and its
  // private key). TLS 1.2 or later only.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Serve /metrics and /readyz without a token.
  bool public_metrics_and_readiness = false;

  // Checks the values (positive limits and timeouts, both or neither TLS
  // file, threads in 1..256).
  Status Validate() const;
};

class HttpServer {
 public:
  // `registry` receives the server's metrics and is what /metrics renders;
  // `tokens` null turns auth off. Both must outlive the server. Errors:
  // invalid options; a router that already has a built-in route.
  static Result<std::unique_ptr<HttpServer>> Create(HttpServerOptions options, Router router,
                                                    MetricsRegistry& registry,
                                                    const TokenStore* tokens);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // What /readyz reports: OK -> 200 {"status":"ready"}, else 503 with the
  // Status's message. Without one, ready as soon as the server runs. Called on
  // a server thread per probe: keep it cheap. REQUIRES: before Start.
  void SetReadinessCheck(std::function<Status()> check);

  // Loads TLS files, binds, listens and starts the threads. Errors: bad TLS
  // files, address in use, permission denied (IoError with the address).
  Status Start();

  // See the file comment. Waits at most `deadline` for in-flight requests
  // (plus the time running handlers take to return). Idempotent.
  void Stop(Duration deadline = Duration::Seconds(10));

  // The bound port (useful with port 0). REQUIRES: Start succeeded.
  uint16_t port() const;
  // Open connections.
  size_t connections() const;

  // The implementation (http_server.cc); opaque to everyone else.
  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy

#endif  // EDDY_SERVE_HTTP_SERVER_H_
