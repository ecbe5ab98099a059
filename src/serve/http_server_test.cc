// The server through real sockets on loopback, with a tiny blocking HTTP
// client so that every byte on the wire is under the test's control.

#include "serve/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "base/strings.h"
#include "monitor/metrics.h"
#include "serve/auth.h"

namespace eddy {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct RawResponse {
  int status = 0;
  std::string head;
  std::string body;
  std::string Header(std::string_view name) const {
    size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string::npos) {
      pos += 2;
      size_t end = head.find("\r\n", pos);
      std::string_view line(head.data() + pos,
                            (end == std::string::npos ? head.size() : end) - pos);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos && EqualsIgnoreCase(line.substr(0, colon), name)) {
        return std::string(Trim(line.substr(colon + 1)));
      }
    }
    return "";
  }
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One response (Content-Length framing), or nullopt on EOF or timeout.
  std::optional<RawResponse> Read(milliseconds timeout = milliseconds(5000), bool head = false,
                                  bool skip_continue = true) {
    auto deadline = SteadyClock::now() + timeout;
    while (true) {
      size_t end = in_.find("\r\n\r\n");
      if (end != std::string::npos) {
        RawResponse r;
        r.head = in_.substr(0, end);
        r.status = std::atoi(r.head.c_str() + 9);
        size_t len = head ? 0 : std::strtoull(r.Header("content-length").c_str(), nullptr, 10);
        if (r.status == 100 && skip_continue) {
          in_.erase(0, end + 4);
          continue;
        }
        if (in_.size() >= end + 4 + len) {
          r.body = in_.substr(end + 4, len);
          in_.erase(0, end + 4 + len);
          return r;
        }
      }
      if (!Fill(deadline)) return std::nullopt;
    }
  }

  // Whether the server closes the connection within `timeout` (reading and
  // discarding anything it still sends).
  bool WaitClosed(milliseconds timeout) {
    auto deadline = SteadyClock::now() + timeout;
    while (Fill(deadline)) {
    }
    return eof_;
  }

  std::optional<RawResponse> Request(std::string_view raw) {
    if (!Send(raw)) return std::nullopt;
    return Read();
  }

 private:
  bool Fill(SteadyClock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string in_;
};

std::string Get(std::string_view path, std::string_view extra = "") {
  return StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\n", extra, "\r\n");
}

std::string Post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return StrCat("POST ", path, " HTTP/1.1\r\nHost: t\r\nContent-Length: ", body.size(), "\r\n",
                extra, "\r\n", body);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = {}, const TokenStore* tokens = nullptr) {
    options.port = 0;
    Router router;
    ASSERT_TRUE(router
                    .Add(HttpMethod::kGet, "/v1/seq/{n}", {.role = Role::kRead},
                         [](const HttpRequest& r) {
                           return HttpResponse::Json(StrCat("{\"n\":\"", r.Param("n"), "\"}"));
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add(HttpMethod::kPost, "/v1/echo", {.role = Role::kPredict},
                         [](const HttpRequest& r) {
                           HttpResponse res = HttpResponse::Text(std::string(r.body));
                           res.headers.emplace_back("X-Caller", r.principal->name);
                           res.headers.emplace_back("X-Bad", "a\r\nInjected: yes");
                           return res;
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add(HttpMethod::kPost, "/v1/big",
                         {.role = Role::kIngest, .max_body_bytes = 4096},
                         [](const HttpRequest& r) {
                           return HttpResponse::Json(StrCat("{\"bytes\":", r.body.size(), "}"));
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add(HttpMethod::kGet, "/v1/slow", {.role = Role::kRead},
                         [this](const HttpRequest&) {
                           slow_started_ = true;
                           std::this_thread::sleep_for(milliseconds(500));
                           return HttpResponse::Json("{\"slow\":true}");
                         })
                    .ok());
    ASSERT_TRUE(
        router
            .Add(HttpMethod::kGet, "/v1/throw", {.role = Role::kRead},
                 [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); })
            .ok());
    auto s = HttpServer::Create(options, std::move(router), registry_, tokens);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    if (readiness_) server_->SetReadinessCheck(readiness_);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop(Duration::Seconds(1));
  }
  uint16_t port() const { return server_->port(); }
  // The server counts a close after the client may already have seen it:
  // poll for a little while.
  bool MetricsSoonContain(std::string_view text) {
    for (int i = 0; i < 300; ++i) {
      if (registry_.RenderPrometheus().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  MetricsRegistry registry_;
  std::unique_ptr<HttpServer> server_;
  std::function<Status()> readiness_;
  std::atomic<bool> slow_started_{false};
};

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  Client c(port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.Request(Get(StrCat("/v1/seq/", i)));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, StrCat("{\"n\":\"", i, "\"}"));
    EXPECT_EQ(r->Header("content-type"), "application/json");
  }
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  Client c(port());
  std::string burst;
  for (int i = 0; i < 50; ++i) {
    burst += i % 3 == 0 ? Post("/v1/echo", StrCat("body-", i)) : Get(StrCat("/v1/seq/", i));
  }
  ASSERT_TRUE(c.Send(burst));
  for (int i = 0; i < 50; ++i) {
    auto r = c.Read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, i % 3 == 0 ? StrCat("body-", i) : StrCat("{\"n\":\"", i, "\"}"));
  }
}

TEST_F(HttpServerTest, ErrorsAreJsonWithStableCodes) {
  Start();
  Client c(port());
  auto r = c.Request(Get("/nowhere"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body,
            "{\"error\":{\"code\":\"not_found\",\"message\":\"no endpoint GET '/nowhere'\"}}");
  r = c.Request(Post("/v1/seq/1", "x"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("allow"), "GET, HEAD");
  EXPECT_NE(r->body.find("\"method_not_allowed\""), std::string::npos);
  r = c.Request(Get("/v1/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("\"internal\""), std::string::npos);
  r = c.Request(Get("/v1/seq/%zz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  // The connection survived all of that.
  r = c.Request(Get("/v1/seq/ok"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, HandlerHeadersCannotInjectLines) {
  Start();
  Client c(port());
  auto r = c.Request(Post("/v1/echo", "hi"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("x-caller"), "anonymous");
  EXPECT_EQ(r->Header("injected"), "");
  EXPECT_EQ(r->Header("x-bad"), "");
}

TEST_F(HttpServerTest, HeadSendsNoBody) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.Send("HEAD /v1/seq/7 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read(milliseconds(5000), /*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "9");
  r = c.Request(Get("/v1/seq/8"));  // nothing stray in between
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"n\":\"8\"}");
}

TEST_F(HttpServerTest, OversizeBodyIs413AndCloses) {
  Start(HttpServerOptions{.max_body_bytes = 1000});
  {
    Client c(port());
    auto r = c.Request(Post("/v1/echo", std::string(1001, 'x')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_NE(r->body.find("\"payload_too_large\""), std::string::npos);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  }
  {
    // The route's own limit (4096) applies to it, the default to others.
    Client c(port());
    auto r = c.Request(Post("/v1/big", std::string(3000, 'x')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = c.Request(Post("/v1/big", std::string(5000, 'x')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    // Chunked bodies are counted as they arrive.
    Client c(port());
    std::string chunk(600, 'y');
    std::string req =
        StrCat("POST /v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", "258\r\n",
               chunk, "\r\n258\r\n", chunk, "\r\n0\r\n\r\n");
    auto r = c.Request(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_TRUE(
      MetricsSoonContain("eddy_http_connection_closes_total{reason=\"payload_too_large\"} 3"));
}

TEST_F(HttpServerTest, OversizeHeaderIs431) {
  Start(HttpServerOptions{.max_header_bytes = 1024});
  Client c(port());
  auto r = c.Request(Get("/v1/seq/1", StrCat("X-Big: ", std::string(2000, 'h'), "\r\n")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_NE(r->body.find("\"headers_too_large\""), std::string::npos);
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  Start();
  Client c(port());
  auto r = c.Request("GARBAGE\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("\"bad_request\""), std::string::npos);
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
}

TEST_F(HttpServerTest, ExpectContinue) {
  Start();
  Client c(port());
  ASSERT_TRUE(
      c.Send("POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n"));
  // The interim response comes before we send the body.
  auto interim = c.Read(milliseconds(2000), false, /*skip_continue=*/false);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpServerTest, SlowClientIsDroppedWhileOthersAreServed) {
  Start(HttpServerOptions{.read_timeout = Duration::Millis(1500)});
  Client slow(port());
  std::string req = Get("/v1/seq/1");
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (char ch : req) {
      if (stop || !slow.Send(std::string_view(&ch, 1))) return;
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  Client fast(port());
  auto t0 = SteadyClock::now();
  for (int i = 0; i < 50; ++i) {
    auto r = fast.Request(Get(StrCat("/v1/seq/", i)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // Well below the read timeout: nobody waited for the slow client.
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(1000));
  EXPECT_TRUE(slow.WaitClosed(milliseconds(4000)));
  stop = true;
  trickle.join();
  EXPECT_TRUE(MetricsSoonContain("eddy_http_connection_closes_total{reason=\"read_timeout\"} 1"));
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  Start(HttpServerOptions{.idle_timeout = Duration::Millis(200)});
  Client c(port());
  ASSERT_TRUE(c.Request(Get("/v1/seq/1")));
  auto t0 = SteadyClock::now();
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  EXPECT_GE(SteadyClock::now() - t0, milliseconds(150));
}

TEST_F(HttpServerTest, ConnectionLimit) {
  Start(HttpServerOptions{.max_connections = 2});
  Client a(port()), b(port());
  ASSERT_TRUE(a.Request(Get("/v1/seq/1")));
  ASSERT_TRUE(b.Request(Get("/v1/seq/2")));
  Client c(port());
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  EXPECT_TRUE(a.Request(Get("/v1/seq/3")));
}

TEST_F(HttpServerTest, AuthOnEveryRouteButLiveness) {
  Result<TokenStore> tokens = TokenStore::Parse(
      "reader-token-0123456789 read reader\npredict-token-0123456789 predict scorer", "t");
  ASSERT_TRUE(tokens.ok());
  Start({}, &*tokens);
  Client c(port());
  auto r = c.Request(Get("/healthz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Request(Get("/readyz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->Header("www-authenticate"), "Bearer");
  r = c.Request(Get("/metrics"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = c.Request(Post("/v1/echo", "x", "Authorization: Bearer reader-token-0123456789\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("\"forbidden\""), std::string::npos);
  EXPECT_NE(r->body.find("'reader'"), std::string::npos);
  r = c.Request(Post("/v1/echo", "x", "Authorization: Bearer predict-token-0123456789\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("x-caller"), "scorer");
  r = c.Request(Get("/metrics", "Authorization: Bearer reader-token-0123456789\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r->body.find("eddy_http_auth_failures_total{reason=\"unauthenticated\"} 2"),
            std::string::npos);
  EXPECT_NE(r->body.find("eddy_http_auth_failures_total{reason=\"forbidden\"} 1"),
            std::string::npos);
}

TEST_F(HttpServerTest, Readiness) {
  std::atomic<bool> ready{false};
  readiness_ = [&ready] {
    return ready ? Status::OK() : Status::Unavailable("state is being restored");
  };
  Start();
  Client c(port());
  auto r = c.Request(Get("/readyz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body,
            "{\"error\":{\"code\":\"unavailable\",\"message\":\"state is being restored\"}}");
  ready = true;
  r = c.Request(Get("/readyz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, MetricsCountRequestsByRouteAndCode) {
  Start();
  Client c(port());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.Request(Get("/v1/seq/x")));
  ASSERT_TRUE(c.Request(Get("/nope")));
  auto r = c.Request(Get("/metrics"));
  ASSERT_TRUE(r);
  const std::string& m = r->body;
  EXPECT_NE(m.find("eddy_http_requests_total{method=\"GET\",route=\"/v1/seq/{n}\",code=\"200\"} 3"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("eddy_http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(
      m.find("eddy_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/seq/{n}\"} 3"),
      std::string::npos);
  EXPECT_NE(m.find("eddy_http_connections_active 1"), std::string::npos);
}

TEST_F(HttpServerTest, StopFinishesInFlightRequestsAndClosesIdleOnes) {
  Start();
  Client idle(port());
  ASSERT_TRUE(idle.Request(Get("/v1/seq/1")));
  Client busy(port());
  ASSERT_TRUE(busy.Send(Get("/v1/slow")));
  while (!slow_started_) std::this_thread::sleep_for(milliseconds(1));
  auto t0 = SteadyClock::now();
  std::thread stopper([this] { server_->Stop(Duration::Seconds(5)); });
  auto r = busy.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(idle.WaitClosed(milliseconds(3000)));
  stopper.join();
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(3000));
  Client late(port());
  EXPECT_FALSE(late.connected());
}

TEST_F(HttpServerTest, StopDeadlineCutsStragglers) {
  Start(HttpServerOptions{.read_timeout = Duration::Seconds(30)});
  Client partial(port());
  ASSERT_TRUE(partial.Send("GET /v1/seq/1 HTTP/1.1\r\n"));  // never finishes
  std::this_thread::sleep_for(milliseconds(50));
  auto t0 = SteadyClock::now();
  server_->Stop(Duration::Millis(200));
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(2000));
  EXPECT_TRUE(partial.WaitClosed(milliseconds(1000)));
}

TEST(HttpServerOptionsTest, Validate) {
  EXPECT_TRUE(HttpServerOptions{}.Validate().ok());
  EXPECT_FALSE(HttpServerOptions{.threads = 0}.Validate().ok());
  EXPECT_FALSE(HttpServerOptions{.read_timeout = Duration::Zero()}.Validate().ok());
  EXPECT_FALSE(HttpServerOptions{.tls_cert_file = "c.pem"}.Validate().ok());
}

TEST(HttpServerCreateTest, BuiltInRoutesCannotBeReplaced) {
  MetricsRegistry registry;
  Router router;
  ASSERT_TRUE(router
                  .Add(HttpMethod::kGet, "/healthz", {},
                       [](const HttpRequest&) { return HttpResponse::Json("{}"); })
                  .ok());
  EXPECT_EQ(HttpServer::Create({}, std::move(router), registry, nullptr).status().code(),
            StatusCode::kAlreadyExists);
}

TEST(HttpServerStartTest, PortInUseAndBadTlsFiles) {
  MetricsRegistry registry;
  auto a = HttpServer::Create({.port = 0}, Router(), registry, nullptr);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Start().ok());
  MetricsRegistry registry2;
  auto b = HttpServer::Create({.port = (*a)->port()}, Router(), registry2, nullptr);
  ASSERT_TRUE(b.ok());
  Status s = (*b)->Start();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("cannot listen on 127.0.0.1:"), std::string::npos) << s.message();
  MetricsRegistry registry3;
  auto c = HttpServer::Create(
      {.port = 0, .tls_cert_file = "/nonexistent.pem", .tls_key_file = "/nonexistent.key"},
      Router(), registry3, nullptr);
  ASSERT_TRUE(c.ok());
  s = (*c)->Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot load TLS certificate"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace eddy
