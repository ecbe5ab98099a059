#include "monitor/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "base/check.h"
#include "base/strings.h"

namespace eddy {

namespace {

// 2^kSubBits fine buckets per power of two: relative bucket width <= 1/16, so
// a bucket's midpoint is within 1/32 of any value in it.
constexpr int kSubBits = 4;
constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBits;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

bool ValidMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view s) {
  if (s.empty() || StartsWith(s, "__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Midpoint of magnitude bucket `m` of a grid starting at 2^min_exponent.
double MagnitudeMidpoint(int min_exponent, uint64_t m) {
  int e = min_exponent + static_cast<int>(m >> kSubBits);
  double j = static_cast<double>(m & (kSubBuckets - 1));
  return std::ldexp(1.0 + (j + 0.5) / static_cast<double>(kSubBuckets), e);
}

// The representative value of fine bucket `i` (see Histogram::FineIndex for
// the layout).
double FineValue(int min_exponent, int max_exponent, size_t i) {
  size_t magnitudes = static_cast<size_t>(max_exponent - min_exponent) * kSubBuckets;
  size_t zero = magnitudes + 1;
  if (i == 0) return -std::ldexp(1.0, max_exponent);
  if (i < zero) return -MagnitudeMidpoint(min_exponent, magnitudes - i);
  if (i == zero) return 0;
  if (i <= zero + magnitudes) return MagnitudeMidpoint(min_exponent, i - zero - 1);
  return std::ldexp(1.0, max_exponent);
}

void AtomicMin(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void AtomicMax(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (quote) {
          out += "\\\"";
        } else {
          out += c;
        }
        break;
      default:
        out += c;
    }
  }
}

// `name{a="x",b="y"` plus the extra label, then `}` (nothing when no labels).
void AppendSeries(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  if (label_names.empty() && extra_name.empty()) return;
  out += '{';
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (i > 0) out += ',';
    out += label_names[i];
    out += "=\"";
    AppendEscaped(out, i < label_values.size() ? label_values[i] : std::string_view(), true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!label_names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void AppendPrometheusValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    AppendDouble(out, v);
  }
}

std::vector<double> LatencyBoundsSeconds() {
  return {5e-6, 1e-5,  2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
          0.01, 0.025, 0.05,   0.1,  0.25, 0.5,    1,    2.5,  5,      10};
}

// ---------------------------------------------------------------------------
// Histogram

// Fine bucket layout, in increasing order of value, with M = magnitudes_:
//   0            values <= -2^max_exponent
//   1 .. M       negative values, magnitude bucket M-1 down to 0
//   M+1          |v| < 2^min_exponent (zero, denormals, tiny values)
//   M+2 .. 2M+1  positive values, magnitude bucket 0 up to M-1
//   2M+2         values >= 2^max_exponent
// The magnitude bucket of a normal double is read off its bits: the exponent
// and the top kSubBits bits of the mantissa, less the bits of 2^min_exponent.
Histogram::Histogram(HistogramOptions options) : options_(std::move(options)) {
  EDDY_CHECK(options_.min_exponent < options_.max_exponent && options_.min_exponent >= -1000 &&
             options_.max_exponent <= 1000)
      << "histogram grid [2^" << options_.min_exponent << ", 2^" << options_.max_exponent << ")";
  for (size_t i = 0; i < options_.bounds.size(); ++i) {
    EDDY_CHECK(std::isfinite(options_.bounds[i])) << "histogram bound " << i << " not finite";
    EDDY_CHECK(i == 0 || options_.bounds[i - 1] < options_.bounds[i])
        << "histogram bounds not strictly increasing at " << i;
  }
  magnitudes_ = static_cast<size_t>(options_.max_exponent - options_.min_exponent) * kSubBuckets;
  first_bits_ = static_cast<uint64_t>(1023 + options_.min_exponent) << kSubBits;
  size_t n = 2 * magnitudes_ + 3;
  fine_ = std::make_unique<std::atomic<uint64_t>[]>(n);
  for (size_t i = 0; i < n; ++i) fine_[i].store(0, std::memory_order_relaxed);
  exported_ = std::make_unique<std::atomic<uint64_t>[]>(options_.bounds.size() + 1);
  for (size_t i = 0; i <= options_.bounds.size(); ++i) {
    exported_[i].store(0, std::memory_order_relaxed);
  }
  min_.store(kInf, std::memory_order_relaxed);
  max_.store(-kInf, std::memory_order_relaxed);
}

size_t Histogram::FineIndex(double v) const {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  bool negative = (bits >> 63) != 0;
  bits &= ~(uint64_t{1} << 63);
  size_t zero = magnitudes_ + 1;
  uint64_t top = bits >> (52 - kSubBits);
  if (top < first_bits_) return zero;
  uint64_t m = top - first_bits_;
  if (m >= magnitudes_) return negative ? 0 : 2 * magnitudes_ + 2;
  return negative ? magnitudes_ - m : zero + 1 + m;
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  fine_[FineIndex(v)].fetch_add(1, std::memory_order_relaxed);
  const std::vector<double>& b = options_.bounds;
  size_t e = static_cast<size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  exported_[e].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  AtomicMin(min_, v);
  AtomicMax(max_, v);
}

uint64_t Histogram::count() const { return CumulativeCount(options_.bounds.size()); }

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t k = 0; k <= i && k <= options_.bounds.size(); ++k) {
    total += exported_[k].load(std::memory_order_relaxed);
  }
  return total;
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot s;
  s.min_exponent_ = options_.min_exponent;
  s.max_exponent_ = options_.max_exponent;
  size_t n = 2 * magnitudes_ + 3;
  s.fine_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    s.fine_[i] = fine_[i].load(std::memory_order_relaxed);
    s.count_ += s.fine_[i];
  }
  s.sum_ = sum_.load(std::memory_order_relaxed);
  s.min_ = s.count_ == 0 ? kNaN : min_.load(std::memory_order_relaxed);
  s.max_ = s.count_ == 0 ? kNaN : max_.load(std::memory_order_relaxed);
  return s;
}

double HistogramSnapshot::Quantile(double q) const {
  if (count_ == 0 || std::isnan(q)) return kNaN;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < fine_.size(); ++i) {
    seen += fine_[i];
    if (seen >= rank) return FineValue(min_exponent_, max_exponent_, i);
  }
  return FineValue(min_exponent_, max_exponent_, fine_.size() - 1);
}

HistogramSnapshot HistogramSnapshot::Since(const HistogramSnapshot& earlier) const {
  HistogramSnapshot d = *this;
  if (earlier.fine_.size() != fine_.size()) return d;
  d.count_ = 0;
  for (size_t i = 0; i < fine_.size(); ++i) {
    d.fine_[i] = fine_[i] >= earlier.fine_[i] ? fine_[i] - earlier.fine_[i] : 0;
    d.count_ += d.fine_[i];
  }
  d.sum_ = sum_ - earlier.sum_;
  d.min_ = d.Quantile(0);
  d.max_ = d.Quantile(1);
  return d;
}

// ---------------------------------------------------------------------------
// Registry

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  MetricType type;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms: of the first child
  struct Child {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  std::map<std::vector<std::string>, Child> children;
  std::map<uint64_t, std::function<void(std::vector<MetricSample>&)>> callbacks;
};

MetricCallback& MetricCallback::operator=(MetricCallback&& o) noexcept {
  if (this != &o) {
    Reset();
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

void MetricCallback::Reset() {
  if (registry_ != nullptr) registry_->RemoveCallback(id_);
  registry_ = nullptr;
}

MetricsRegistry::MetricsRegistry() = default;

MetricsRegistry::~MetricsRegistry() {
  // The process callbacks point back at this registry; drop them without
  // taking the lock again from RemoveCallback.
  std::vector<MetricCallback> own;
  {
    std::lock_guard<std::mutex> lock(mu_);
    own.swap(process_callbacks_);
  }
  own.clear();
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    MetricType type,
                                                    const std::vector<std::string>& label_names) {
  EDDY_CHECK(ValidMetricName(name)) << "invalid metric name '" << name << "'";
  auto it = families_.find(name);
  if (it == families_.end()) {
    for (const std::string& l : label_names) {
      EDDY_CHECK(ValidLabelName(l)) << "invalid label name '" << l << "' in metric " << name;
      EDDY_CHECK(l != "le" || type != MetricType::kHistogram)
          << "histogram " << name << " may not have a label 'le'";
    }
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    f->label_names = label_names;
    it = families_.emplace(f->name, std::move(f)).first;
  }
  Family& f = *it->second;
  EDDY_CHECK(f.type == type) << "metric " << name << " registered as " << TypeName(f.type)
                             << " and as " << TypeName(type);
  EDDY_CHECK(f.label_names == label_names)
      << "metric " << name << " registered with different label names";
  return f;
}

std::vector<std::string> MetricsRegistry::SplitLabels(const MetricLabels& labels,
                                                      std::vector<std::string>& names) {
  std::vector<std::string> values;
  names.clear();
  names.reserve(labels.size());
  values.reserve(labels.size());
  for (const auto& [n, v] : labels) {
    names.push_back(n);
    values.push_back(v);
  }
  return values;
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  std::vector<std::string> names;
  std::vector<std::string> values = SplitLabels(labels, names);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, MetricType::kCounter, names);
  Family::Child& c = f.children[std::move(values)];
  if (!c.counter) c.counter = std::make_unique<Counter>();
  return *c.counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  std::vector<std::string> names;
  std::vector<std::string> values = SplitLabels(labels, names);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, MetricType::kGauge, names);
  Family::Child& c = f.children[std::move(values)];
  if (!c.gauge) c.gauge = std::make_unique<Gauge>();
  return *c.gauge;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const MetricLabels& labels,
                                         const HistogramOptions& options) {
  std::vector<std::string> names;
  std::vector<std::string> values = SplitLabels(labels, names);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, MetricType::kHistogram, names);
  if (f.children.empty() && f.callbacks.empty()) f.bounds = options.bounds;
  EDDY_CHECK(f.bounds == options.bounds) << "histogram " << name << " registered with other bounds";
  Family::Child& c = f.children[std::move(values)];
  if (!c.histogram) c.histogram = std::make_unique<Histogram>(options);
  return *c.histogram;
}

MetricCallback MetricsRegistry::AddCallback(std::string_view name, std::string_view help,
                                            MetricType type, std::vector<std::string> label_names,
                                            std::function<void(std::vector<MetricSample>&)> fn) {
  EDDY_CHECK(type != MetricType::kHistogram) << "callback metric " << name << " is a histogram";
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, type, label_names);
  uint64_t id = next_callback_id_++;
  f.callbacks.emplace(id, std::move(fn));
  return MetricCallback(this, id);
}

MetricCallback MetricsRegistry::AddCallbackGauge(std::string_view name, std::string_view help,
                                                 const MetricLabels& labels,
                                                 std::function<double()> fn) {
  std::vector<std::string> names;
  std::vector<std::string> values = SplitLabels(labels, names);
  return AddCallback(name, help, MetricType::kGauge, std::move(names),
                     [values = std::move(values), fn = std::move(fn)](auto& out) {
                       out.push_back(MetricSample{values, fn()});
                     });
}

MetricCallback MetricsRegistry::AddCallbackCounter(std::string_view name, std::string_view help,
                                                   const MetricLabels& labels,
                                                   std::function<double()> fn) {
  std::vector<std::string> names;
  std::vector<std::string> values = SplitLabels(labels, names);
  return AddCallback(name, help, MetricType::kCounter, std::move(names),
                     [values = std::move(values), fn = std::move(fn)](auto& out) {
                       out.push_back(MetricSample{values, fn()});
                     });
}

MetricCallback MetricsRegistry::AddCollector(std::string_view name, std::string_view help,
                                             MetricType type, std::vector<std::string> label_names,
                                             std::function<void(std::vector<MetricSample>&)> fn) {
  return AddCallback(name, help, type, std::move(label_names), std::move(fn));
}

void MetricsRegistry::RemoveCallback(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = families_.begin(); it != families_.end(); ++it) {
    Family& f = *it->second;
    if (f.callbacks.erase(id) == 0) continue;
    if (f.callbacks.empty() && f.children.empty()) families_.erase(it);
    return;
  }
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  RenderPrometheus(out);
  return out;
}

void MetricsRegistry::RenderPrometheus(std::string& out) const {
  std::vector<MetricSample> samples;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, fp] : families_) {
    const Family& f = *fp;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    AppendEscaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    for (const auto& [values, child] : f.children) {
      switch (f.type) {
        case MetricType::kCounter:
          AppendSeries(out, f.name, "", f.label_names, values);
          out += ' ';
          AppendInt(out, static_cast<int64_t>(child.counter->value()));
          out += '\n';
          break;
        case MetricType::kGauge:
          AppendSeries(out, f.name, "", f.label_names, values);
          out += ' ';
          AppendPrometheusValue(out, child.gauge->value());
          out += '\n';
          break;
        case MetricType::kHistogram: {
          const Histogram& h = *child.histogram;
          uint64_t cumulative = 0;
          std::string le;
          for (size_t i = 0; i <= h.bounds().size(); ++i) {
            cumulative += h.exported_[i].load(std::memory_order_relaxed);
            le.clear();
            if (i < h.bounds().size()) {
              AppendPrometheusValue(le, h.bounds()[i]);
            } else {
              le = "+Inf";
            }
            AppendSeries(out, f.name, "_bucket", f.label_names, values, "le", le);
            out += ' ';
            AppendInt(out, static_cast<int64_t>(cumulative));
            out += '\n';
          }
          AppendSeries(out, f.name, "_sum", f.label_names, values);
          out += ' ';
          AppendPrometheusValue(out, h.sum());
          out += '\n';
          AppendSeries(out, f.name, "_count", f.label_names, values);
          out += ' ';
          AppendInt(out, static_cast<int64_t>(cumulative));
          out += '\n';
          break;
        }
      }
    }
    for (const auto& [id, fn] : f.callbacks) {
      samples.clear();
      fn(samples);
      for (const MetricSample& s : samples) {
        AppendSeries(out, f.name, "", f.label_names, s.label_values);
        out += ' ';
        AppendPrometheusValue(out, s.value);
        out += '\n';
      }
    }
  }
}

}  // namespace eddy
