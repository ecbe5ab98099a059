// eddy_loadgen: an open-loop, constant-rate HTTP/1.1 load generator.
//
// Debian's wrk (4.1) only runs closed-loop: each connection sends its next
// request when the previous answer arrives, so when the server stalls, wrk
// stalls with it and the stall hides from its percentiles ("coordinated
// omission"). This tool sends request k at start + k / rate whatever
// happens, on whichever keep-alive connection is free, and measures each
// latency from that *intended* send time (like wrk2's -R). A request that
// finds every connection busy waits, and the wait counts.
//
//   eddy_loadgen --url http://127.0.0.1:8080/v1/predict --rate 10000 --duration 10s
//                [--warmup 2s] [--connections 16] [--method POST]
//                [--body '{"key":"u1"}' | --body-file F | --bodies F]
//                [--header 'Authorization: Bearer T']... [--json]
//   eddy_loadgen --noise --rate 10000 --duration 5s   (the machine's scheduling noise)
//
// Reports requests sent and completed, the achieved rate, errors (non-2xx,
// connection failures, timeouts), latency from the intended time (p50, p90,
// p99, p99.9, max) and service time from the actual send, and the
// generator's own CPU use. --bodies F sends a different body per request:
// the lines of F in turn (request k carries line k mod lines), so a test can
// spread requests over many keys. Single-threaded: epoll_pwait2's nanosecond
// timeout paces the sends (three system calls per request). Plain HTTP
// only; responses must carry Content-Length (no chunked encoding).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "base/time.h"
#include "monitor/metrics.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "eddy_loadgen: %s\n", why.c_str());
  std::exit(2);
}

struct Flags {
  std::string host = "127.0.0.1";
  int port = 80;
  std::string path = "/";
  std::string method = "GET";
  std::string body;
  std::vector<std::string> bodies;  // --bodies: one per line, in turn
  std::vector<std::string> headers;
  double rate = 1000;
  Duration duration = Duration::Seconds(10);
  Duration warmup = Duration::Seconds(1);
  int connections = 16;
  bool json = false;
  bool noise = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    auto duration = [&] {
      Result<Duration> d = ParseDuration(value());
      if (!d.ok()) Die(d.status().ToString());
      return *d;
    };
    if (a == "--url") {
      std::string url = value();
      if (!StartsWith(url, "http://")) Die("only http:// URLs are supported");
      std::string rest = url.substr(7);
      size_t slash = rest.find('/');
      std::string hostport = rest.substr(0, slash);
      f.path = slash == std::string::npos ? "/" : rest.substr(slash);
      size_t colon = hostport.rfind(':');
      f.host = hostport.substr(0, colon);
      f.port = colon == std::string::npos ? 80 : std::atoi(hostport.c_str() + colon + 1);
      have_url = true;
    } else if (a == "--rate") {
      f.rate = std::atof(value().c_str());
    } else if (a == "--duration") {
      f.duration = duration();
    } else if (a == "--warmup") {
      f.warmup = duration();
    } else if (a == "--connections") {
      f.connections = std::atoi(value().c_str());
    } else if (a == "--method") {
      f.method = value();
    } else if (a == "--body") {
      f.body = value();
      if (f.method == "GET") f.method = "POST";
    } else if (a == "--body-file") {
      std::ifstream in(value(), std::ios::binary);
      if (!in) Die("cannot read the body file");
      std::stringstream ss;
      ss << in.rdbuf();
      f.body = ss.str();
      if (f.method == "GET") f.method = "POST";
    } else if (a == "--bodies") {
      std::ifstream in(value(), std::ios::binary);
      if (!in) Die("cannot read the bodies file");
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty()) f.bodies.push_back(line);
      }
      if (f.bodies.empty()) Die("the bodies file has no lines");
      if (f.method == "GET") f.method = "POST";
    } else if (a == "--header") {
      f.headers.push_back(value());
    } else if (a == "--noise") {
      f.noise = true;
    } else if (a == "--json") {
      f.json = true;
    } else {
      Die("unknown flag " + a + " (see the comment at the top of bench/load/loadgen.cc)");
    }
  }
  if (!have_url && !f.noise) Die("--url is required");
  if (f.rate <= 0 || f.connections <= 0) Die("--rate and --connections must be positive");
  return f;
}

struct Conn {
  int fd = -1;
  bool busy = false;
  Clock::time_point intended;
  Clock::time_point sent;
  bool measured = false;  // false during warmup
  size_t write_offset = 0;
  std::string in;
};

class LoadGen {
 public:
  explicit LoadGen(Flags flags) : f_(std::move(flags)) {
    if (f_.bodies.empty()) f_.bodies.push_back(f_.body);
    for (const std::string& body : f_.bodies) {
      std::string r =
          StrCat(f_.method, " ", f_.path, " HTTP/1.1\r\nHost: ", f_.host, ":", f_.port, "\r\n");
      if (!body.empty() || f_.method == "POST") {
        StrAppend(r, "Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n");
      }
      for (const std::string& h : f_.headers) StrAppend(r, h, "\r\n");
      StrAppend(r, "\r\n", body);
      requests_.push_back(std::move(r));
    }
  }

  int Run();

 private:
  void Connect(Conn& c);
  void Send(Conn& c, Clock::time_point intended, Clock::time_point now);
  void OnReadable(Conn& c, Clock::time_point now);
  void Fail(Conn& c);

  Flags f_;
  std::vector<std::string> requests_;  // ready to write, one per body
  size_t next_request_ = 0;
  sockaddr_in addr_{};
  int epoll_ = -1;
  std::vector<Conn> conns_;
  std::deque<std::pair<Clock::time_point, bool>> pending_;  // intended time, measured
  Histogram latency_;
  Histogram service_;
  uint64_t sent_ = 0;
  uint64_t completed_ = 0;
  uint64_t non_2xx_ = 0;
  uint64_t conn_errors_ = 0;
  uint64_t queued_ = 0;  // measured requests that waited for a free connection
  uint64_t measured_sent_ = 0;
};

void LoadGen::Connect(Conn& c) {
  if (c.fd >= 0) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
  }
  c = Conn();
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) Die(StrCat("socket: ", std::strerror(errno)));
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_)) != 0) {
    Die(StrCat("connect to ", f_.host, ":", f_.port, ": ", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
}

void LoadGen::Fail(Conn& c) {
  if (c.busy) ++conn_errors_;
  Connect(c);
}

void LoadGen::Send(Conn& c, Clock::time_point intended, Clock::time_point now) {
  c.busy = true;
  c.intended = intended;
  c.sent = now;
  c.in.clear();
  ++sent_;
  const std::string& request = requests_[next_request_];
  if (++next_request_ == requests_.size()) next_request_ = 0;
  ssize_t n = write(c.fd, request.data(), request.size());
  if (n != static_cast<ssize_t>(request.size())) {
    // Requests are small; a short write on a fresh keep-alive connection
    // means it is broken.
    Fail(c);
  }
}

void LoadGen::OnReadable(Conn& c, Clock::time_point now) {
  // One read per readiness event: epoll is level-triggered, so anything left
  // is reported again.
  char buf[16384];
  ssize_t n;
  do {
    n = read(c.fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return Fail(c);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    return Fail(c);
  }
  c.in.append(buf, static_cast<size_t>(n));
  while (c.busy) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    std::string_view head(c.in.data(), end);
    int status = head.size() > 12 ? std::atoi(head.data() + 9) : 0;
    size_t length = 0;
    bool close_after = false;
    size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
      pos += 2;
      std::string_view line = head.substr(pos, head.find("\r\n", pos) - pos);
      std::string lower(line);
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (StartsWith(lower, "content-length:"))
        length = std::strtoull(lower.c_str() + 15, nullptr, 10);
      if (StartsWith(lower, "connection:") && lower.find("close") != std::string::npos) {
        close_after = true;
      }
    }
    if (c.in.size() < end + 4 + length) return;
    c.in.erase(0, end + 4 + length);
    c.busy = false;
    ++completed_;
    if (status < 200 || status > 299) ++non_2xx_;
    if (c.measured) {
      latency_.Observe(std::chrono::duration<double>(now - c.intended).count());
      service_.Observe(std::chrono::duration<double>(now - c.sent).count());
    }
    if (close_after) Connect(c);
  }
}

int LoadGen::Run() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake-ups within ~1us, not 50us
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(f_.host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    Die("cannot resolve " + f_.host);
  }
  addr_ = *reinterpret_cast<sockaddr_in*>(res->ai_addr);
  addr_.sin_port = htons(static_cast<uint16_t>(f_.port));
  freeaddrinfo(res);

  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  conns_.resize(static_cast<size_t>(f_.connections));
  for (Conn& c : conns_) Connect(c);

  const Nanos period(static_cast<int64_t>(1e9 / f_.rate));
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(10);
  const Clock::time_point measure_from = start + std::chrono::microseconds(f_.warmup.micros());
  const Clock::time_point end = measure_from + std::chrono::microseconds(f_.duration.micros());
  const Clock::time_point give_up = end + std::chrono::seconds(5);
  Clock::time_point next = start;
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);

  std::vector<epoll_event> events(static_cast<size_t>(f_.connections) + 1);
  while (true) {
    Clock::time_point now = Clock::now();
    while (next <= now && next < end) {
      pending_.emplace_back(next, next >= measure_from);
      next += period;
    }
    for (Conn& c : conns_) {
      if (pending_.empty()) break;
      if (c.busy) continue;
      auto [intended, measured] = pending_.front();
      pending_.pop_front();
      c.measured = measured;
      if (measured) {
        ++measured_sent_;
        if (now - intended > std::chrono::microseconds(50)) ++queued_;
      }
      Send(c, intended, now);
    }
    bool any_busy = false;
    for (const Conn& c : conns_) any_busy |= c.busy;
    if (next >= end && pending_.empty() && !any_busy) break;
    if (now >= give_up) break;
    // Sleep until the next send is due or a response arrives.
    Nanos wait = std::chrono::milliseconds(100);
    if (next < end && pending_.empty()) {
      wait = std::max(Nanos(0), std::chrono::duration_cast<Nanos>(next - now));
    }
    timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                static_cast<long>(wait.count() % 1000000000)};
    int n = epoll_pwait2(epoll_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    now = Clock::now();
    for (int i = 0; i < n; ++i) OnReadable(conns_[events[i].data.u64], now);
  }
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  uint64_t timeouts = 0;
  for (const Conn& c : conns_) timeouts += c.busy ? 1 : 0;
  timeouts += pending_.size();

  HistogramSnapshot l = latency_.Snapshot();
  HistogramSnapshot s = service_.Snapshot();
  double seconds = f_.duration.seconds();
  double achieved = static_cast<double>(l.count()) / seconds;
  double cpu_share = (cpu(ru1) - cpu(ru0)) / (seconds + f_.warmup.seconds());
  auto us = [](double v) { return v * 1e6; };
  if (f_.json) {
    std::printf(
        "{\"target_rate\":%.0f,\"achieved_rate\":%.1f,\"sent\":%llu,\"completed\":%llu,"
        "\"non_2xx\":%llu,\"connection_errors\":%llu,\"timeouts\":%llu,\"queued\":%llu,"
        "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
        "\"service_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},\"loadgen_cpu\":%.2f}\n",
        f_.rate, achieved, static_cast<unsigned long long>(sent_),
        static_cast<unsigned long long>(completed_), static_cast<unsigned long long>(non_2xx_),
        static_cast<unsigned long long>(conn_errors_), static_cast<unsigned long long>(timeouts),
        static_cast<unsigned long long>(queued_), us(l.Quantile(0.5)), us(l.Quantile(0.9)),
        us(l.Quantile(0.99)), us(l.Quantile(0.999)), us(l.max()), us(s.Quantile(0.5)),
        us(s.Quantile(0.99)), us(s.max()), cpu_share);
  } else {
    std::printf("target %.0f req/s for %.1fs (+%.1fs warm-up), %d connections: %s %s\n", f_.rate,
                seconds, f_.warmup.seconds(), f_.connections, f_.method.c_str(), f_.path.c_str());
    std::printf("  achieved %.1f req/s; sent %llu, completed %llu\n", achieved,
                static_cast<unsigned long long>(sent_),
                static_cast<unsigned long long>(completed_));
    std::printf("  errors: non-2xx %llu, connection %llu, timeouts %llu\n",
                static_cast<unsigned long long>(non_2xx_),
                static_cast<unsigned long long>(conn_errors_),
                static_cast<unsigned long long>(timeouts));
    std::printf(
        "  latency from intended send (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
        us(l.Quantile(0.5)), us(l.Quantile(0.9)), us(l.Quantile(0.99)), us(l.Quantile(0.999)),
        us(l.max()));
    std::printf("  service time from actual send (us): p50 %.1f  p99 %.1f  max %.1f\n",
                us(s.Quantile(0.5)), us(s.Quantile(0.99)), us(s.max()));
    std::printf(
        "  requests that waited for a free connection: %llu; loadgen CPU %.0f%% of a core\n",
        static_cast<unsigned long long>(queued_), cpu_share * 100);
  }
  bool ok = non_2xx_ == 0 && conn_errors_ == 0 && timeouts == 0;
  return ok ? 0 : 1;
}

// --noise: the machine's own scheduling noise, with no server involved. A
// thread wakes at every tick of --rate for --duration and records how late
// it woke (a small cyclictest). Latency percentiles of a server on the same
// machine cannot be better than this.
int MeasureNoise(const Flags& f) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  Histogram late;
  const Nanos period(static_cast<int64_t>(1e9 / f.rate));
  const Clock::time_point end = Clock::now() + std::chrono::microseconds(f.duration.micros());
  Clock::time_point next = Clock::now();
  while (next < end) {
    next += period;
    auto ns = std::chrono::duration_cast<Nanos>(next.time_since_epoch()).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    late.Observe(std::chrono::duration<double>(Clock::now() - next).count());
  }
  HistogramSnapshot s = late.Snapshot();
  std::printf(
      "scheduler noise: wake-up lateness at %.0f Hz over %.0fs (us): p50 %.1f  p90 %.1f  p99 %.1f  "
      "p99.9 %.1f  max %.1f\n",
      f.rate, f.duration.seconds(), s.Quantile(0.5) * 1e6, s.Quantile(0.9) * 1e6,
      s.Quantile(0.99) * 1e6, s.Quantile(0.999) * 1e6, s.max() * 1e6);
  return 0;
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  eddy::Flags flags = eddy::ParseFlags(argc, argv);
  if (flags.noise) return eddy::MeasureNoise(flags);
  eddy::LoadGen gen(std::move(flags));
  return gen.Run();
}
