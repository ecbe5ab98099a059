// Feature benchmarks: per-event ("as-of") window features on the real code
// paths, single thread.
//
// Data: 1,000,000 card transactions from the eddy-datagen generator with
// 100,000 users whose activity is Zipf-distributed with s = 1.0 (the hottest
// user makes ~8% of all payments), one payment per user per day on average
// (so the stream spans ~10 days of event time and the 7d window of the
// hottest user holds up to ~58,000 events), in event-time order; the `disorder`
// variants have 2% of records up to 5 s late (the generator's default
// disorder), which the watermark (max_out_of_orderness 5s) absorbs. No
// malformed or far-late records: every record is accepted.
//
// The feature group: count, sum, mean, stddev and max of `amount` over 1h,
// 24h and 7d, keyed by user_id (15 aggregations, one group). Watermarks move
// as the source's would (newest event time - 5 s) and are delivered on every
// advance, so state is dropped as in a real run.
//
//   BM_KeyLookupBaseline           baseline: one hash-map lookup per event
//                                  (100k string keys, the same key sequence):
//                                  the memory-bound floor of any keyed state
//   BM_AsOfGroup/<variant>         AsOfGroup::OnEvent (+ OnWatermark) over
//                                  Rows decoded before timing
//   BM_FeatureEngine/<variant>     FeatureEngine::OnEvent (+ OnWatermark):
//                                  the above plus key encoding and the row
//   BM_JsonIngestOnly/<variant>    baseline: SourcePipeline::Process alone
//                                  (decode, checks, watermark) over JSON lines
//                                  in memory
//   BM_JsonFeatures/<variant>      SourcePipeline::Process feeding
//                                  FeatureEngine: JSON bytes -> features
//   BM_FileFeatures/<variant>      FileSource reading a file (page cache) ->
//                                  SourcePipeline -> FeatureEngine: the engine
//                                  path without the online store and outputs
//
// Variants: in_order, disorder (2% out of order within 5 s), tiles (the 7d
// aggregations with granularity 1h, in-order data), tiles_disorder.
//
//   BM_AsOfMemory/<shape>          memory per key and per buffered event of an
//                                  AsOfGroup: heap bytes (mallinfo2) and RSS
//                                  deltas while state is built (see there)
//
// Throughput is items (events) per CPU second of this thread.
// scripts/bench.sh builds and runs this; BENCHMARKS.md records results.

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/pipeline.h"
#include "engine/source_pipeline.h"
#include "features/asof_group.h"
#include "features/feature_engine.h"
#include "features/feature_value.h"
#include "ingest/decoder.h"
#include "ingest/schema.h"
#include "ingest/source.h"
#include "tools/datagen/generator.h"

namespace eddy {
namespace {

constexpr size_t kEvents = 1000000;
constexpr uint64_t kUsers = 100000;
constexpr double kZipf = 1.0;
constexpr double kRatePerSecond = static_cast<double>(kUsers) / 86400.0;  // 1 per user per day
constexpr Duration kMaxOutOfOrderness = Duration::Seconds(5);

std::vector<std::string>& TempFiles() {
  static std::vector<std::string> files;
  return files;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "features_bench: %s\n", msg.c_str());
  std::exit(1);
}

// A per-event group over the transaction source eddy-datagen documents.
constexpr const char* kGroupYaml = R"(features:
  - name: user_activity
    source: tx
    key: user_id
    aggregations:
)";

// count, sum, mean, stddev, max of amount over `window` (with `granularity`
// when not empty), as YAML list items.
std::string FiveAggs(std::string_view window, std::string_view granularity = "") {
  std::string extra = granularity.empty() ? "" : ", granularity: " + std::string(granularity);
  std::string w(window);
  return "      - {name: n_" + w + ", fn: count, window: " + w + extra + "}\n" +
         "      - {name: sum_" + w + ", fn: sum, field: amount, window: " + w + extra + "}\n" +
         "      - {name: mean_" + w + ", fn: mean, field: amount, window: " + w + extra + "}\n" +
         "      - {name: std_" + w + ", fn: stddev, field: amount, window: " + w + extra + "}\n" +
         "      - {name: max_" + w + ", fn: max, field: amount, window: " + w + extra + "}\n";
}

// The benchmarked group: 5 aggregations over 1h, 24h and 7d.
std::string StandardAggs(bool tiles) {
  return FiveAggs("1h") + FiveAggs("24h") + FiveAggs("7d", tiles ? "1h" : "");
}

PipelineSpec MakePipeline(const std::string& aggregations, const std::string& path) {
  std::string yaml = "sources:\n" + datagen::TxSourceYaml("jsonl", path) + kGroupYaml +
                     aggregations + "outputs: {late: late.jsonl, dead_letter: dead_letter.jsonl}\n";
  auto spec = ParsePipeline(yaml, "features_bench.yaml", "/");
  if (!spec.ok()) Die(spec.status().ToString());
  return std::move(spec).value();
}

// Transactions as JSON lines in one padded buffer, views of each record, the
// same bytes in a temporary file, and the decoded Rows with their event times.
struct Dataset {
  std::string text;
  std::vector<std::string_view> records;
  uint64_t record_bytes = 0;
  std::string file;
  std::vector<Row> rows;
  std::vector<EventTime> times;
  size_t key_index = 0;  // user_id in the schema
  uint64_t disordered = 0;
};

const Dataset& GetDataset(bool disorder) {
  static Dataset* sets[2] = {nullptr, nullptr};
  Dataset*& d = sets[disorder ? 1 : 0];
  if (d != nullptr) return *d;
  d = new Dataset;
  datagen::Options o;
  o.events = kEvents;
  o.users = kUsers;
  o.zipf = kZipf;
  o.rate = kRatePerSecond;
  o.malformed = 0;
  o.late = 0;
  o.disorder = disorder ? 0.02 : 0;
  o.disorder_bound_s = 5;
  datagen::Stats st = datagen::Generate(
      o, [&](std::string_view chunk) { d->text.append(chunk); }, [](std::string_view) {});
  d->disordered = st.disordered;
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
  const char* tmp = std::getenv("TMPDIR");
  d->file = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/eddy_features_bench_" +
            std::to_string(::getpid()) + (disorder ? "_disorder" : "") + ".jsonl";
  FILE* f = std::fopen(d->file.c_str(), "wb");
  if (f == nullptr || std::fwrite(all.data(), 1, all.size(), f) != all.size() ||
      std::fclose(f) != 0) {
    Die("cannot write " + d->file);
  }
  TempFiles().push_back(d->file);

  // Decode every record once, as the source would, before any timing.
  PipelineSpec spec = MakePipeline(StandardAggs(false), d->file);
  const SourceSpec& src = spec.sources[0];
  auto schema = Schema::Create(src);
  if (!schema.ok()) Die(schema.status().ToString());
  std::unique_ptr<Decoder> decoder = MakeDecoder(src, *schema);
  const int ts = schema->Lookup("ts");
  d->key_index = static_cast<size_t>(schema->Lookup("user_id"));
  DecodeError err;
  d->rows.resize(d->records.size());
  d->times.reserve(d->records.size());
  for (size_t i = 0; i < d->records.size(); ++i) {
    if (!decoder->Decode(d->records[i], d->rows[i], err) || !schema->Check(d->rows[i], err)) {
      Die("record " + std::to_string(i) + " rejected: " + err.message);
    }
    d->times.push_back(d->rows[i][static_cast<size_t>(ts)].timestamp_value());
  }
  return *d;
}

struct Variant {
  bool disorder;
  bool tiles;
};
constexpr Variant kInOrder{false, false};
constexpr Variant kDisorder{true, false};
constexpr Variant kTiles{false, true};
constexpr Variant kTilesDisorder{true, true};

// Tracks the source watermark the way WatermarkTracker does for one
// partition: newest event time - max_out_of_orderness.
class WatermarkClock {
 public:
  // Returns true (and the new watermark) when `t` advances it.
  bool Advance(EventTime t, Watermark& wm) {
    if (t <= newest_) return false;
    newest_ = t;
    wm = Watermark(t - kMaxOutOfOrderness);
    return true;
  }

 private:
  EventTime newest_ = EventTime::Min();
};

class NullSink final : public WindowSink {
 public:
  void OnWindowRow(const WindowRow&) override { ++rows; }
  uint64_t rows = 0;
};

void SetThroughput(benchmark::State& state, const Dataset& d, bool bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.records.size()));
  if (bytes) state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.record_bytes));
}

void ReportGroupStats(benchmark::State& state, const AsOfGroup& g, const Dataset& d) {
  AsOfGroup::Stats s = g.stats();
  state.counters["keys_end"] = static_cast<double>(s.keys);
  state.counters["entries_end"] = static_cast<double>(s.entries);
  state.counters["peak_keys"] = static_cast<double>(s.peak_keys);
  state.counters["peak_entries"] = static_cast<double>(s.peak_entries);
  state.counters["tiles_end"] = static_cast<double>(s.tiles);
  state.counters["ooo_events"] = static_cast<double>(s.out_of_order);
  state.counters["ooo_share_pct"] =
      100.0 * static_cast<double>(s.out_of_order) / static_cast<double>(d.records.size());
}

// ---------------------------------------------------------------------------
// Baseline: a hash-map lookup per event, same keys in the same order.

void BM_KeyLookupBaseline(benchmark::State& state) {
  const Dataset& d = GetDataset(false);
  using Map = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;
  std::unique_ptr<Map> map;
  int64_t sum = 0;
  for (auto _ : state) {
    state.PauseTiming();
    map = std::make_unique<Map>();
    state.ResumeTiming();
    for (const Row& row : d.rows) {
      std::string_view key = row.GetString(d.key_index);
      auto it = map->find(key);
      if (it == map->end()) it = map->emplace(std::string(key), 0).first;
      sum += ++it->second;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["keys"] = static_cast<double>(map->size());
  SetThroughput(state, d, false);
}
BENCHMARK(BM_KeyLookupBaseline)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// AsOfGroup alone.

void BM_AsOfGroup(benchmark::State& state, Variant v) {
  const Dataset& d = GetDataset(v.disorder);
  PipelineSpec spec = MakePipeline(StandardAggs(v.tiles), d.file);
  auto schema = Schema::Create(spec.sources[0]);
  if (!schema.ok()) Die(schema.status().ToString());
  std::unique_ptr<AsOfGroup> group;
  std::vector<FeatureValue> out;
  double check = 0;
  for (auto _ : state) {
    state.PauseTiming();
    group.reset();  // freeing the previous pass's state is not timed
    auto created = AsOfGroup::Create(spec.features[0], spec.sources[0], *schema);
    if (!created.ok()) Die(created.status().ToString());
    group = std::move(created).value();
    out.assign(group->num_outputs(), FeatureValue());
    WatermarkClock clock;
    Watermark wm;
    state.ResumeTiming();
    for (size_t i = 0; i < d.rows.size(); ++i) {
      const Row& row = d.rows[i];
      group->OnEvent(row.GetString(d.key_index), d.times[i], row, out);
      if (clock.Advance(d.times[i], wm)) group->OnWatermark(wm);
    }
    check += out[0].is_null() ? 0 : static_cast<double>(out[0].int_value());
  }
  benchmark::DoNotOptimize(check);
  ReportGroupStats(state, *group, d);
  SetThroughput(state, d, false);
}
BENCHMARK_CAPTURE(BM_AsOfGroup, in_order, kInOrder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AsOfGroup, disorder, kDisorder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AsOfGroup, tiles, kTiles)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AsOfGroup, tiles_disorder, kTilesDisorder)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// FeatureEngine: the per-event path of the engine after ingest.

std::unique_ptr<FeatureEngine> MakeEngine(const PipelineSpec& spec, const Schema& schema) {
  auto fe = FeatureEngine::Create(spec, {&schema});
  if (!fe.ok()) Die(fe.status().ToString());
  return std::move(fe).value();
}

void ReportEngineStats(benchmark::State& state, const FeatureEngine& fe, const Dataset& d) {
  ReportGroupStats(state, *fe.asof_groups().at(0), d);
}

void BM_FeatureEngine(benchmark::State& state, Variant v) {
  const Dataset& d = GetDataset(v.disorder);
  PipelineSpec spec = MakePipeline(StandardAggs(v.tiles), d.file);
  auto schema = Schema::Create(spec.sources[0]);
  if (!schema.ok()) Die(schema.status().ToString());
  std::unique_ptr<FeatureEngine> fe;
  std::vector<FeatureValue> values;
  NullSink sink;
  double check = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fe.reset();
    fe = MakeEngine(spec, *schema);
    WatermarkClock clock;
    Watermark wm;
    state.ResumeTiming();
    for (size_t i = 0; i < d.rows.size(); ++i) {
      fe->OnEvent(0, d.times[i], d.rows[i], values, sink);
      if (clock.Advance(d.times[i], wm)) fe->OnWatermark(0, wm, sink);
    }
    check += values[0].is_null() ? 0 : static_cast<double>(values[0].int_value());
  }
  benchmark::DoNotOptimize(check);
  ReportEngineStats(state, *fe, d);
  SetThroughput(state, d, false);
}
BENCHMARK_CAPTURE(BM_FeatureEngine, in_order, kInOrder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FeatureEngine, disorder, kDisorder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FeatureEngine, tiles, kTiles)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// From JSON lines: SourcePipeline (decode, schema, event time, watermark)
// feeding the FeatureEngine, as the engine's RecordHandler does.

class FeatureHandler final : public RecordHandler {
 public:
  explicit FeatureHandler(FeatureEngine* fe) : fe_(fe) {}
  void OnAccepted(const SourcePipeline&, const RawRecord&, const Row& row, EventTime t) override {
    ++accepted;
    if (fe_ != nullptr) {
      fe_->OnEvent(0, t, row, values_, sink_);
    } else {
      benchmark::DoNotOptimize(row.size());
    }
  }
  void OnLate(const SourcePipeline&, const RawRecord&, const Row&, EventTime,
              const WatermarkTracker::Admission&) override {
    ++late;
  }
  void OnDeadLetter(const SourcePipeline&, const RawRecord&, const DecodeError& err) override {
    ++dead;
    if (first_error.empty()) first_error = std::string(err.code) + ": " + err.message;
  }
  void OnWatermark(const SourcePipeline&, Watermark wm) override {
    if (fe_ != nullptr) fe_->OnWatermark(0, wm, sink_);
  }
  uint64_t accepted = 0, late = 0, dead = 0;
  std::string first_error;

 private:
  FeatureEngine* fe_;
  std::vector<FeatureValue> values_;
  NullSink sink_;
};

void CheckAllAccepted(benchmark::State& state, const FeatureHandler& h, uint64_t expected) {
  if (h.accepted != expected || h.late != 0 || h.dead != 0) {
    state.SkipWithError(("expected every record accepted; accepted " + std::to_string(h.accepted) +
                         " of " + std::to_string(expected) + ", late " + std::to_string(h.late) +
                         ", dead letters " + std::to_string(h.dead) + " (" + h.first_error + ")")
                            .c_str());
  }
}

const ProcessingTime kNow = ProcessingTime::FromMicros(1714521600LL * 1000000);

void RunJson(benchmark::State& state, Variant v, bool features) {
  const Dataset& d = GetDataset(v.disorder);
  PipelineSpec spec = MakePipeline(StandardAggs(v.tiles), d.file);
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
  std::unique_ptr<FeatureEngine> fe;
  std::unique_ptr<FeatureHandler> handler;
  for (auto _ : state) {
    state.PauseTiming();
    handler.reset();
    fe.reset();
    if (features) fe = MakeEngine(spec, pipeline.schema());
    handler = std::make_unique<FeatureHandler>(fe.get());
    pipeline.Attach(1, kNow);  // a fresh watermark: the same records again would be late
    state.ResumeTiming();
    for (const RawRecord& r : records) pipeline.Process(r, kNow, *handler);
  }
  CheckAllAccepted(state, *handler, records.size());
  if (fe) ReportEngineStats(state, *fe, d);
  SetThroughput(state, d, true);
}

void BM_JsonIngestOnly(benchmark::State& state, Variant v) { RunJson(state, v, false); }
void BM_JsonFeatures(benchmark::State& state, Variant v) { RunJson(state, v, true); }
BENCHMARK_CAPTURE(BM_JsonIngestOnly, in_order, kInOrder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonFeatures, in_order, kInOrder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonFeatures, disorder, kDisorder)->Unit(benchmark::kMillisecond);

void BM_FileFeatures(benchmark::State& state, Variant v) {
  const Dataset& d = GetDataset(v.disorder);
  PipelineSpec spec = MakePipeline(StandardAggs(v.tiles), d.file);
  const SourceSpec& src = spec.sources[0];
  auto created = SourcePipeline::Create(src);
  if (!created.ok()) Die(created.status().ToString());
  SourcePipeline& pipeline = **created;
  std::unique_ptr<FeatureEngine> fe;
  std::unique_ptr<FeatureHandler> handler;
  PollBatch batch;
  for (auto _ : state) {
    state.PauseTiming();
    handler.reset();
    fe.reset();
    fe = MakeEngine(spec, pipeline.schema());
    handler = std::make_unique<FeatureHandler>(fe.get());
    state.ResumeTiming();
    std::unique_ptr<Source> source = MakeFileSource(src);
    Status s = source->Open();
    if (!s.ok()) Die(s.ToString());
    pipeline.Attach(source->num_partitions(), kNow);
    while (!source->AtEnd()) {
      s = source->Poll(1024, Duration::Zero(), batch);
      if (!s.ok()) Die(s.ToString());
      for (const RawRecord& r : batch.records) pipeline.Process(r, kNow, *handler);
      for (Partition p : batch.ended) pipeline.EndPartition(p, *handler);
    }
  }
  CheckAllAccepted(state, *handler, d.records.size());
  ReportEngineStats(state, *fe, d);
  SetThroughput(state, d, true);
}
BENCHMARK_CAPTURE(BM_FileFeatures, in_order, kInOrder)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FileFeatures, disorder, kDisorder)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// Memory per key and per buffered event.
//
// For a group shape: K keys each get one event (key state + its first
// entry), then E more events each, in order, 1 minute apart, with no
// watermark (so every event stays buffered). Reported:
//   heap_per_key    heap bytes after the first round / K
//   heap_per_entry  heap bytes added by the other K*E events / (K*E): the
//                   marginal cost of a buffered event, vector slack included
//   heap_per_tile   for tiled shapes, heap bytes added / tiles added
//   rss_per_key, rss_per_entry  the same from resident set size (coarser:
//                   pages, and memory freed by earlier benchmarks is reused;
//                   run one shape per process for clean RSS figures)
// Heap bytes are glibc's mallinfo2() in-use bytes (arena + mmapped), so they
// include allocator headers and vector/hash-table slack: what the process
// pays, not sizeof.

struct MemShape {
  const char* aggregations;  // YAML list items
  int keys;
  int events_per_key;  // after the first
  int64_t spacing_s;   // between a key's events
};

size_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t RssBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

void BM_AsOfMemory(benchmark::State& state, MemShape shape) {
  std::string aggs(shape.aggregations);
  PipelineSpec spec = MakePipeline(aggs, "/dev/null");
  auto schema = Schema::Create(spec.sources[0]);
  if (!schema.ok()) Die(schema.status().ToString());
  const size_t n = schema->num_fields();
  const size_t user = static_cast<size_t>(schema->Lookup("user_id"));
  const size_t merchant = static_cast<size_t>(schema->Lookup("merchant_id"));
  const size_t amount = static_cast<size_t>(schema->Lookup("amount"));
  const size_t ts = static_cast<size_t>(schema->Lookup("ts"));
  const int64_t t0 = 1714521600LL * 1000000;
  char key[16], merch[16];
  Row row(n);
  for (auto _ : state) {
    malloc_trim(0);
    const size_t heap0 = HeapInUse(), rss0 = RssBytes();
    auto created = AsOfGroup::Create(spec.features[0], spec.sources[0], *schema);
    if (!created.ok()) Die(created.status().ToString());
    std::unique_ptr<AsOfGroup> group = std::move(created).value();
    std::vector<FeatureValue> out(group->num_outputs());
    uint64_t rng = 88172645463325252ULL;
    auto event = [&](int k, int j) {
      row.Reset(n);
      std::snprintf(key, sizeof(key), "u%07d", k);
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      // Merchants: a key sees ~20 distinct ones out of 10,000.
      std::snprintf(merch, sizeof(merch), "m%06d",
                    static_cast<int>((static_cast<uint64_t>(k) * 7919 + rng % 20) % 10000));
      row.SetString(user, key);
      row.SetString(merchant, merch);
      row.Set(amount, Value::Double(static_cast<double>(rng % 100000) / 100.0));
      // Keys interleave: key k's j-th event at t0 + j * spacing + k us.
      EventTime t = EventTime::FromMicros(t0 + j * shape.spacing_s * 1000000 + k);
      row.Set(ts, Value::Timestamp(t));
      group->OnEvent(row.GetString(user), t, row, out);
    };
    for (int k = 0; k < shape.keys; ++k) event(k, 0);
    const size_t heap1 = HeapInUse(), rss1 = RssBytes();
    const AsOfGroup::Stats s1 = group->stats();
    for (int j = 1; j <= shape.events_per_key; ++j) {
      for (int k = 0; k < shape.keys; ++k) event(k, j);
    }
    const size_t heap2 = HeapInUse(), rss2 = RssBytes();
    const AsOfGroup::Stats s2 = group->stats();
    const double keys = shape.keys;
    const double added = static_cast<double>(shape.keys) * shape.events_per_key;
    state.counters["keys"] = static_cast<double>(s2.keys);
    state.counters["entries"] = static_cast<double>(s2.entries);
    state.counters["tiles"] = static_cast<double>(s2.tiles);
    state.counters["strings"] = static_cast<double>(s2.strings);
    state.counters["heap_per_key"] = static_cast<double>(heap1 - heap0) / keys;
    state.counters["rss_per_key"] = static_cast<double>(rss1 - rss0) / keys;
    if (s2.entries > s1.entries) {
      state.counters["heap_per_entry"] =
          static_cast<double>(heap2 - heap1) / static_cast<double>(s2.entries - s1.entries);
      state.counters["rss_per_entry"] =
          static_cast<double>(rss2 - rss1) / static_cast<double>(s2.entries - s1.entries);
    }
    if (s2.tiles > s1.tiles) {
      state.counters["heap_per_tile"] =
          static_cast<double>(heap2 - heap1) / static_cast<double>(s2.tiles - s1.tiles);
    }
    state.counters["heap_total_MiB"] = static_cast<double>(heap2 - heap0) / 1048576.0;
    state.counters["events"] = keys + added;
    state.PauseTiming();
    group.reset();
    state.ResumeTiming();
  }
}

// 1 window: the five aggregations over 24h.
const std::string& OneWindow() {
  static const std::string s = FiveAggs("24h");
  return s;
}
const std::string& ThreeWindows() {
  static const std::string s = StandardAggs(false);
  return s;
}
const std::string& ThreeWindowsDistinct() {
  static const std::string s =
      StandardAggs(false) +
      "      - {name: merchants_7d, fn: count_distinct, field: merchant_id, window: 7d}\n";
  return s;
}
const std::string& CountOnly() {
  static const std::string s = "      - {name: n_24h, fn: count, window: 24h}\n";
  return s;
}
// Only tiles: 7d in 1h tiles, nothing buffered per event.
const std::string& TilesOnly() {
  static const std::string s = FiveAggs("7d", "1h");
  return s;
}

void RegisterMemory() {
  struct Named {
    const char* name;
    MemShape shape;
  };
  // 50 events per key after the first, 1 minute apart (all within 24h and
  // 7d; the 1h window slides, but nothing is dropped without watermarks).
  // Buffers grow by doubling: 51 entries sit in capacity 64, about the
  // average fill (75%) of a doubling vector.
  const Named shapes[] = {
      {"count_1w", {CountOnly().c_str(), 100000, 50, 60}},
      {"five_aggs_1w", {OneWindow().c_str(), 100000, 50, 60}},
      {"five_aggs_3w", {ThreeWindows().c_str(), 100000, 50, 60}},
      {"five_aggs_3w_distinct", {ThreeWindowsDistinct().c_str(), 100000, 50, 60}},
      // 1,000 hot keys, one event every 10 minutes for 7 days: 168 tiles each.
      {"tiles_7d_1h", {TilesOnly().c_str(), 1000, 1008, 600}},
  };
  for (const Named& n : shapes) {
    benchmark::RegisterBenchmark((std::string("BM_AsOfMemory/") + n.name).c_str(), BM_AsOfMemory,
                                 n.shape)
        ->Iterations(1)
        ->Repetitions(1)  // deterministic heap figures; one build is enough
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  eddy::RegisterMemory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("events_per_pass", std::to_string(eddy::kEvents));
  benchmark::AddCustomContext("keys", std::to_string(eddy::kUsers));
  benchmark::AddCustomContext("zipf_s", "1.0");
  benchmark::AddCustomContext("rate", "1 event per user per day (~10 days of event time)");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const std::string& f : eddy::TempFiles()) std::remove(f.c_str());
  return 0;
}
