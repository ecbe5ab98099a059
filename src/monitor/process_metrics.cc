// The standard process_* metrics of Prometheus client libraries, read from
// /proc at scrape time (Linux only; elsewhere they read as NaN).

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "monitor/metrics.h"

namespace eddy {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string ReadSmallFile(const char* path) {
  std::string out;
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// Field `k` (1-based, as in proc(5)) of /proc/self/stat, or NaN.
double StatField(int k) {
  std::string s = ReadSmallFile("/proc/self/stat");
  size_t p = s.rfind(')');
  if (p == std::string::npos) return kNaN;
  // Field 3 starts after ") ".
  int field = 3;
  size_t i = p + 2;
  while (i < s.size() && field < k) {
    if (s[i] == ' ') ++field;
    ++i;
  }
  if (field != k || i >= s.size()) return kNaN;
  return std::strtod(s.c_str() + i, nullptr);
}

double ClockTicks() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

double BootTimeSeconds() {
  std::string s = ReadSmallFile("/proc/stat");
  size_t p = s.find("\nbtime ");
  if (p == std::string::npos) return kNaN;
  return std::strtod(s.c_str() + p + 7, nullptr);
}

double OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return kNaN;
  double n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') n += 1;
  }
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void MetricsRegistry::RegisterProcessMetrics() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (process_metrics_) return;
    process_metrics_ = true;
  }
  std::vector<MetricCallback> cbs;
  cbs.push_back(AddCallbackCounter("process_cpu_seconds_total",
                                   "Total user and system CPU time spent in seconds.", {},
                                   [] { return (StatField(14) + StatField(15)) / ClockTicks(); }));
  cbs.push_back(
      AddCallbackGauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                       [] { return StatField(24) * static_cast<double>(sysconf(_SC_PAGESIZE)); }));
  cbs.push_back(AddCallbackGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                 {}, [] { return StatField(23); }));
  cbs.push_back(AddCallbackGauge("process_threads", "Number of OS threads in the process.", {},
                                 [] { return StatField(20); }));
  cbs.push_back(AddCallbackGauge("process_open_fds", "Number of open file descriptors.", {},
                                 [] { return OpenFds(); }));
  cbs.push_back(
      AddCallbackGauge("process_max_fds", "Maximum number of open file descriptors.", {}, [] {
        rlimit r{};
        if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return kNaN;
        return static_cast<double>(r.rlim_cur);
      }));
  double start = BootTimeSeconds() + StatField(22) / ClockTicks();
  cbs.push_back(AddCallbackGauge("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.", {},
                                 [start] { return start; }));
  std::lock_guard<std::mutex> lock(mu_);
  for (MetricCallback& c : cbs) process_callbacks_.push_back(std::move(c));
}

}  // namespace eddy
