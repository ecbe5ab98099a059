// The only file of Eddy that includes Boost.Beast/Asio and the OpenSSL
// stream: keep it that way (compile time, and one place for the network).
//
// Per connection, a Session<Stream> (Stream = plain TCP or TLS over TCP)
// runs this loop on its own strand:
//
//   [TLS handshake] -> wait for the first byte (idle_timeout)
//     -> read header (read_timeout starts) -> route, body limit, 100-continue
//     -> read body -> authorize -> handler -> write response (write_timeout)
//     -> next request (already buffered when pipelined) or close
//
// Every way out of the loop goes through Close(reason), which counts the
// reason and either closes at once (timeouts, errors) or, after an error
// response or "Connection: close", half-closes and drains what the client
// still sends for a moment so that it reads our response instead of a reset.

#include "serve/http_server.h"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/logging.h"
#include "base/strings.h"
#include "monitor/metrics.h"
#include "serve/auth.h"

namespace eddy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
// Every connection's I/O runs on its own strand. Naming the strand type
// (instead of Beast's default, the type-erased any_io_executor) saves a
// type-erased copy on every completion.
using Strand = net::strand<net::io_context::executor_type>;
using Socket = net::basic_stream_socket<tcp, Strand>;
using TcpStream = beast::basic_stream<tcp, Strand>;

namespace {

constexpr size_t kReadChunk = 8 << 10;
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class CloseReason : uint8_t {
  kClientClosed,
  kConnectionClose,
  kIdleTimeout,
  kReadTimeout,
  kWriteTimeout,
  kBadRequest,
  kHeadersTooLarge,
  kPayloadTooLarge,
  kServerStopping,
  kTlsError,
  kIoError,
  kCount,
};

std::string_view CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kClientClosed:
      return "client_closed";
    case CloseReason::kConnectionClose:
      return "connection_close";
    case CloseReason::kIdleTimeout:
      return "idle_timeout";
    case CloseReason::kReadTimeout:
      return "read_timeout";
    case CloseReason::kWriteTimeout:
      return "write_timeout";
    case CloseReason::kBadRequest:
      return "bad_request";
    case CloseReason::kHeadersTooLarge:
      return "headers_too_large";
    case CloseReason::kPayloadTooLarge:
      return "payload_too_large";
    case CloseReason::kServerStopping:
      return "server_stopping";
    case CloseReason::kTlsError:
      return "tls_error";
    case CloseReason::kIoError:
      return "io_error";
    case CloseReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::chrono::steady_clock::duration ToChrono(Duration d) {
  return std::chrono::microseconds(d.micros());
}

bool HeaderSafe(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

bool IsClientGone(const beast::error_code& ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == http::error::partial_message || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

// Request counts and latency of one (method, route) pair. Counters per
// status code are looked up once and cached lock-free.
struct RouteMetrics {
  MetricsRegistry* registry = nullptr;
  std::string method;
  std::string route;
  Histogram* duration = nullptr;
  std::array<std::atomic<Counter*>, 600> by_code{};

  void Record(int status, double seconds) {
    duration->Observe(seconds);
    if (status < 100 || status > 599) status = 500;
    Counter* c = by_code[static_cast<size_t>(status)].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &registry->GetCounter("eddy_http_requests_total",
                                "HTTP requests by route and status code.",
                                {{"method", method}, {"route", route}, {"code", StrCat(status)}});
      by_code[static_cast<size_t>(status)].store(c, std::memory_order_release);
    }
    c->Increment();
  }
};

}  // namespace

Status HttpServerOptions::Validate() const {
  if (threads < 1 || threads > 256) {
    return Status::InvalidArgument(StrCat("http server: threads is ", threads, "; use 1 to 256"));
  }
  if (max_header_bytes < 256) {
    return Status::InvalidArgument("http server: max_header_bytes must be at least 256");
  }
  if (max_body_bytes == 0) return Status::InvalidArgument("http server: max_body_bytes is 0");
  for (auto [name, d] : {std::pair{"read_timeout", read_timeout},
                         {"idle_timeout", idle_timeout},
                         {"write_timeout", write_timeout}}) {
    if (d <= Duration::Zero()) {
      return Status::InvalidArgument(StrCat("http server: ", name, " must be positive"));
    }
  }
  if (max_connections == 0) return Status::InvalidArgument("http server: max_connections is 0");
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return Status::InvalidArgument(
        "http server: TLS needs both a certificate file and a private key file");
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Post to the session's strand.
  virtual void PostServerStop() = 0;
  virtual void PostForceClose() = 0;
};

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, MetricsRegistry& registry, const TokenStore* tokens)
      : options_(std::move(options)), registry_(registry), tokens_(tokens) {
    connections_active_ =
        &registry_.GetGauge("eddy_http_connections_active", "Open HTTP connections.");
    accepted_ =
        &registry_.GetCounter("eddy_http_connections_accepted_total", "HTTP connections accepted.");
    rejected_ =
        &registry_.GetCounter("eddy_http_connections_rejected_total",
                              "HTTP connections closed at once because max_connections were open.");
    in_flight_ = &registry_.GetGauge("eddy_http_requests_in_flight",
                                     "HTTP requests being read, handled or answered.");
    for (size_t i = 0; i < closes_.size(); ++i) {
      closes_[i] = &registry_.GetCounter(
          "eddy_http_connection_closes_total", "HTTP connections closed, by reason.",
          {{"reason", std::string(CloseReasonName(static_cast<CloseReason>(i)))}});
    }
    auth_missing_ = &registry_.GetCounter("eddy_http_auth_failures_total",
                                          "Requests refused by authentication or authorization.",
                                          {{"reason", "unauthenticated"}});
    auth_forbidden_ = &registry_.GetCounter("eddy_http_auth_failures_total",
                                            "Requests refused by authentication or authorization.",
                                            {{"reason", "forbidden"}});
  }

  ~Impl() { Stop(Duration::Zero()); }

  Status Start();
  void Stop(Duration deadline);

  void SetupRouteMetrics() {
    for (const auto& r : router_.routes()) {
      route_metrics_.push_back(
          MakeRouteMetrics(std::string(HttpMethodName(r->method)), r->pattern));
    }
  }

  std::unique_ptr<RouteMetrics> MakeRouteMetrics(std::string method, std::string route) {
    auto m = std::make_unique<RouteMetrics>();
    m->registry = &registry_;
    m->duration = &registry_.GetHistogram(
        "eddy_http_request_duration_seconds",
        "Time from the first byte of an HTTP request to its response written, by route.",
        {{"method", method}, {"route", route}});
    m->method = std::move(method);
    m->route = std::move(route);
    return m;
  }

  RouteMetrics& MetricsFor(const Route* route, HttpMethod method) {
    if (route != nullptr) return *route_metrics_[route->index];
    // Requests matching no route are rare: their series appear on first use.
    auto& slot = unmatched_[static_cast<size_t>(method)];
    RouteMetrics* m = slot.load(std::memory_order_acquire);
    if (m == nullptr) {
      std::lock_guard<std::mutex> lock(unmatched_mu_);
      m = slot.load(std::memory_order_acquire);
      if (m == nullptr) {
        unmatched_owned_.push_back(
            MakeRouteMetrics(std::string(HttpMethodName(method)), "unmatched"));
        m = unmatched_owned_.back().get();
        slot.store(m, std::memory_order_release);
      }
    }
    return *m;
  }

  void Register(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_[s.get()] = s;
    ++serving_;
    connections_active_->Set(static_cast<double>(sessions_.size()));
  }

  // A session stopped serving requests (it may still be lingering).
  void OnSessionClosing() {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    --serving_;
    sessions_cv_.notify_all();
  }

  void Unregister(SessionBase* s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.erase(s);
    connection_count_.fetch_sub(1, std::memory_order_relaxed);
    connections_active_->Set(static_cast<double>(sessions_.size()));
    sessions_cv_.notify_all();
  }

  std::vector<std::shared_ptr<SessionBase>> LiveSessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (auto& [p, w] : sessions_) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  void DoAccept();
  void OnAccept(const beast::error_code& ec, Socket socket);

  HttpServerOptions options_;
  Router router_;
  MetricsRegistry& registry_;
  const TokenStore* tokens_;
  std::function<Status()> readiness_;
  size_t largest_body_limit_ = 0;

  std::vector<std::unique_ptr<RouteMetrics>> route_metrics_;  // by Route::index
  std::array<std::atomic<RouteMetrics*>, static_cast<size_t>(HttpMethod::kOther) + 1> unmatched_{};
  std::mutex unmatched_mu_;
  std::vector<std::unique_ptr<RouteMetrics>> unmatched_owned_;  // GUARDED_BY(unmatched_mu_)
  Gauge* connections_active_;
  Counter* accepted_;
  Counter* rejected_;
  Gauge* in_flight_;
  std::array<Counter*, static_cast<size_t>(CloseReason::kCount)> closes_{};
  Counter* auth_missing_;
  Counter* auth_forbidden_;

  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  std::atomic<size_t> connection_count_{0};

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;  // GUARDED_BY
  size_t serving_ = 0;  // GUARDED_BY(sessions_mu_): sessions not yet closing

  // Destroyed in reverse order: the io_context (and with it every pending
  // handler and session) before the TLS context sessions refer to, and
  // both before the session registry above.
  std::optional<ssl::context> ssl_ctx_;
  std::optional<net::io_context> ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> accept_retry_;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------

template <typename Stream>
class Session final : public SessionBase {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, TcpStream>;

  Session(HttpServer::Impl& server, Socket&& socket) requires(!kTls)
      : server_(server), stream_(std::move(socket)) {}
  Session(HttpServer::Impl& server, Socket&& socket, ssl::context& ctx) requires(kTls)
      : server_(server), stream_(std::move(socket), ctx) {}

  ~Session() override {
    if (request_active_) server_.in_flight_->Add(-1);
    if (!closed_) server_.OnSessionClosing();
    server_.Unregister(this);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->DoStart(); });
  }

  void PostServerStop() override {
    net::post(stream_.get_executor(), [self = Self()] {
      // Only a connection waiting for its next request (or still shaking
      // hands) is closed now; one in the middle of a request finishes it.
      if (self->state_ == State::kIdle || self->state_ == State::kHandshake) {
        beast::error_code ec;
        self->Lowest().socket().cancel(ec);
      }
    });
  }

  void PostForceClose() override {
    net::post(stream_.get_executor(), [self = Self()] {
      if (!self->closed_) return self->Close(CloseReason::kServerStopping, false);
      self->Lowest().close();  // cut a lingering close short
    });
  }

 private:
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(this->shared_from_this());
  }
  TcpStream& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoStart() {
    if constexpr (kTls) {
      state_ = State::kHandshake;
      Lowest().expires_after(ToChrono(server_.options_.read_timeout));
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = Self()](const beast::error_code& ec) { self->OnHandshake(ec); });
    } else {
      ReadNext();
    }
  }

  void OnHandshake(const beast::error_code& ec) {
    if (closed_) return;
    if (ec) {
      if (ec == beast::error::timeout) return Close(CloseReason::kReadTimeout, false);
      if (ec == net::error::operation_aborted) return Close(CloseReason::kServerStopping, false);
      if (IsClientGone(ec)) return Close(CloseReason::kClientClosed, false);
      EDDY_LOG(Debug) << "http: TLS handshake failed: " << ec.message();
      return Close(CloseReason::kTlsError, false);
    }
    ReadNext();
  }

  void ReadNext() {
    if (server_.stopping_.load()) return Close(CloseReason::kServerStopping, true);
    if (buffer_.size() > 0) {  // a pipelined request is already here
      request_start_ = SteadyClock::now();
      return ReadHeader();
    }
    state_ = State::kIdle;
    Lowest().expires_after(ToChrono(server_.options_.idle_timeout));
    stream_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = Self()](const beast::error_code& ec, size_t n) { self->OnFirstBytes(ec, n); });
  }

  void OnFirstBytes(const beast::error_code& ec, size_t n) {
    if (closed_) return;
    if (ec) {
      if (ec == beast::error::timeout) return Close(CloseReason::kIdleTimeout, false);
      if (ec == net::error::operation_aborted) return Close(CloseReason::kServerStopping, false);
      if (IsClientGone(ec)) return Close(CloseReason::kClientClosed, false);
      return Close(kTls ? CloseReason::kTlsError : CloseReason::kIoError, false);
    }
    buffer_.commit(n);
    request_start_ = SteadyClock::now();
    ReadHeader();
  }

  void ReadHeader() {
    state_ = State::kReading;
    BeginRequest();
    Lowest().expires_after(ToChrono(server_.options_.read_timeout));
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.max_header_bytes));
    // The largest limit of any route; the route's own is applied once the
    // header says which route it is (see OnHeader).
    parser_->body_limit(server_.largest_body_limit_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = Self()](const beast::error_code& ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(const beast::error_code& ec) {
    if (closed_) return;
    if (ec) return OnReadError(ec);
    auto& req = parser_->get();
    method_ = ParseHttpMethod(ToStd(req.method_string()));
    std::string_view target = ToStd(req.target());
    size_t q = target.find('?');
    path_ = target.substr(0, q);
    query_ = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    match_ = server_.router_.Find(method_, path_, params_);
    route_ = match_.route;
    size_t limit = server_.options_.max_body_bytes;
    if (match_.kind == Router::Match::Kind::kFound && route_->options.max_body_bytes != 0) {
      limit = route_->options.max_body_bytes;
    }
    if (parser_->content_length() && *parser_->content_length() > limit) {
      return SendError(413, kErrPayloadTooLarge,
                       StrCat("request body of ", *parser_->content_length(),
                              " bytes is larger than the limit of ", limit, " bytes"),
                       CloseReason::kPayloadTooLarge);
    }
    body_limit_ = limit;
    parser_->body_limit(limit);
    if (parser_->is_done()) return OnRequest();
    if (EqualsIgnoreCase(ToStd(req[http::field::expect]), "100-continue")) {
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = Self()](const beast::error_code& ec, size_t) {
                         if (self->closed_) return;
                         if (ec) return self->OnReadError(ec);
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](const beast::error_code& ec, size_t) {
                       if (self->closed_) return;
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(const beast::error_code& ec) {
    if (ec == http::error::header_limit) {
      return SendError(431, kErrHeadersTooLarge,
                       StrCat("request header is larger than the limit of ",
                              server_.options_.max_header_bytes, " bytes"),
                       CloseReason::kHeadersTooLarge);
    }
    if (ec == http::error::body_limit) {
      return SendError(413, kErrPayloadTooLarge,
                       StrCat("request body is larger than the limit of ", body_limit_, " bytes"),
                       CloseReason::kPayloadTooLarge);
    }
    if (ec == beast::error::timeout) return Close(CloseReason::kReadTimeout, false);
    if (ec == net::error::operation_aborted) return Close(CloseReason::kServerStopping, false);
    if (IsClientGone(ec)) return Close(CloseReason::kClientClosed, false);
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      return SendError(400, kErrBadRequest, StrCat("malformed HTTP request: ", ec.message()),
                       CloseReason::kBadRequest);
    }
    return Close(kTls ? CloseReason::kTlsError : CloseReason::kIoError, false);
  }

  void BeginRequest() {
    if (!request_active_) server_.in_flight_->Add(1);
    request_active_ = true;
    route_ = nullptr;
    method_ = HttpMethod::kOther;
    body_limit_ = server_.options_.max_body_bytes;
  }

  void OnRequest() {
    state_ = State::kHandling;
    Lowest().expires_never();
    auto& req = parser_->get();
    HttpResponse res;
    switch (match_.kind) {
      case Router::Match::Kind::kBadPath:
        res = HttpResponse::Error(400, kErrBadRequest, StrCat("bad request path ", Quote(path_)));
        break;
      case Router::Match::Kind::kNotFound:
        res = HttpResponse::Error(
            404, kErrNotFound,
            StrCat("no endpoint ", ToStd(req.method_string()), " ", Quote(path_)));
        break;
      case Router::Match::Kind::kMethodNotAllowed:
        res =
            HttpResponse::Error(405, kErrMethodNotAllowed,
                                StrCat(Quote(path_), " does not support ",
                                       ToStd(req.method_string()), "; it supports ", match_.allow));
        res.headers.emplace_back("Allow", match_.allow);
        break;
      case Router::Match::Kind::kFound:
        res = Dispatch(req);
        break;
    }
    bool keep = req.keep_alive() && !server_.stopping_.load();
    SendResponse(std::move(res), req.version(), keep, method_ == HttpMethod::kHead,
                 keep ? CloseReason::kClientClosed : CloseReason::kConnectionClose, keep);
  }

  HttpResponse Dispatch(http::request<http::string_body>& req) {
    Result<const Principal*> who =
        Authorize(server_.tokens_, ToStd(req[http::field::authorization]), route_->options.role);
    if (!who.ok()) {
      (who.status().code() == StatusCode::kUnauthenticated ? server_.auth_missing_
                                                           : server_.auth_forbidden_)
          ->Increment();
      return HttpResponse::FromStatus(who.status());
    }
    headers_.clear();
    for (const auto& f : req) headers_.push_back({ToStd(f.name_string()), ToStd(f.value())});
    HttpRequest hr;
    hr.method = method_;
    hr.method_name = ToStd(req.method_string());
    hr.target = ToStd(req.target());
    hr.path = path_;
    hr.query = query_;
    hr.route = route_->pattern;
    hr.params = params_;
    hr.headers = headers_;
    hr.body = req.body();
    hr.principal = *who;
    try {
      return route_->handler(hr);
    } catch (const std::exception& e) {
      EDDY_LOG(Error) << "http: handler of " << HttpMethodName(route_->method) << " "
                      << route_->pattern << " threw: " << e.what();
    } catch (...) {
      EDDY_LOG(Error) << "http: handler of " << HttpMethodName(route_->method) << " "
                      << route_->pattern << " threw a non-standard exception";
    }
    return HttpResponse::Error(500, kErrInternal, "internal error (see the server log)");
  }

  // An error found while reading: answer it, then close the connection (the
  // rest of the request cannot be trusted or was not read).
  void SendError(int status, std::string_view code, std::string_view message, CloseReason reason) {
    SendResponse(HttpResponse::Error(status, code, message), 11, false, false, reason, false);
  }

  void SendResponse(HttpResponse&& r, unsigned version, bool keep_alive, bool head,
                    CloseReason close_reason, bool next) {
    state_ = State::kWriting;
    status_ = r.status;
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::content_type,
             r.content_type.empty() ? std::string_view("application/json") : r.content_type);
    for (const auto& [name, value] : r.headers) {
      if (!HeaderSafe(name) || !HeaderSafe(value) || name.empty()) continue;
      if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "connection") ||
          EqualsIgnoreCase(name, "transfer-encoding") || EqualsIgnoreCase(name, "content-type")) {
        continue;
      }
      res_.insert(name, value);
    }
    res_.body() = std::move(r.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    if (head) {
      size_t n = res_.body().size();
      res_.body().clear();
      res_.content_length(n);
    }
    close_reason_ = close_reason;
    read_next_ = next;
    Lowest().expires_after(ToChrono(server_.options_.write_timeout));
    http::async_write(stream_, res_,
                      [self = Self()](const beast::error_code& ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(const beast::error_code& ec) {
    double seconds = std::chrono::duration<double>(SteadyClock::now() - request_start_).count();
    server_.MetricsFor(route_, method_).Record(status_, seconds);
    if (request_active_) server_.in_flight_->Add(-1);
    request_active_ = false;
    if (closed_) return;
    if (ec) {
      if (ec == beast::error::timeout) return Close(CloseReason::kWriteTimeout, false);
      if (ec == net::error::operation_aborted) return Close(CloseReason::kServerStopping, false);
      if (IsClientGone(ec)) return Close(CloseReason::kClientClosed, false);
      return Close(CloseReason::kIoError, false);
    }
    if (!read_next_) return Close(close_reason_, true);
    parser_.reset();
    res_ = {};
    ReadNext();
  }

  // Ends the connection. `graceful`: first half-close and drain (plain) or
  // send close_notify (TLS), within kLingerTime.
  void Close(CloseReason reason, bool graceful) {
    if (closed_) return;
    closed_ = true;
    state_ = State::kClosing;
    server_.closes_[static_cast<size_t>(reason)]->Increment();
    server_.OnSessionClosing();
    beast::error_code ignored;
    if (!graceful) {
      Lowest().socket().shutdown(Socket::shutdown_both, ignored);
      Lowest().close();
      return;
    }
    Lowest().expires_after(kLingerTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = Self()](const beast::error_code&) { self->Lowest().close(); });
    } else {
      Lowest().socket().shutdown(Socket::shutdown_send, ignored);
      drain_ = std::make_unique<std::array<char, 16 << 10>>();
      Drain();
    }
  }

  void Drain() {
    Lowest().async_read_some(net::buffer(*drain_),
                             [self = Self()](const beast::error_code& ec, size_t) {
                               if (ec) return self->Lowest().close();
                               self->Drain();
                             });
  }

  HttpServer::Impl& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::vector<PathParam> params_;
  std::vector<HttpHeaderField> headers_;
  Router::Match match_;
  const Route* route_ = nullptr;
  HttpMethod method_ = HttpMethod::kOther;
  std::string_view path_;
  std::string_view query_;
  size_t body_limit_ = 0;
  int status_ = 0;
  State state_ = State::kIdle;
  SteadyClock::time_point request_start_;
  CloseReason close_reason_ = CloseReason::kClientClosed;
  bool read_next_ = false;
  bool request_active_ = false;
  bool closed_ = false;
  std::unique_ptr<std::array<char, 16 << 10>> drain_;
};

using PlainSession = Session<TcpStream>;
using TlsSession = Session<beast::ssl_stream<TcpStream>>;

// ---------------------------------------------------------------------------

Status HttpServer::Impl::Start() {
  if (started_) return Status::FailedPrecondition("http server already started");
  started_ = true;
  beast::error_code ec;
  if (!options_.tls_cert_file.empty()) {
    ssl_ctx_.emplace(ssl::context::tls_server);
    ssl_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                              ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                              ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                          ec);
    ssl_ctx_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec) {
      return Status::InvalidArgument(StrCat("cannot load TLS certificate ",
                                            Quote(options_.tls_cert_file), ": ", ec.message()));
    }
    ssl_ctx_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidArgument(
          StrCat("cannot load TLS private key ", Quote(options_.tls_key_file), ": ", ec.message()));
    }
    if (SSL_CTX_check_private_key(ssl_ctx_->native_handle()) != 1) {
      return Status::InvalidArgument(StrCat("TLS private key ", Quote(options_.tls_key_file),
                                            " does not match certificate ",
                                            Quote(options_.tls_cert_file)));
    }
  }
  net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) {
    return Status::InvalidArgument(
        StrCat("http server: bad listen address ", Quote(options_.address), ": ", ec.message()));
  }
  ioc_.emplace(options_.threads);
  acceptor_.emplace(net::make_strand(*ioc_));
  accept_retry_.emplace(acceptor_->get_executor());
  tcp::endpoint endpoint(address, options_.port);
  std::string where = StrCat(options_.address, ":", options_.port);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    accept_retry_.reset();
    ioc_.reset();
    return Status::IoError(StrCat("http server: cannot listen on ", where, ": ", ec.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  if (tokens_ == nullptr) {
    EDDY_LOG(Warn) << "http server on port " << port_
                   << ": authentication is off (no API tokens configured); every caller has "
                      "every role";
  }
  work_.emplace(ioc_->get_executor());
  DoAccept();
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] {
      while (true) {
        try {
          ioc_->run();
          return;
        } catch (const std::exception& e) {
          EDDY_LOG(Error) << "http server: unexpected exception in the event loop: " << e.what();
        }
      }
    });
  }
  return Status::OK();
}

void HttpServer::Impl::DoAccept() {
  acceptor_->async_accept(
      net::make_strand(*ioc_),
      [this](const beast::error_code& ec, Socket socket) { OnAccept(ec, std::move(socket)); });
}

void HttpServer::Impl::OnAccept(const beast::error_code& ec, Socket socket) {
  if (stopping_.load() || !acceptor_->is_open()) return;
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    // Out of descriptors (or similar): back off instead of spinning.
    EDDY_LOG(Warn) << "http server: accept failed: " << ec.message();
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](const beast::error_code& e) {
      if (!e) DoAccept();
    });
    return;
  }
  accepted_->Increment();
  if (connection_count_.load(std::memory_order_relaxed) >= options_.max_connections) {
    rejected_->Increment();
    beast::error_code ignored;
    socket.close(ignored);
    return DoAccept();
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  connection_count_.fetch_add(1, std::memory_order_relaxed);
  if (ssl_ctx_) {
    auto s = std::make_shared<TlsSession>(*this, std::move(socket), *ssl_ctx_);
    Register(s);
    s->Start();
  } else {
    auto s = std::make_shared<PlainSession>(*this, std::move(socket));
    Register(s);
    s->Start();
  }
  DoAccept();
}

void HttpServer::Impl::Stop(Duration deadline) {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (!ioc_) return;  // Start failed
  stopping_.store(true);
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool acceptor_closed = false;
  net::post(acceptor_->get_executor(), [&] {
    beast::error_code ignored;
    acceptor_->close(ignored);
    accept_retry_->cancel();
    std::lock_guard<std::mutex> lock(done_mu);
    acceptor_closed = true;
    done_cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [&] { return acceptor_closed; });
  }
  for (auto& s : LiveSessions()) s->PostServerStop();
  // Wait for requests in flight to be answered, then give lingering closes a
  // moment to see the client's FIN before cutting them.
  auto until = SteadyClock::now() + ToChrono(deadline);
  {
    std::unique_lock<std::mutex> lock(sessions_mu_);
    sessions_cv_.wait_until(lock, until, [&] { return serving_ == 0; });
    sessions_cv_.wait_until(lock,
                            std::min(until, SteadyClock::now() + std::chrono::milliseconds(100)),
                            [&] { return sessions_.empty(); });
  }
  for (auto& s : LiveSessions()) s->PostForceClose();
  {
    std::unique_lock<std::mutex> lock(sessions_mu_);
    sessions_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return sessions_.empty(); });
  }
  work_.reset();
  ioc_->stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  accept_retry_.reset();
  acceptor_.reset();
  ioc_.reset();  // destroys pending handlers and the sessions they hold
}

// ---------------------------------------------------------------------------

Result<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerOptions options, Router router,
                                                       MetricsRegistry& registry,
                                                       const TokenStore* tokens) {
  EDDY_RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>(std::move(options), registry, tokens);
  Impl* p = impl.get();
  std::optional<Role> protected_role = Role::kRead;
  if (p->options_.public_metrics_and_readiness) protected_role = std::nullopt;
  EDDY_RETURN_IF_ERROR(
      router.Add(HttpMethod::kGet, "/healthz", {.role = std::nullopt},
                 [](const HttpRequest&) { return HttpResponse::Json("{\"status\":\"ok\"}"); }));
  EDDY_RETURN_IF_ERROR(
      router.Add(HttpMethod::kGet, "/readyz", {.role = protected_role}, [p](const HttpRequest&) {
        if (p->stopping_.load()) {
          return HttpResponse::Error(503, kErrUnavailable, "server is shutting down");
        }
        Status s = p->readiness_ ? p->readiness_() : Status::OK();
        if (!s.ok()) {
          return HttpResponse::Error(503, kErrUnavailable, s.message());
        }
        return HttpResponse::Json("{\"status\":\"ready\"}");
      }));
  EDDY_RETURN_IF_ERROR(
      router.Add(HttpMethod::kGet, "/metrics", {.role = protected_role}, [p](const HttpRequest&) {
        HttpResponse r;
        r.content_type = std::string(kMetricsContentType);
        p->registry_.RenderPrometheus(r.body);
        return r;
      }));
  p->router_ = std::move(router);
  p->largest_body_limit_ = p->options_.max_body_bytes;
  for (const auto& r : p->router_.routes()) {
    p->largest_body_limit_ = std::max(p->largest_body_limit_, r->options.max_body_bytes);
  }
  p->SetupRouteMetrics();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

void HttpServer::SetReadinessCheck(std::function<Status()> check) {
  impl_->readiness_ = std::move(check);
}

Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop(Duration deadline) { impl_->Stop(deadline); }
uint16_t HttpServer::port() const { return impl_->port_; }
size_t HttpServer::connections() const {
  return impl_->connection_count_.load(std::memory_order_relaxed);
}

}  // namespace eddy
