// The property tests of the feature engine: random streams fed through the
// groups exactly as the engine feeds them, every output compared with a
// brute-force reference written here.
//
// Per-event ("as-of") features: thousands of random streams through
// AsOfGroup, every feature of every event checked.
//
// Each stream has many keys (one of them hot), event times out of order
// within a bound, ties, times one microsecond either side of window edges,
// records later than the watermark allows (rejected before they reach the
// group, by WatermarkTracker's rule), null inputs, and a random set of
// aggregations over random windows, exact (granularity 0) or tiled.
//
// The reference, for event e with key k and time t, scans every previously
// accepted event of k and e itself:
//   exact   events with time in [t - w, t]
//   tiled   events with time in [floor((t - w) / g) * g, floor(t / g) * g + g)
//           (the documented tile approximation, computed exactly)
// and aggregates them directly. Comparisons:
//   count, count_distinct, top_k, last, min, max   exact
//   sum            within 1e-12 of the sum of |x| in the window: the running
//                  sum is compensated (Neumaier) but adds and removes in a
//                  different order than a fresh sum, so the last bits differ
//   mean           within 1e-12 of the mean of |x| (the running compensated
//                  sum over n)
//   variance, sd   within 1e-9 relative, plus 1e-14 * |mean| * sd and
//                  1e-29 * mean^2: x - mean rounds to ~1e-16 * |mean| in any
//                  method (on 1e9 + U(-1, 1) data the deviations keep 7 of 16
//                  digits), and the running state is rebuilt from the window
//                  when its error bound exceeds 8 times a fresh one's
//   quantile       within the sketch's 1% of the element of rank
//                  floor(q * (n - 1))
//   decayed_sum    within 1e-9 of the sum of |v| * weight, plus 1e-13 of the
//                  same over the key's history: a value that left the window
//                  leaves a residue of some ulps of its decayed weight once
//                  the running sum's reference time has moved (its add and
//                  remove are then rounded differently; observed up to 5e-15)
// A twin group that never receives watermarks must give bit-identical
// results: dropping state never changes a result, so replay equals live even
// when watermarks move at different points (idleness is processing time).
//
// Emitted windows: tumbling and hopping windows (every row, when it comes,
// what it holds, when state is freed) and session windows (at every watermark, the rows emitted so
// far describe every session of the accepted events that the watermark has passed).
//
// EDDY_PROPERTY_ITERATIONS scales the number of streams (default 1500 as-of
// streams, an eighth of that for each kind of emitted window).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/strings.h"
#include "features/asof_group.h"
#include "features/window_group.h"

namespace eddy {
namespace {

constexpr int64_t kTick = 1'000'000;  // one second: times and windows are in ticks

int Iterations(int default_value) {
  const char* env = std::getenv("EDDY_PROPERTY_ITERATIONS");
  if (env == nullptr) return default_value;
  int n = std::atoi(env);
  return n > 0 ? n : default_value;
}

// Fields: key, ts, x (double), n (int), s (string), b (bool).
enum FieldIndex { kKey = 0, kTs, kX, kN, kS, kB };

SourceSpec PropertySource(Duration bound, Duration lateness) {
  SourceSpec s;
  s.name = "events";
  s.fields = {
      {.name = "key", .type = FieldType::kString}, {.name = "ts", .type = FieldType::kTimestamp},
      {.name = "x", .type = FieldType::kDouble},   {.name = "n", .type = FieldType::kInt},
      {.name = "s", .type = FieldType::kString},   {.name = "b", .type = FieldType::kBool}};
  s.event_time_field = "ts";
  s.key_fields = {"key"};
  s.watermark.max_out_of_orderness = bound;
  s.watermark.allowed_lateness = lateness;
  return s;
}

struct Ev {
  std::string key;
  int64_t t = 0;
  std::optional<double> x;
  std::optional<int64_t> n;
  std::optional<std::string> s;
  std::optional<bool> b;
};

Row ToRow(const Ev& e) {
  Row row(6);
  row.SetString(kKey, e.key);
  row.Set(kTs, Value::Timestamp(EventTime::FromMicros(e.t)));
  if (e.x) row.Set(kX, Value::Double(*e.x));
  if (e.n) row.Set(kN, Value::Int(*e.n));
  if (e.s) row.SetString(kS, *e.s);
  if (e.b) row.Set(kB, Value::Bool(*e.b));
  return row;
}

// ---- The reference ----

std::optional<double> Numeric(const Ev& e, const std::string& field) {
  if (field == "x") return e.x;
  if (field == "n") return e.n ? std::optional<double>(static_cast<double>(*e.n)) : std::nullopt;
  if (field == "b") return e.b ? std::optional<double>(*e.b ? 1.0 : 0.0) : std::nullopt;
  return std::nullopt;
}

bool IsNull(const Ev& e, const std::string& field) {
  if (field.empty()) return false;
  if (field == "x") return !e.x;
  if (field == "n") return !e.n;
  if (field == "s") return !e.s;
  if (field == "b") return !e.b;
  return true;
}

// A value with its order: ints and bools numerically, strings as text.
struct Ident {
  double num = 0;
  std::string text;
  auto operator<=>(const Ident&) const = default;
};

Ident IdentOf(const Ev& e, const std::string& field) {
  if (field == "s") return {0, *e.s};
  if (field == "n") return {static_cast<double>(*e.n), StrCat(*e.n)};
  if (field == "b") return {*e.b ? 1.0 : 0.0, *e.b ? "true" : "false"};
  std::string text;
  AppendDouble(text, *e.x);
  return {*e.x, text};
}

FeatureValue TypedValue(const Ev& e, const std::string& field) {
  if (field == "x") return FeatureValue::Double(*e.x);
  if (field == "n") return FeatureValue::Int(*e.n);
  if (field == "s") return FeatureValue::String(*e.s);
  return FeatureValue::Bool(*e.b);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The events an aggregation covers for event `history.back()`.
std::vector<const Ev*> Covered(const std::vector<const Ev*>& history, const AggregationSpec& a) {
  const Ev& e = *history.back();
  const int64_t w = a.window.micros(), g = a.granularity.micros();
  int64_t lo = e.t - w, hi_excl = e.t + 1;
  if (g > 0) {
    lo = FloorDiv(e.t - w, g) * g;
    hi_excl = FloorDiv(e.t, g) * g + g;
  }
  std::vector<const Ev*> out;
  for (const Ev* p : history) {
    if (p->t >= lo && p->t < hi_excl) out.push_back(p);
  }
  return out;
}

struct Errors {
  double sum = 0, mean = 0, variance = 0, decayed = 0;  // worst relative-to-tolerance seen
};

// Compares one computed feature with the reference. Returns "" or a message.
// `history` holds every accepted event of the key so far (for the residue
// bound of decayed sums).
std::string CheckFeature(const AggregationSpec& a, const std::vector<const Ev*>& in,
                         const std::vector<const Ev*>& history, const Ev& e,
                         const FeatureValue& got, Errors& errors) {
  std::vector<const Ev*> vals;  // events with a non-null input
  for (const Ev* p : in) {
    if (!IsNull(*p, a.field)) vals.push_back(p);
  }
  auto expect_null = [&]() -> std::string { return got.is_null() ? "" : "expected null"; };
  auto expect_double = [&](double want, double tol, double* worst) -> std::string {
    if (got.type() != FeatureValue::Type::kDouble) return StrCat("expected a double ", want);
    double err = std::fabs(got.double_value() - want);
    if (worst != nullptr && tol > 0) *worst = std::max(*worst, err / tol);
    if (err <= tol) return "";
    return StrCat("got ", got.double_value(), " want ", want, " (error ", err, " > ", tol, ")");
  };
  std::vector<double> xs;
  for (const Ev* p : vals) {
    if (a.kind != AggKind::kCount && a.kind != AggKind::kCountDistinct &&
        a.kind != AggKind::kTopK && a.kind != AggKind::kLast) {
      xs.push_back(*Numeric(*p, a.field));
    }
  }
  long double sum = 0, abs_sum = 0;
  for (double x : xs) {
    sum += x;
    abs_sum += std::fabs(x);
  }
  switch (a.kind) {
    case AggKind::kCount:
      if (got.type() != FeatureValue::Type::kInt) return "expected an int";
      if (got.int_value() != static_cast<int64_t>(vals.size())) {
        return StrCat("count ", got.int_value(), " want ", vals.size());
      }
      return "";
    case AggKind::kSum:
      return expect_double(static_cast<double>(sum), 1e-12 * static_cast<double>(abs_sum),
                           &errors.sum);
    case AggKind::kMean: {
      if (xs.empty()) return expect_null();
      const double n = static_cast<double>(xs.size());
      return expect_double(static_cast<double>(sum / n), 1e-12 * static_cast<double>(abs_sum) / n,
                           &errors.mean);
    }
    case AggKind::kVariance:
    case AggKind::kStddev: {
      if (xs.size() < 2) return expect_null();
      const long double n = static_cast<long double>(xs.size());
      const long double mean = sum / n;
      long double m2 = 0;
      for (double x : xs) m2 += (x - mean) * (x - mean);
      const double var = static_cast<double>(m2 / (n - 1));
      const double mean_abs = static_cast<double>(abs_sum / n);
      const double var_tol =
          1e-9 * var + 1e-14 * mean_abs * std::sqrt(var) + 1e-29 * mean_abs * mean_abs;
      if (a.kind == AggKind::kVariance) return expect_double(var, var_tol, &errors.variance);
      const double sd = std::sqrt(var);
      // d(sqrt v) = dv / (2 sqrt v); near 0 fall back to sqrt of the tolerance.
      const double sd_tol = sd > 0 ? std::min(var_tol / (2 * sd), std::sqrt(var_tol)) + 1e-12 * sd
                                   : std::sqrt(var_tol);
      return expect_double(sd, sd_tol, nullptr);
    }
    case AggKind::kMin:
    case AggKind::kMax: {
      if (xs.empty()) return expect_null();
      double want = a.kind == AggKind::kMin ? *std::min_element(xs.begin(), xs.end())
                                            : *std::max_element(xs.begin(), xs.end());
      if (want == 0) want = 0.0;  // no negative zero in outputs
      return expect_double(want, 0, nullptr);
    }
    case AggKind::kCountDistinct: {
      std::set<Ident> distinct;
      for (const Ev* p : vals) distinct.insert(IdentOf(*p, a.field));
      if (got.type() != FeatureValue::Type::kInt) return "expected an int";
      if (got.int_value() != static_cast<int64_t>(distinct.size())) {
        return StrCat("count_distinct ", got.int_value(), " want ", distinct.size());
      }
      return "";
    }
    case AggKind::kTopK: {
      std::map<Ident, int64_t> counts;
      for (const Ev* p : vals) ++counts[IdentOf(*p, a.field)];
      std::vector<std::pair<Ident, int64_t>> items(counts.begin(), counts.end());
      std::stable_sort(items.begin(), items.end(),
                       [](const auto& x, const auto& y) { return x.second > y.second; });
      std::vector<std::string> want;
      for (size_t i = 0; i < items.size() && i < static_cast<size_t>(a.k); ++i) {
        want.push_back(items[i].first.text);
      }
      if (got.type() != FeatureValue::Type::kList) return "expected a list";
      if (got.list_value() != want) {
        std::string g, w;
        got.AppendJson(g);
        for (const auto& s : want) StrAppend(w, s, "|");
        return StrCat("top_k ", g, " want ", w);
      }
      return "";
    }
    case AggKind::kQuantile: {
      if (xs.empty()) return expect_null();
      std::sort(xs.begin(), xs.end());
      double want =
          xs[static_cast<size_t>(std::floor(a.quantile * static_cast<double>(xs.size() - 1)))];
      if (std::fabs(want) < 1e-12) return expect_double(0.0, 0, nullptr);
      return expect_double(want, 0.01 * std::fabs(want) * (1 + 1e-9), nullptr);
    }
    case AggKind::kLast: {
      // The latest non-null by (time, arrival); `in` is in arrival order.
      const Ev* best = nullptr;
      for (const Ev* p : vals) {
        if (best == nullptr || p->t >= best->t) best = p;
      }
      if (best == nullptr) return expect_null();
      FeatureValue want = TypedValue(*best, a.field);
      if (!(got == want)) {
        std::string g, w;
        got.AppendJson(g);
        want.AppendJson(w);
        return StrCat("last ", g, " want ", w);
      }
      return "";
    }
    case AggKind::kDecayedSum: {
      const long double h = static_cast<long double>(a.half_life.micros());
      long double s = 0, scale = 0, history_scale = 0;
      for (const Ev* p : vals) {
        long double wgt = std::exp2(-static_cast<long double>(e.t - p->t) / h);
        s += *Numeric(*p, a.field) * wgt;
        scale += std::fabs(*Numeric(*p, a.field)) * wgt;
      }
      for (const Ev* p : history) {
        if (IsNull(*p, a.field) || p->t > e.t) continue;
        history_scale +=
            std::fabs(*Numeric(*p, a.field)) * std::exp2(-static_cast<long double>(e.t - p->t) / h);
      }
      return expect_double(
          static_cast<double>(s),
          1e-9 * static_cast<double>(scale) + 1e-13 * static_cast<double>(history_scale),
          &errors.decayed);
    }
  }
  return "unknown kind";
}

// ---- Random streams ----

struct Stream {
  Duration bound, lateness;
  std::vector<AggregationSpec> aggs;
  std::vector<Ev> events;  // in arrival order, late ones included
};

AggregationSpec RandomAggregation(std::mt19937_64& rng, int index) {
  AggregationSpec a;
  a.name = StrCat("f", index);
  static const AggKind kKinds[] = {AggKind::kCount,  AggKind::kSum,           AggKind::kMean,
                                   AggKind::kMin,    AggKind::kMax,           AggKind::kVariance,
                                   AggKind::kStddev, AggKind::kCountDistinct, AggKind::kQuantile,
                                   AggKind::kLast,   AggKind::kTopK,          AggKind::kDecayedSum};
  a.kind = kKinds[rng() % std::size(kKinds)];
  switch (a.kind) {
    case AggKind::kCount:
      a.field = rng() % 2 ? "" : (rng() % 2 ? "x" : "s");
      break;
    case AggKind::kCountDistinct:
    case AggKind::kTopK:
      a.field = rng() % 3 == 0 ? "n" : (rng() % 4 == 0 ? "b" : "s");
      break;
    case AggKind::kLast: {
      static const char* kFields[] = {"x", "n", "s", "b"};
      a.field = kFields[rng() % 4];
      break;
    }
    case AggKind::kMin:
    case AggKind::kMax:
      a.field = rng() % 4 == 0 ? "n" : "x";
      break;
    default:
      a.field = rng() % 8 == 0 ? "n" : "x";
      break;
  }
  const int64_t window_ticks = 1 + static_cast<int64_t>(rng() % 30);
  a.window = Duration::Micros(window_ticks * kTick);
  if (rng() % 3 == 0) {
    a.granularity = Duration::Micros((1 + static_cast<int64_t>(rng() % window_ticks)) * kTick);
  }
  static const double kQs[] = {0, 0.1, 0.5, 0.9, 0.99, 1};
  a.quantile = kQs[rng() % std::size(kQs)];
  a.k = 1 + static_cast<int>(rng() % 4);
  a.half_life = Duration::Micros((1 + static_cast<int64_t>(rng() % 20)) * kTick / 2);
  return a;
}

// `late_heavy` streams have a longer allowed lateness and events further
// behind, so that many are late but allowed (for emitted windows).
Stream RandomStream(std::mt19937_64& rng, bool late_heavy = false) {
  Stream st;
  const int64_t bound_ticks = static_cast<int64_t>(rng() % 8);
  st.bound = Duration::Micros(bound_ticks * kTick);
  const int64_t lateness_ticks = late_heavy ? static_cast<int64_t>(rng() % 10)
                                            : (rng() % 2 ? 0 : static_cast<int64_t>(rng() % 5));
  st.lateness = Duration::Micros(lateness_ticks * kTick);
  const int num_aggs = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < num_aggs; ++i) st.aggs.push_back(RandomAggregation(rng, i));
  const int num_keys = 1 + static_cast<int>(rng() % 12);
  const int num_events = 20 + static_cast<int>(rng() % 200);
  const int x_mode = static_cast<int>(rng() % 4);
  const int null_percent = static_cast<int>(rng() % 3) * 10;
  int64_t clock = 1'700'000'000 + static_cast<int64_t>(rng() % 1000);
  static const char* kStrings[] = {"a", "b", "c", "d", "", "e,f", "zz"};
  for (int i = 0; i < num_events; ++i) {
    Ev e;
    e.key = rng() % 2 ? "hot" : StrCat("k", rng() % static_cast<uint64_t>(num_keys));
    clock += static_cast<int64_t>(rng() % 4);  // 0: ties
    int64_t ticks = clock;
    if (rng() % 3 == 0) {
      ticks -=
          static_cast<int64_t>(rng() % static_cast<uint64_t>(bound_ticks + lateness_ticks + 4));
    }
    e.t = ticks * kTick;
    switch (rng() % 10) {  // one microsecond either side of a window edge
      case 0:
        e.t += 1;
        break;
      case 1:
        e.t -= 1;
        break;
      default:
        break;
    }
    auto present = [&]() { return static_cast<int>(rng() % 100) >= null_percent; };
    if (present()) {
      switch (x_mode) {
        case 0:
          e.x = static_cast<double>(static_cast<int64_t>(rng() % 11) - 5);
          break;
        case 1:
          e.x = std::uniform_real_distribution<double>(-1000, 1000)(rng);
          break;
        case 2:
          e.x = 1e9 + std::uniform_real_distribution<double>(-1, 1)(rng);
          break;
        default:
          e.x = rng() % 5 == 0 ? 0.0 : std::exp(std::uniform_real_distribution<double>(-3, 8)(rng));
          break;
      }
    }
    if (present()) e.n = static_cast<int64_t>(rng() % 7) - 2;
    if (present()) e.s = kStrings[rng() % std::size(kStrings)];
    if (present()) e.b = rng() % 2 == 0;
    st.events.push_back(std::move(e));
  }
  return st;
}

struct RunResult {
  int accepted = 0, late = 0, out_of_order = 0;
  std::string failure;
};

// Feeds `st` through an AsOfGroup as the engine does and checks every
// feature of every event.
RunResult RunStream(const Stream& st, Errors& errors) {
  RunResult r;
  SourceSpec source = PropertySource(st.bound, st.lateness);
  auto schema = Schema::Create(source);
  EDDY_CHECK(schema.ok());
  FeatureGroupSpec spec;
  spec.name = "g";
  spec.source = "events";
  spec.aggregations = st.aggs;
  auto group = AsOfGroup::Create(spec, source, *schema);
  auto twin = AsOfGroup::Create(spec, source, *schema);  // never sees a watermark
  if (!group.ok()) {
    r.failure = group.status().ToString();
    return r;
  }
  std::vector<FeatureValue> out(st.aggs.size()), twin_out(st.aggs.size());
  std::map<std::string, std::vector<const Ev*>> history;  // accepted, per key
  // The watermark, as WatermarkTracker keeps it for one partition.
  EventTime max_seen = EventTime::Min();
  Watermark wm = Watermark::Min();
  for (size_t i = 0; i < st.events.size(); ++i) {
    const Ev& e = st.events[i];
    const EventTime t = EventTime::FromMicros(e.t);
    if (t < wm.time() - st.lateness) {
      ++r.late;  // rejected before it reaches any feature
      continue;
    }
    ++r.accepted;
    auto& h = history[e.key];
    if (!h.empty() && std::any_of(h.begin(), h.end(), [&](const Ev* p) { return p->t > e.t; })) {
      ++r.out_of_order;
    }
    h.push_back(&e);
    Row row = ToRow(e);
    (*group)->OnEvent(e.key, t, row, out);
    (*twin)->OnEvent(e.key, t, row, twin_out);
    for (size_t a = 0; a < st.aggs.size(); ++a) {
      std::string msg = CheckFeature(st.aggs[a], Covered(h, st.aggs[a]), h, e, out[a], errors);
      if (msg.empty() && !(out[a] == twin_out[a])) {
        std::string g, w;
        out[a].AppendJson(g);
        twin_out[a].AppendJson(w);
        msg = StrCat("differs from the group without watermarks: ", g, " vs ", w);
      }
      if (!msg.empty()) {
        const AggregationSpec& s = st.aggs[a];
        r.failure = StrCat("event ", i, " (key ", e.key, ", t ", e.t, "), aggregation ", s.name,
                           " ", AggKindName(s.kind), "(", s.field, ") window ", s.window.micros(),
                           "us granularity ", s.granularity.micros(), "us: ", msg);
        return r;
      }
    }
    if (t > max_seen) {
      max_seen = t;
      Watermark next(max_seen - st.bound);
      if (next > wm) {
        wm = next;
        (*group)->OnWatermark(wm);
      }
    }
  }
  (*group)->OnWatermark(Watermark::EndOfTime());
  AsOfGroup::Stats s = (*group)->stats();
  if (s.keys != 0 || s.entries != 0 || s.strings != 0) {
    r.failure = StrCat("after the end of input: ", s.keys, " keys, ", s.entries, " entries, ",
                       s.strings, " strings still held");
  }
  return r;
}

std::string Describe(const Stream& st) {
  std::string out =
      StrCat("bound ", st.bound.micros(), "us lateness ", st.lateness.micros(), "us\n");
  for (const Ev& e : st.events) {
    StrAppend(out, "  ", e.key, " t=", e.t, " x=", e.x ? StrCat(*e.x) : "null",
              " n=", e.n ? StrCat(*e.n) : "null", " s=", e.s ? *e.s : "null", "\n");
  }
  return out;
}

TEST(AsOfPropertyTest, EveryFeatureOfEveryEventEqualsTheBruteForceReference) {
  const int iterations = Iterations(1500);
  const auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(20240501);
  Errors errors;
  int64_t accepted = 0, late = 0, ooo = 0;
  for (int it = 0; it < iterations; ++it) {
    Stream st = RandomStream(rng);
    RunResult r = RunStream(st, errors);
    ASSERT_EQ(r.failure, "") << "stream " << it << ": " << Describe(st);
    accepted += r.accepted;
    late += r.late;
    ooo += r.out_of_order;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The streams must exercise what they claim to.
  EXPECT_GT(late, iterations) << "some records must be late";
  EXPECT_GT(ooo, iterations * 5) << "many events must be out of order";
  std::printf(
      "%d streams, %lld accepted events (%lld out of order), %lld late, %.2f s; worst error / "
      "tolerance: sum %.3g, mean %.3g, variance %.3g, decayed %.3g\n",
      iterations, static_cast<long long>(accepted), static_cast<long long>(ooo),
      static_cast<long long>(late), seconds, errors.sum, errors.mean, errors.variance,
      errors.decayed);
}

// ---- Tumbling windows against a brute-force reference ----

struct CollectingSink : WindowSink {
  struct Got {
    std::string key;
    int64_t start, end;
    std::vector<FeatureValue> values;
    int emission;
  };
  std::vector<Got> rows;
  void OnWindowRow(const WindowRow& row) override {
    rows.push_back({std::string(row.key_json), row.start.micros(), row.end.micros(), *row.values,
                    row.emission});
  }
};

TEST(TumblingPropertyTest, EveryEmittedRowEqualsTheBruteForceReference) {
  // Tumbling windows, and every third stream hopping ones. For each (key,
  // window) the reference knows the accepted events, in arrival order. Rows
  // must come when the watermark reaches the window's end (emission 0, over
  // the events accepted so far), again for each accepted event that falls in
  // the window after that (emission 1, 2, ...), and for every window by the
  // end of input; state must be freed once the watermark passes
  // end + allowed_lateness.
  const int iterations = Iterations(1500) / 8 + 1;
  std::mt19937_64 rng(777);
  int64_t total_rows = 0, updates = 0;
  for (int it = 0; it < iterations; ++it) {
    Stream st = RandomStream(rng, /*late_heavy=*/true);
    const int64_t size = (1 + static_cast<int64_t>(rng() % 12)) * kTick;
    const bool hopping = it % 3 == 2;
    // Slides that divide the size and that do not; any slide <= size.
    const int64_t slide =
        hopping ? 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(size)) : size;
    // The starts of the windows holding time t: multiples of slide in (t - size, t].
    auto starts_of = [&](int64_t t) {
      std::vector<int64_t> out;
      for (int64_t i = FloorDiv(t - size, slide) + 1; i * slide <= t; ++i) out.push_back(i * slide);
      return out;
    };
    for (AggregationSpec& a : st.aggs) {
      a.window = Duration::Zero();
      a.granularity = Duration::Zero();
    }
    SourceSpec source = PropertySource(st.bound, st.lateness);
    auto schema = Schema::Create(source);
    ASSERT_TRUE(schema.ok());
    FeatureGroupSpec spec;
    spec.name = "w";
    spec.source = "events";
    spec.window.kind = hopping ? WindowKind::kHopping : WindowKind::kTumbling;
    spec.window.size = Duration::Micros(size);
    spec.window.slide = hopping ? Duration::Micros(slide) : Duration::Zero();
    spec.aggregations = st.aggs;
    auto group = WindowGroup::Create(spec, source, *schema);
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    CollectingSink sink;
    // (key, start) -> events accepted so far, and rows emitted so far.
    std::map<std::pair<std::string, int64_t>, std::vector<const Ev*>> windows;
    std::map<std::pair<std::string, int64_t>, int> emitted;
    EventTime max_seen = EventTime::Min();
    Watermark wm = Watermark::Min();
    Errors errors;
    size_t checked = 0;
    auto check_new_rows = [&](const std::string& when) {
      for (; checked < sink.rows.size(); ++checked) {
        const auto& row = sink.rows[checked];
        std::string key = row.key.substr(1, row.key.size() - 2);  // JSON string
        auto id = std::make_pair(key, row.start);
        ASSERT_EQ(row.end, row.start + size);
        ASSERT_EQ(FloorDiv(row.start, slide) * slide, row.start) << "epoch-aligned";
        ASSERT_TRUE(windows.count(id)) << when << ": a row for a window with no event";
        ASSERT_LE(row.end, wm.time().micros()) << when << ": emitted before the watermark";
        ASSERT_EQ(row.emission, emitted[id]++) << when;
        const auto& evs = windows[id];
        for (size_t a = 0; a < st.aggs.size(); ++a) {
          // Decayed sums of a window are as of its end.
          Ev at_end;
          at_end.t = row.end;
          std::string msg = CheckFeature(st.aggs[a], evs, evs, at_end, row.values[a], errors);
          ASSERT_EQ(msg, "") << "stream " << it << " " << when << ": window " << key << " ["
                             << row.start << ", " << row.end << ") emission " << row.emission
                             << ", aggregation " << st.aggs[a].name << " "
                             << AggKindName(st.aggs[a].kind) << "(" << st.aggs[a].field << ")";
        }
      }
    };
    for (size_t i = 0; i < st.events.size(); ++i) {
      const Ev& e = st.events[i];
      const EventTime t = EventTime::FromMicros(e.t);
      if (t < wm.time() - st.lateness) continue;  // late
      size_t passed = 0;
      for (int64_t start : starts_of(e.t)) {
        windows[{e.key, start}].push_back(&e);
        // An event in a window the watermark has passed updates it at once.
        passed += start + size <= wm.time().micros() ? 1 : 0;
      }
      const size_t rows_before = sink.rows.size();
      Row row = ToRow(e);
      std::string key_json = StrCat("\"", e.key, "\"");
      (*group)->OnEvent(e.key, key_json, t, row, sink);
      ASSERT_EQ(sink.rows.size(), rows_before + passed) << "stream " << it;
      check_new_rows(StrCat("after event ", i));
      if (HasFatalFailure()) return;
      if (t > max_seen) {
        max_seen = t;
        Watermark next(max_seen - st.bound);
        if (next > wm) {
          wm = next;
          (*group)->OnWatermark(wm, sink);
          check_new_rows(StrCat("at watermark ", wm.time().micros()));
          if (HasFatalFailure()) return;
          // Every window whose end the watermark reached has been emitted.
          for (const auto& [wid, evs] : windows) {
            if (wid.second + size <= wm.time().micros()) {
              ASSERT_GE(emitted[wid], 1)
                  << "stream " << it << ": window " << wid.first << " [" << wid.second << ", "
                  << wid.second + size << ") not emitted at watermark " << wm.time().micros()
                  << "\n"
                  << Describe(st);
            }
          }
          // State is kept until the watermark passes end + allowed_lateness.
          size_t open = 0;
          for (const auto& [wid, evs] : windows) {
            open += (EventTime::FromMicros(wid.second + size) + st.lateness > wm.time()) ? 1 : 0;
          }
          ASSERT_EQ((*group)->open_windows(), open) << "stream " << it;
        }
      }
    }
    wm = Watermark::EndOfTime();
    (*group)->OnWatermark(wm, sink);
    check_new_rows("at the end of input");
    for (const auto& [wid, evs] : windows) {
      ASSERT_GE(emitted[wid], 1) << "stream " << it << ": window never emitted";
    }
    EXPECT_EQ((*group)->open_windows(), 0u) << "state freed at the end of input";
    total_rows += static_cast<int64_t>(sink.rows.size());
    for (const auto& row : sink.rows) updates += row.emission > 0 ? 1 : 0;
  }
  std::printf("%d streams, %lld tumbling and hopping rows, %lld updates\n", iterations,
              static_cast<long long>(total_rows), static_cast<long long>(updates));
  EXPECT_GT(updates, iterations) << "late-but-allowed events must update windows";
}

// ---- Session windows against a brute-force reference ----

struct SessionSink : WindowSink {
  struct Got {
    std::string key;
    int64_t start, end;
    std::vector<FeatureValue> values;
    int emission;
    std::vector<std::pair<int64_t, int64_t>> replaces;
  };
  std::vector<Got> rows;
  void OnWindowRow(const WindowRow& row) override {
    Got g{std::string(row.key_json),
          row.start.micros(),
          row.end.micros(),
          *row.values,
          row.emission,
          {}};
    for (const auto& [a, b] : row.replaces) g.replaces.emplace_back(a.micros(), b.micros());
    rows.push_back(std::move(g));
  }
};

// Sessions of `events` (one key): sorted by time, split where consecutive
// events are `gap` or more apart. Each is (start, end = last + gap, events).
struct RefSession {
  int64_t start, end;
  std::vector<const Ev*> events;  // in arrival order
};
std::vector<RefSession> Sessions(const std::vector<const Ev*>& events, int64_t gap) {
  std::vector<const Ev*> sorted = events;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Ev* a, const Ev* b) { return a->t < b->t; });
  std::vector<RefSession> out;
  for (const Ev* e : sorted) {
    if (out.empty() || e->t >= out.back().end) {
      out.push_back({e->t, e->t + gap, {}});
    }
    out.back().end = e->t + gap;
    out.back().events.push_back(e);
  }
  // Back to arrival order inside each session (for `last` ties).
  for (RefSession& r : out) {
    std::vector<const Ev*> in_arrival;
    for (const Ev* e : events) {
      if (e->t >= r.start && e->t < r.end) in_arrival.push_back(e);
    }
    r.events = in_arrival;
  }
  return out;
}

TEST(SessionPropertyTest, EmittedRowsDescribeEverySessionTheWatermarkHasPassed) {
  // Rows are read as a changelog: a row sets (key, start), and removes the
  // sessions it lists in `replaces`. At every watermark, each session of the
  // accepted events (per key) that ends at or before the watermark must be in
  // the changelog with its exact aggregates; at the end of input the
  // changelog must hold exactly the sessions of all accepted events.
  const int iterations = Iterations(1500) / 8 + 1;
  std::mt19937_64 rng(4242);
  int64_t total_rows = 0, updates = 0, with_replaces = 0;
  for (int it = 0; it < iterations; ++it) {
    Stream st = RandomStream(rng, /*late_heavy=*/true);
    const int64_t gap = (1 + static_cast<int64_t>(rng() % 6)) * kTick + (rng() % 2 ? 1 : 0);
    for (AggregationSpec& a : st.aggs) {
      a.window = Duration::Zero();
      a.granularity = Duration::Zero();
    }
    SourceSpec source = PropertySource(st.bound, st.lateness);
    auto schema = Schema::Create(source);
    ASSERT_TRUE(schema.ok());
    FeatureGroupSpec spec;
    spec.name = "s";
    spec.source = "events";
    spec.window.kind = WindowKind::kSession;
    spec.window.gap = Duration::Micros(gap);
    spec.aggregations = st.aggs;
    auto group = WindowGroup::Create(spec, source, *schema);
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    SessionSink sink;
    std::map<std::string, std::vector<const Ev*>> accepted;
    // The changelog: key -> start -> row index.
    std::map<std::string, std::map<int64_t, size_t>> view;
    size_t applied = 0;
    EventTime max_seen = EventTime::Min();
    Watermark wm = Watermark::Min();
    Errors errors;
    auto apply_rows = [&]() {
      for (; applied < sink.rows.size(); ++applied) {
        const auto& row = sink.rows[applied];
        std::string key = row.key.substr(1, row.key.size() - 2);
        auto& v = view[key];
        for (const auto& [s, e] : row.replaces) {
          ASSERT_EQ(v.count(s), 1u) << "stream " << it << ": replaces a session never emitted";
          v.erase(s);
        }
        auto prev = v.find(row.start);
        ASSERT_EQ(row.emission, prev == v.end() ? 0 : sink.rows[prev->second].emission + 1)
            << "stream " << it;
        v[row.start] = applied;
      }
    };
    // Sessions per key, recomputed when the key gets an event; a key is
    // checked again when it changed or a session of it became due.
    std::map<std::string, std::vector<RefSession>> sessions;
    std::set<std::string> dirty;
    Watermark checked_wm = Watermark::Min();
    auto check = [&](bool final) {
      for (const auto& [key, evs] : accepted) {
        const bool changed = dirty.count(key) > 0;
        if (changed) sessions[key] = Sessions(evs, gap);
        const std::vector<RefSession>& ref = sessions[key];
        if (!final && !changed && std::none_of(ref.begin(), ref.end(), [&](const RefSession& r) {
              return r.end > checked_wm.time().micros() && r.end <= wm.time().micros();
            })) {
          continue;
        }
        size_t due = 0;
        for (const RefSession& r : ref) {
          if (!final && r.end > wm.time().micros()) continue;
          ++due;
          auto& v = view[key];
          auto found = v.find(r.start);
          ASSERT_TRUE(found != v.end())
              << "stream " << it << ": session " << key << " [" << r.start << ", " << r.end
              << ") not emitted by watermark " << wm.time().micros() << "\n"
              << Describe(st);
          const auto& row = sink.rows[found->second];
          ASSERT_EQ(row.end, r.end) << "stream " << it << ": session " << key << " " << r.start;
          for (size_t a = 0; a < st.aggs.size(); ++a) {
            Ev at_end;
            at_end.t = r.end;
            std::string msg =
                CheckFeature(st.aggs[a], r.events, r.events, at_end, row.values[a], errors);
            ASSERT_EQ(msg, "") << "stream " << it << ": session " << key << " [" << r.start << ", "
                               << r.end << ") aggregation " << st.aggs[a].name << " "
                               << AggKindName(st.aggs[a].kind) << "(" << st.aggs[a].field << ")\n"
                               << Describe(st);
          }
        }
        if (final) {
          ASSERT_EQ(view[key].size(), due) << "stream " << it << ": stale sessions of " << key;
        }
      }
      dirty.clear();
      checked_wm = wm;
    };
    for (size_t i = 0; i < st.events.size(); ++i) {
      const Ev& e = st.events[i];
      const EventTime t = EventTime::FromMicros(e.t);
      if (t < wm.time() - st.lateness) continue;  // late
      accepted[e.key].push_back(&e);
      dirty.insert(e.key);
      Row row = ToRow(e);
      (*group)->OnEvent(e.key, StrCat("\"", e.key, "\""), t, row, sink);
      apply_rows();
      if (HasFatalFailure()) return;
      if (t > max_seen) {
        max_seen = t;
        Watermark next(max_seen - st.bound);
        if (next > wm) {
          wm = next;
          (*group)->OnWatermark(wm, sink);
          apply_rows();
          if (HasFatalFailure()) return;
          check(false);
          if (HasFatalFailure()) return;
        }
      }
    }
    wm = Watermark::EndOfTime();
    (*group)->OnWatermark(wm, sink);
    apply_rows();
    if (HasFatalFailure()) return;
    check(true);
    if (HasFatalFailure()) return;
    EXPECT_EQ((*group)->open_windows(), 0u);
    for (const auto& row : sink.rows) {
      ++total_rows;
      updates += row.emission > 0 ? 1 : 0;
      with_replaces += row.replaces.empty() ? 0 : 1;
    }
  }
  std::printf("%d streams, %lld session rows, %lld updates, %lld with replaces\n", iterations,
              static_cast<long long>(total_rows), static_cast<long long>(updates),
              static_cast<long long>(with_replaces));
  EXPECT_GT(updates, iterations) << "late-but-allowed events must update sessions";
  EXPECT_GT(with_replaces, 10) << "late events must bridge emitted sessions";
}

}  // namespace
}  // namespace eddy
