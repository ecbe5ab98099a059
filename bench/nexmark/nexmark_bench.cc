// Nexmark q5 ("hot items") on Eddy, single thread.
//
// Events: 1,000,000 per pass from the Nexmark-style generator (generator.h):
// persons, auctions and bids in the 1:3:46 mix, half of all bids on the
// current hot auction, in event-time order, at a given event-time rate.
//
// The query, as in the nexmark-flink suite: per auction, the bid count of
// every hopping window of 10 s every 2 s; per window, the auction(s) with the
// most bids. Eddy computes the per-auction counts with the pipeline in
// q5.yaml (a hopping-window feature group over the bid source, watermark 4 s
// behind, allowed lateness 0); the per-window maximum is taken in this
// harness from the emitted window rows (HotItems below), and its result is
// checked against a hand-written pane-based implementation.
//
//   BM_NexmarkGenerate/<rate>   the generator alone (JSON lines into memory)
//   BM_Q5Baseline/<rate>        baseline: hand-written q5 over pre-parsed
//                               rows: bid counts per (2 s pane, auction) in
//                               hash maps, each window summed from its 5
//                               panes when the watermark passes its end
//   BM_Q5Rows/<rate>            Eddy over rows decoded before timing: the
//                               filter (event_type == 2) and the watermark in
//                               the harness, FeatureEngine::OnEvent /
//                               OnWatermark (WindowGroup), HotItems
//   BM_Q5Json/<rate>            Eddy from JSON lines in memory:
//                               SourcePipeline::Process (decode, schema,
//                               filter, watermark) + FeatureEngine + HotItems
//
// Rates (events per second of event time): 10k (Nexmark's default; a pass
// spans 100 s of event time, ~50 windows), 100k (10 s, ~9 windows) and 10M
// (the nexmark-flink suite's rate; a pass spans 0.1 s, so all 5 windows stay
// open to the end of input and hold every auction).
//
// Counters: items_per_second counts all events (as Nexmark does),
// bids_per_second the bids; peak_open_windows is sampled every 64k events;
// rss_* are the process's resident set (peak: getrusage, for the whole
// process so far; growth: the largest rise during a pass over its start).
// Run one benchmark per process (--benchmark_filter) for a clean peak RSS.

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/nexmark/generator.h"
#include "config/pipeline.h"
#include "engine/source_pipeline.h"
#include "features/feature_engine.h"
#include "features/window_group.h"
#include "ingest/decoder.h"
#include "ingest/schema.h"

#ifndef EDDY_NEXMARK_Q5_YAML
#error "EDDY_NEXMARK_Q5_YAML must name bench/nexmark/q5.yaml"
#endif

namespace eddy {
namespace {

constexpr uint64_t kEvents = 1000000;
constexpr int64_t kSizeUs = 10 * 1000000;           // q5.yaml: size 10s
constexpr int64_t kSlideUs = 2 * 1000000;           // slide 2s
constexpr int64_t kOutOfOrdernessUs = 4 * 1000000;  // max_out_of_orderness 4s
constexpr size_t kSampleEvery = 1 << 16;

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "nexmark_bench: %s\n", msg.c_str());
  std::exit(1);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// q5.yaml, parsed; the source reads from `path`.
PipelineSpec LoadQ5(const std::string& path) {
  std::ifstream in(EDDY_NEXMARK_Q5_YAML);
  if (!in) Die(std::string("cannot read ") + EDDY_NEXMARK_Q5_YAML);
  std::stringstream text;
  text << in.rdbuf();
  auto spec = ParsePipeline(text.str(), EDDY_NEXMARK_Q5_YAML, "/");
  if (!spec.ok()) Die(spec.status().ToString());
  spec->sources.at(0).path = path;
  return std::move(spec).value();
}

size_t RssBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

double PeakRssMiB() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// One rate's events: JSON lines in a padded buffer, and the same decoded.
struct Dataset {
  double rate = 0;
  std::string text;
  std::vector<std::string_view> records;
  uint64_t record_bytes = 0;
  std::vector<Row> rows;
  std::vector<EventTime> times;
  std::vector<uint8_t> is_bid;
  nexmark::Stats stats;
  size_t auction_index = 0;
};

// Keeps one dataset at a time (they are large); benchmarks are registered
// grouped by rate.
const Dataset& GetDataset(double rate) {
  static std::unique_ptr<Dataset> d;
  if (d != nullptr && d->rate == rate) return *d;
  d.reset();
  d = std::make_unique<Dataset>();
  d->rate = rate;
  nexmark::Options o;
  o.events = kEvents;
  o.rate = rate;
  d->stats = nexmark::Generate(o, [&](std::string_view chunk) { d->text.append(chunk); });
  const size_t size = d->text.size();
  d->text.append(kRecordPadding, '\0');
  std::string_view all(d->text.data(), size);
  for (size_t pos = 0; pos < all.size();) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    d->records.push_back(all.substr(pos, nl - pos));
    d->record_bytes += nl - pos + 1;
    pos = nl + 1;
  }
  PipelineSpec spec = LoadQ5("/dev/null");
  const SourceSpec& src = spec.sources[0];
  auto schema = Schema::Create(src);
  if (!schema.ok()) Die(schema.status().ToString());
  std::unique_ptr<Decoder> decoder = MakeDecoder(src, *schema);
  const size_t ts = static_cast<size_t>(schema->Lookup("date_time"));
  const size_t type = static_cast<size_t>(schema->Lookup("event_type"));
  d->auction_index = static_cast<size_t>(schema->Lookup("auction"));
  DecodeError err;
  d->rows.resize(d->records.size());
  for (size_t i = 0; i < d->records.size(); ++i) {
    Row& row = d->rows[i];
    if (!decoder->Decode(d->records[i], row, err) || !schema->Check(row, err)) {
      Die("record " + std::to_string(i) + " rejected: " + err.message);
    }
    d->times.push_back(row[ts].timestamp_value());
    d->is_bid.push_back(row[type].int_value() == 2);
  }
  return *d;
}

// The per-window answer of q5: the largest bid count and the auctions that
// have it (ascending).
struct WindowResult {
  int64_t max = -1;
  std::vector<int64_t> auctions;
  friend bool operator==(const WindowResult&, const WindowResult&) = default;
};
using Results = std::map<int64_t, WindowResult>;  // by window start (us)

void Offer(WindowResult& r, int64_t auction, int64_t n) {
  if (n > r.max) {
    r.max = n;
    r.auctions.clear();
  }
  if (n == r.max) r.auctions.push_back(auction);
}

// Takes the maximum per window from Eddy's window rows. Rows of one window
// arrive together (the watermark passing its end emits all of them), so the
// current window is kept apart from the finished ones.
class HotItems final : public WindowSink {
 public:
  void OnWindowRow(const WindowRow& row) override {
    ++rows;
    if (row.emission > 0) ++updates;
    const int64_t start = row.start.micros();
    if (current_ == nullptr || current_start_ != start) {
      current_ = &results[start];
      current_start_ = start;
    }
    int64_t auction = 0;
    std::from_chars(row.key_json.data(), row.key_json.data() + row.key_json.size(), auction);
    Offer(*current_, auction, (*row.values)[0].int_value());
  }
  // Sorts tied auctions (rows come in key order as text, not as numbers).
  void Finish() {
    for (auto& [start, r] : results) std::sort(r.auctions.begin(), r.auctions.end());
  }

  Results results;
  uint64_t rows = 0, updates = 0;

 private:
  WindowResult* current_ = nullptr;
  int64_t current_start_ = 0;
};

// The hand-written baseline: counts per (pane, auction); a window is the sum
// of its size / slide panes.
class PaneQ5 {
 public:
  void OnBid(int64_t auction, EventTime t) {
    const int64_t pane = FloorDiv(t.micros(), kSlideUs) * kSlideUs;
    if (pane != last_pane_) {
      last_counts_ = &panes_[pane];
      last_pane_ = pane;
      if (next_start_ == INT64_MIN) next_start_ = pane - kSizeUs + kSlideUs;
    }
    ++(*last_counts_)[auction];
  }
  void OnWatermark(Watermark wm) {
    const int64_t now = wm.is_end_of_time() ? INT64_MAX : wm.time().micros();
    while (next_start_ != INT64_MIN && !panes_.empty() && next_start_ <= now - kSizeUs &&
           next_start_ <= panes_.rbegin()->first) {
      Fire(next_start_);
      next_start_ += kSlideUs;
      while (!panes_.empty() && panes_.begin()->first < next_start_) {
        if (panes_.begin()->first == last_pane_) last_pane_ = INT64_MIN;
        panes_.erase(panes_.begin());
      }
    }
  }
  Results results;

 private:
  void Fire(int64_t start) {
    sums_.clear();
    for (auto it = panes_.lower_bound(start); it != panes_.end() && it->first < start + kSizeUs;
         ++it) {
      for (const auto& [auction, n] : it->second) sums_[auction] += n;
    }
    if (sums_.empty()) return;
    WindowResult r;
    for (const auto& [auction, n] : sums_) Offer(r, auction, n);
    std::sort(r.auctions.begin(), r.auctions.end());
    results[start] = std::move(r);
  }

  std::map<int64_t, std::unordered_map<int64_t, int64_t>> panes_;
  std::unordered_map<int64_t, int64_t>* last_counts_ = nullptr;
  int64_t last_pane_ = INT64_MIN;
  int64_t next_start_ = INT64_MIN;
  std::unordered_map<int64_t, int64_t> sums_;
};

const Results& BaselineResults(const Dataset& d) {
  static double rate = -1;
  static Results results;
  if (rate == d.rate) return results;
  PaneQ5 q;
  int64_t newest = INT64_MIN;
  for (size_t i = 0; i < d.rows.size(); ++i) {
    if (d.is_bid[i]) q.OnBid(d.rows[i][d.auction_index].int_value(), d.times[i]);
    if (d.times[i].micros() > newest) {
      newest = d.times[i].micros();
      q.OnWatermark(Watermark(EventTime::FromMicros(newest - kOutOfOrdernessUs)));
    }
  }
  q.OnWatermark(Watermark::EndOfTime());
  results = std::move(q.results);
  rate = d.rate;
  return results;
}

void ReportResults(benchmark::State& state, const Dataset& d, const Results& results) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.records.size()));
  state.counters["bids_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(d.stats.bids),
      benchmark::Counter::kIsRate);
  state.counters["result_windows"] = static_cast<double>(results.size());
  double sum = 0;
  for (const auto& [start, r] : results) sum += static_cast<double>(r.max);
  state.counters["mean_max_bids"] = results.empty() ? 0 : sum / static_cast<double>(results.size());
  state.counters["rss_peak_MiB"] = PeakRssMiB();
}

// Samples Eddy's state during a pass.
struct Sampler {
  size_t rss_start = RssBytes();
  size_t rss_max = rss_start;
  size_t peak_open = 0;
  void Sample(const FeatureEngine& fe) {
    peak_open = std::max(peak_open, fe.window_groups()[0]->open_windows());
    rss_max = std::max(rss_max, RssBytes());
  }
  void Report(benchmark::State& state) const {
    state.counters["peak_open_windows"] = static_cast<double>(peak_open);
    state.counters["rss_growth_MiB"] = static_cast<double>(rss_max - rss_start) / 1048576.0;
  }
};

void CheckResults(benchmark::State& state, const Dataset& d, const Results& got) {
  const Results& want = BaselineResults(d);
  if (got != want) {
    size_t differing = 0;
    for (const auto& [start, r] : want) {
      auto it = got.find(start);
      if (it == got.end() || !(it->second == r)) ++differing;
    }
    state.SkipWithError(("q5 results differ from the baseline: " + std::to_string(got.size()) +
                         " windows vs " + std::to_string(want.size()) + ", " +
                         std::to_string(differing) + " differing")
                            .c_str());
  }
}

// ---------------------------------------------------------------------------

void BM_NexmarkGenerate(benchmark::State& state, double rate) {
  nexmark::Options o;
  o.events = kEvents;
  o.rate = rate;
  uint64_t bytes = 0;
  for (auto _ : state) {
    nexmark::Stats st = nexmark::Generate(
        o, [&](std::string_view chunk) { benchmark::DoNotOptimize(chunk.data()); });
    bytes = st.bytes;
    state.counters["hot_bid_share"] =
        static_cast<double>(st.hot_bids) / static_cast<double>(st.bids);
    state.counters["bids"] = static_cast<double>(st.bids);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Q5Baseline(benchmark::State& state, double rate) {
  const Dataset& d = GetDataset(rate);
  std::unique_ptr<PaneQ5> q;
  for (auto _ : state) {
    state.PauseTiming();
    q = std::make_unique<PaneQ5>();
    state.ResumeTiming();
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < d.rows.size(); ++i) {
      if (d.is_bid[i]) q->OnBid(d.rows[i][d.auction_index].int_value(), d.times[i]);
      if (d.times[i].micros() > newest) {
        newest = d.times[i].micros();
        q->OnWatermark(Watermark(EventTime::FromMicros(newest - kOutOfOrdernessUs)));
      }
    }
    q->OnWatermark(Watermark::EndOfTime());
  }
  ReportResults(state, d, q->results);
}

void BM_Q5Rows(benchmark::State& state, double rate) {
  const Dataset& d = GetDataset(rate);
  PipelineSpec spec = LoadQ5("/dev/null");
  auto schema = Schema::Create(spec.sources[0]);
  if (!schema.ok()) Die(schema.status().ToString());
  std::unique_ptr<FeatureEngine> fe;
  std::unique_ptr<HotItems> sink;
  std::vector<FeatureValue> values;
  Sampler sampler;
  for (auto _ : state) {
    state.PauseTiming();
    fe.reset();
    sink.reset();
    auto created = FeatureEngine::Create(spec, {&*schema});
    if (!created.ok()) Die(created.status().ToString());
    fe = std::move(created).value();
    sink = std::make_unique<HotItems>();
    sampler = Sampler();
    state.ResumeTiming();
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < d.rows.size(); ++i) {
      if (d.is_bid[i]) fe->OnEvent(0, d.times[i], d.rows[i], values, *sink);
      if (d.times[i].micros() > newest) {
        newest = d.times[i].micros();
        fe->OnWatermark(0, Watermark(EventTime::FromMicros(newest - kOutOfOrdernessUs)), *sink);
      }
      if ((i + 1) % kSampleEvery == 0) {
        state.PauseTiming();
        sampler.Sample(*fe);
        state.ResumeTiming();
      }
    }
    state.PauseTiming();
    sampler.Sample(*fe);
    state.ResumeTiming();
    fe->OnWatermark(0, Watermark::EndOfTime(), *sink);  // end of input: every window fires
  }
  sink->Finish();
  CheckResults(state, d, sink->results);
  ReportResults(state, d, sink->results);
  sampler.Report(state);
  state.counters["window_rows"] = static_cast<double>(sink->rows);
}

class Q5Handler final : public RecordHandler {
 public:
  Q5Handler(FeatureEngine& fe, HotItems& sink) : fe_(fe), sink_(sink) {}
  void OnAccepted(const SourcePipeline&, const RawRecord&, const Row& row, EventTime t) override {
    fe_.OnEvent(0, t, row, values_, sink_);
  }
  void OnLate(const SourcePipeline&, const RawRecord&, const Row&, EventTime,
              const WatermarkTracker::Admission&) override {
    ++late;
  }
  void OnDeadLetter(const SourcePipeline&, const RawRecord&, const DecodeError& err) override {
    if (dead++ == 0) first_error = std::string(err.code) + ": " + err.message;
  }
  void OnWatermark(const SourcePipeline&, Watermark wm) override { fe_.OnWatermark(0, wm, sink_); }
  uint64_t late = 0, dead = 0;
  std::string first_error;

 private:
  FeatureEngine& fe_;
  HotItems& sink_;
  std::vector<FeatureValue> values_;
};

void BM_Q5Json(benchmark::State& state, double rate) {
  const Dataset& d = GetDataset(rate);
  PipelineSpec spec = LoadQ5("/dev/null");
  auto created = SourcePipeline::Create(spec.sources[0]);
  if (!created.ok()) Die(created.status().ToString());
  SourcePipeline& pipeline = **created;
  std::vector<RawRecord> records(d.records.size());
  for (size_t i = 0; i < d.records.size(); ++i) {
    records[i].partition = Partition(0);
    records[i].offset = Offset(static_cast<int64_t>(i));
    records[i].bytes = d.records[i];
    records[i].size = d.records[i].size();
  }
  const ProcessingTime now = ProcessingTime::FromMicros(1714521600LL * 1000000);
  std::unique_ptr<FeatureEngine> fe;
  std::unique_ptr<HotItems> sink;
  std::unique_ptr<Q5Handler> handler;
  Sampler sampler;
  for (auto _ : state) {
    state.PauseTiming();
    handler.reset();
    fe.reset();
    sink.reset();
    auto fe_created = FeatureEngine::Create(spec, {&pipeline.schema()});
    if (!fe_created.ok()) Die(fe_created.status().ToString());
    fe = std::move(fe_created).value();
    sink = std::make_unique<HotItems>();
    handler = std::make_unique<Q5Handler>(*fe, *sink);
    pipeline.Attach(1, now);
    pipeline.counters() = SourceCounters();
    sampler = Sampler();
    state.ResumeTiming();
    for (size_t i = 0; i < records.size(); ++i) {
      pipeline.Process(records[i], now, *handler);
      if ((i + 1) % kSampleEvery == 0) {
        state.PauseTiming();
        sampler.Sample(*fe);
        state.ResumeTiming();
      }
    }
    state.PauseTiming();
    sampler.Sample(*fe);
    state.ResumeTiming();
    pipeline.EndPartition(Partition(0), *handler);  // end of input
  }
  sink->Finish();
  const SourceCounters& c = pipeline.counters();
  if (handler->late != 0 || handler->dead != 0 || c.accepted != d.stats.bids) {
    state.SkipWithError(("expected every bid accepted: accepted " + std::to_string(c.accepted) +
                         " of " + std::to_string(d.stats.bids) + ", late " +
                         std::to_string(handler->late) + ", dead letters " +
                         std::to_string(handler->dead) + " (" + handler->first_error + ")")
                            .c_str());
    return;
  }
  CheckResults(state, d, sink->results);
  ReportResults(state, d, sink->results);
  sampler.Report(state);
  state.counters["window_rows"] = static_cast<double>(sink->rows);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.record_bytes));
}

void Register() {
  const std::pair<const char*, double> rates[] = {{"10k", 1e4}, {"100k", 1e5}, {"10M", 1e7}};
  for (const auto& [name, rate] : rates) {
    std::string suffix = std::string("/") + name;
    benchmark::RegisterBenchmark(("BM_NexmarkGenerate" + suffix).c_str(), BM_NexmarkGenerate, rate)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Q5Baseline" + suffix).c_str(), BM_Q5Baseline, rate)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Q5Rows" + suffix).c_str(), BM_Q5Rows, rate)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Q5Json" + suffix).c_str(), BM_Q5Json, rate)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  eddy::Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("events_per_pass", std::to_string(eddy::kEvents));
  benchmark::AddCustomContext("q5", "hopping 10s/2s, watermark 4s, allowed lateness 0");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
