// Metrics: counters, gauges and histograms registered by name and labels in a
// MetricsRegistry, rendered in the Prometheus text exposition format 0.0.4
// (what `GET /metrics` serves).
//
// Hot path. Counter::Increment, Gauge::Set/Add and Histogram::Observe are
// lock-free (relaxed atomics, no allocation); an Observe is a few tens of ns.
// Looking a metric up (MetricsRegistry::Get*) takes the registry's mutex and
// allocates on first use: do it once, at setup, and keep the reference. The
// registry owns every metric; references stay valid for its lifetime.
//
// Histograms keep two sets of buckets:
//   - the *exported* buckets, a short fixed list of upper bounds (`le`), which
//     is what Prometheus sees (cumulative counts are exact for those bounds);
//   - a *fine* log-linear grid, 16 buckets per power of two, which is what
//     Quantile() reads. A quantile is reported as the midpoint of the fine
//     bucket holding the exact order statistic, so it is within 1/32 (3.125%)
//     of the exact value for magnitudes inside the grid's range
//     [2^min_exponent, 2^max_exponent); magnitudes below the range read as 0,
//     above it as +/-2^max_exponent.
//
// Thread safety: every method of every class here may be called from any
// thread. Rendering reads the atomics while writers keep writing, so one
// scrape may see a histogram's _sum and buckets a few observations apart;
// each exported value is itself consistent and monotonic for counters.
//
// Naming: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"), and a family's type and
// label names are fixed by its first registration. These come from code, not
// from users: violating them is a bug and CHECK-fails. Label *values* may be
// any UTF-8 text (they are escaped on output).

#ifndef EDDY_MONITOR_METRICS_H_
#define EDDY_MONITOR_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eddy {

// Label name/value pairs, in the family's label order.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Upper bounds, in seconds, for latency histograms: 5us to 10s in 1-2.5-5
// steps. The default of HistogramOptions.
std::vector<double> LatencyBoundsSeconds();

struct HistogramOptions {
  // Exported upper bounds (`le` labels), strictly increasing and finite; the
  // +Inf bucket is implicit.
  std::vector<double> bounds = LatencyBoundsSeconds();
  // Range of the fine grid used by Quantile: magnitudes in
  // [2^min_exponent, 2^max_exponent). The default, about 60 ns to 68 minutes,
  // suits latencies in seconds. Memory is 8 bytes per bucket, 16 buckets per
  // power of two on each sign: 9 KiB for the default.
  int min_exponent = -24;
  int max_exponent = 12;
};

// A histogram's state at one moment: for quantiles over a run or, through
// Since(), over an interval.
class HistogramSnapshot {
 public:
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Exact smallest and largest observation (NaN when count() is 0). In a
  // snapshot made by Since() they are Quantile(0) and Quantile(1) instead,
  // within the fine grid's error.
  double min() const { return min_; }
  double max() const { return max_; }
  // The q-quantile (0 <= q <= 1) as the midpoint of the fine bucket holding
  // the ceil(q * count)-th smallest observation (the smallest for q = 0).
  // NaN when count() is 0. See the file comment for the error bound.
  double Quantile(double q) const;
  // Observations made after `earlier` (a snapshot of the same histogram).
  HistogramSnapshot Since(const HistogramSnapshot& earlier) const;

 private:
  friend class Histogram;
  int min_exponent_ = 0;
  int max_exponent_ = 0;
  std::vector<uint64_t> fine_;
  uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
};

// Distribution of observed values (latencies in seconds, sizes, scores).
class Histogram {
 public:
  // REQUIRES: options.bounds strictly increasing and finite;
  // min_exponent < max_exponent, both within [-1000, 1000].
  explicit Histogram(HistogramOptions options = {});
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one value. NaN is ignored. Lock-free.
  void Observe(double v);

  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  double Quantile(double q) const { return Snapshot().Quantile(q); }
  HistogramSnapshot Snapshot() const;

  const std::vector<double>& bounds() const { return options_.bounds; }
  const HistogramOptions& options() const { return options_; }
  // Count of observations <= bounds()[i]; i == bounds().size() gives count().
  uint64_t CumulativeCount(size_t i) const;

 private:
  friend class MetricsRegistry;
  size_t FineIndex(double v) const;

  HistogramOptions options_;
  size_t magnitudes_;  // fine buckets per sign
  uint64_t first_bits_;
  std::unique_ptr<std::atomic<uint64_t>[]> fine_;      // 2 * magnitudes_ + 3
  std::unique_ptr<std::atomic<uint64_t>[]> exported_;  // bounds.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<double> min_;
  std::atomic<double> max_;
};

// One sample produced by a collector at scrape time.
struct MetricSample {
  std::vector<std::string> label_values;  // in the family's label order
  double value = 0;
};

class MetricsRegistry;

// Keeps a callback registered; unregisters it on destruction. After the
// destructor returns the callback is not running and will not run again, so
// what it captured may be destroyed.
class [[nodiscard]] MetricCallback {
 public:
  MetricCallback() = default;
  ~MetricCallback() { Reset(); }
  MetricCallback(MetricCallback&& o) noexcept : registry_(o.registry_), id_(o.id_) {
    o.registry_ = nullptr;
  }
  MetricCallback& operator=(MetricCallback&& o) noexcept;
  MetricCallback(const MetricCallback&) = delete;
  MetricCallback& operator=(const MetricCallback&) = delete;
  void Reset();

 private:
  friend class MetricsRegistry;
  MetricCallback(MetricsRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
  MetricsRegistry* registry_ = nullptr;
  uint64_t id_ = 0;
};

// The set of metrics one process exports. Usually one per process, created by
// main and passed by reference to every component that exports metrics (not
// a global singleton: tests make their own).
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The metric of family `name` with these labels, created on first use.
  // `help` is taken from the first registration of the family. REQUIRES: see
  // "Naming" above; the same family always with the same type, label names
  // and (histograms) bounds.
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          const MetricLabels& labels = {}, const HistogramOptions& options = {});

  // A gauge or counter whose value is computed at scrape time. `fn` runs on
  // the scraping thread with the registry's mutex held: it must be quick and
  // must not call this registry.
  MetricCallback AddCallbackGauge(std::string_view name, std::string_view help,
                                  const MetricLabels& labels, std::function<double()> fn);
  MetricCallback AddCallbackCounter(std::string_view name, std::string_view help,
                                    const MetricLabels& labels, std::function<double()> fn);
  // A family whose label values are known only at scrape time (one sample per
  // source, per partition). `fn` appends samples; label sets must be
  // distinct. Same rules as above. REQUIRES: type is kCounter or kGauge.
  MetricCallback AddCollector(std::string_view name, std::string_view help, MetricType type,
                              std::vector<std::string> label_names,
                              std::function<void(std::vector<MetricSample>&)> fn);

  // Registers the standard process_* metrics (CPU seconds, resident and
  // virtual memory, open and max file descriptors, threads, start time), read
  // from /proc at scrape time. Idempotent.
  void RegisterProcessMetrics();

  // Every family, sorted by name, in the text exposition format 0.0.4
  // (Content-Type "text/plain; version=0.0.4; charset=utf-8").
  std::string RenderPrometheus() const;
  void RenderPrometheus(std::string& out) const;

 private:
  friend class MetricCallback;
  struct Family;
  struct Callback;

  Family& FamilyFor(std::string_view name, std::string_view help, MetricType type,
                    const std::vector<std::string>& label_names);
  static std::vector<std::string> SplitLabels(const MetricLabels& labels,
                                              std::vector<std::string>& names);
  MetricCallback AddCallback(std::string_view name, std::string_view help, MetricType type,
                             std::vector<std::string> label_names,
                             std::function<void(std::vector<MetricSample>&)> fn);
  void RemoveCallback(uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // GUARDED_BY(mu_)
  uint64_t next_callback_id_ = 1;                                         // GUARDED_BY(mu_)
  std::vector<MetricCallback> process_callbacks_;                         // GUARDED_BY(mu_)
  bool process_metrics_ = false;                                          // GUARDED_BY(mu_)
};

// Appends `v` as Prometheus writes sample values: shortest round-trip
// decimal, "+Inf", "-Inf", "NaN".
void AppendPrometheusValue(std::string& out, double v);

}  // namespace eddy

#endif  // EDDY_MONITOR_METRICS_H_
