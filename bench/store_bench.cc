// Online store benchmarks (Google Benchmark): the RocksDB store with its
// cache, in process, as serving and the feature engine use it.
//
//   PointRead/hit        1M keys, every key cached (a cache of 2M entries); one Get of a uniformly
//                        random key per iteration; per-read latency p50/p99
//   PointRead/miss       1M keys, a cache of 64K: ~94% of reads go to RocksDB
//   PointRead/hit_while_writing  as /hit, with the writer thread putting
//                        Zipf-distributed updates (and flushing) meanwhile
//   MultiGet100/hit|miss MultiGet of 100 random keys per iteration
//   Put/zipf_warm        the feature engine's write: the latest vector of a
//                        Zipf(0.99) key over 1M keys, all cached, Flush()
//                        every 1M Puts (timed with the Puts)
//   Put/zipf_warm_buffer_1M  the same with write_buffer_entries = 1M (more
//                        updates coalesce in memory between writes)
//   Put/zipf_cold        the same into an empty store (every first Put of a
//                        key looks for it in RocksDB)
//   Put/memory_store     the in-memory store, for comparison
//   Put/build_vector_only  the benchmark's own cost of making each vector
//   Checkpoint/clean     Checkpoint() of 1M flushed keys: duration and size
//   Checkpoint/dirty     the same after all 1M keys were updated in memory
//                        (the checkpoint writes and flushes them first)
//
// Latencies are measured around each call with steady_clock (~20 ns of
// overhead each) into a histogram of every read; counters p50_us, p99_us and
// p999_us are exact percentiles of that run. Each vector holds 8 features
// like a fraud team's (2 counts, 3 doubles, a distinct count, a country, a
// top-3 list), ~90 bytes encoded. The data lives in a directory under
// $TMPDIR, built once per process (1M Puts + Flush) and removed at exit.
//
//   scripts/bench.sh store_bench
//   build/bench/bin/store_bench --benchmark_filter=PointRead

#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "store/online_store.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kKeys = 1'000'000;
constexpr size_t kHitCache = 2 * kKeys;  // room for every key in every shard
constexpr size_t kMissCache = 1 << 16;
constexpr std::string_view kGroup = "user_features";

void Die(const Status& s, std::string_view what) {
  if (s.ok()) return;
  std::fprintf(stderr, "store_bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               s.ToString().c_str());
  std::exit(1);
}

const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k(kKeys);
    char buf[32];
    for (size_t i = 0; i < kKeys; ++i) {
      std::snprintf(buf, sizeof(buf), "user:%07zu", i);
      k[i] = buf;
    }
    return k;
  }();
  return keys;
}

// The vector of key `i` as of event time `t`.
void FillVector(StoredVector& v, size_t i, int64_t t) {
  v.event_time = EventTime::FromMicros(t);
  v.computed_at = ProcessingTime::FromMicros(t + 150);
  if (v.values.size() != 8) v.values.resize(8);
  const int64_t n = static_cast<int64_t>(i % 97) + t % 13;
  v.values[0].SetInt(n);                                         // txn_count_1h
  v.values[1].SetInt(n * 9);                                     // txn_count_24h
  v.values[2].SetDouble(static_cast<double>(n) * 37.25);         // amount_sum_1h
  v.values[3].SetDouble(41.5 + static_cast<double>(i % 11));     // amount_mean_24h
  v.values[4].SetDouble(static_cast<double>(t % 1000) / 333.0);  // amount_z
  v.values[5].SetInt(static_cast<int64_t>(i % 7));               // distinct_merchants_24h
  v.values[6].SetString((i % 3) == 0 ? "DE" : "FR");             // last_country
  auto& top = v.values[7].SetList();                             // top_merchants_7d
  top.push_back("m" + std::to_string(i % 1000));
  top.push_back("m" + std::to_string((i + 7) % 1000));
  top.push_back("m" + std::to_string((i + 13) % 1000));
}

constexpr int64_t kBaseTime = 1'714'564'800'000'000;  // 2024-05-01T12:00:00Z

// The temporary root of every store the benchmarks make.
const fs::path& Root() {
  static const fs::path root = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/eddy_store_bench_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die(Status::IoError("mkdtemp failed"), "temp dir");
    return fs::path(tmpl);
  }();
  // Registered after `root` is built, so it runs before `root` is destroyed
  // and after the stores opened later are closed.
  static const bool cleanup = (std::atexit([] { fs::remove_all(Root()); }), true);
  (void)cleanup;
  return root;
}

fs::path FreshDir(std::string_view name) {
  static int n = 0;
  return Root() / StrCat(name, "-", ++n);
}

// The store of 1M keys shared by the read benchmarks, open with one cache
// size at a time.
struct Dataset {
  fs::path path = Root() / "dataset";
  std::unique_ptr<OnlineStore> store;
  size_t cache_entries = 0;
  bool warm = false;
};

Dataset& SharedDataset() {
  static Dataset d = [] {
    Dataset ds;
    RocksDbStoreOptions options;
    options.cache_entries = 0;
    Result<std::unique_ptr<OnlineStore>> s = OpenRocksDbStore(ds.path.string(), options);
    Die(s.status(), "open the dataset");
    StoredVector v;
    for (size_t i = 0; i < kKeys; ++i) {
      FillVector(v, i, kBaseTime + static_cast<int64_t>(i));
      Die((*s)->Put(kGroup, Keys()[i], v), "put");
    }
    Die((*s)->Flush(), "flush");
    return ds;
  }();
  return d;
}

// The shared dataset, opened with `cache_entries` (and every key read once
// when `warm`).
OnlineStore& OpenDataset(size_t cache_entries, bool warm) {
  Dataset& d = SharedDataset();
  if (d.store == nullptr || d.cache_entries != cache_entries || (warm && !d.warm)) {
    d.store.reset();
    RocksDbStoreOptions options;
    options.cache_entries = cache_entries;
    Result<std::unique_ptr<OnlineStore>> s = OpenRocksDbStore(d.path.string(), options);
    Die(s.status(), "reopen the dataset");
    d.store = std::move(*s);
    d.cache_entries = cache_entries;
    d.warm = false;
  }
  if (warm && !d.warm) {
    for (const std::string& k : Keys()) Die(d.store->Get(kGroup, k).status(), "warm");
    d.warm = true;
  }
  return *d.store;
}

// Indices of keys drawn uniformly or from Zipf(s) over kKeys (rank 0 the
// hottest; ranks are scattered over the key space so hot keys do not
// cluster in one shard or one table block).
std::vector<uint32_t> Uniform(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> pick(0, kKeys - 1);
  std::vector<uint32_t> out(n);
  for (uint32_t& x : out) x = pick(rng);
  return out;
}

std::vector<uint32_t> Zipf(size_t n, double s, uint64_t seed) {
  std::vector<double> cdf(kKeys);
  double sum = 0;
  for (size_t r = 0; r < kKeys; ++r) cdf[r] = sum += 1.0 / std::pow(static_cast<double>(r + 1), s);
  std::vector<uint32_t> scatter(kKeys);
  for (uint32_t i = 0; i < kKeys; ++i) scatter[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(scatter.begin(), scatter.end(), rng);
  std::uniform_real_distribution<double> u(0, sum);
  std::vector<uint32_t> out(n);
  for (uint32_t& x : out) {
    const size_t rank = std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin();
    x = scatter[std::min(rank, kKeys - 1)];
  }
  return out;
}

// Resident memory of the process.
double RssMb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e6;
}

class Latencies {
 public:
  explicit Latencies(size_t n) { ns_.reserve(n); }
  void Add(SteadyClock::duration d) {
    ns_.push_back(static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(), UINT32_MAX)));
  }
  void Report(benchmark::State& state, std::string_view prefix = "") {
    if (ns_.empty()) return;
    std::sort(ns_.begin(), ns_.end());
    auto at = [&](double q) {
      return ns_[std::min(ns_.size() - 1,
                          static_cast<size_t>(q * static_cast<double>(ns_.size())))] /
             1000.0;
    };
    state.counters[StrCat(prefix, "p50_us")] = at(0.50);
    state.counters[StrCat(prefix, "p99_us")] = at(0.99);
    state.counters[StrCat(prefix, "p999_us")] = at(0.999);
    state.counters[StrCat(prefix, "max_us")] = ns_.back() / 1000.0;
  }

 private:
  std::vector<uint32_t> ns_;
};

void ReportCache(benchmark::State& state, const OnlineStore::Stats& before,
                 const OnlineStore::Stats& after) {
  const double hits = static_cast<double>(after.cache_hits - before.cache_hits);
  const double misses = static_cast<double>(after.cache_misses - before.cache_misses);
  state.counters["hit_ratio"] = hits + misses > 0 ? hits / (hits + misses) : 0;
}

// A writer thread doing what the feature engine does, for reads under load.
class BackgroundWriter {
 public:
  explicit BackgroundWriter(OnlineStore& store) : thread_([this, &store] { Run(store); }) {}
  ~BackgroundWriter() {
    stop_ = true;
    thread_.join();
  }
  uint64_t puts() const { return puts_.load(); }

 private:
  void Run(OnlineStore& store) {
    const std::vector<uint32_t> keys = Zipf(1 << 20, 0.99, 7);
    StoredVector v;
    int64_t t = kBaseTime + 10'000'000;
    for (size_t n = 0; !stop_.load(std::memory_order_relaxed); ++n) {
      const uint32_t k = keys[n & (keys.size() - 1)];
      FillVector(v, k, ++t);
      Die(store.Put(kGroup, Keys()[k], v), "background put");
      if ((n & 0xfffff) == 0xfffff) Die(store.Flush(), "background flush");
      puts_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> puts_{0};
  std::thread thread_;
};

void PointRead(benchmark::State& state, size_t cache_entries, bool with_writer) {
  OnlineStore& store = OpenDataset(cache_entries, cache_entries >= kKeys);
  const std::vector<uint32_t> picks = Uniform(1 << 20, 1);
  Latencies lat(state.max_iterations);
  std::unique_ptr<BackgroundWriter> writer;
  if (with_writer) writer = std::make_unique<BackgroundWriter>(store);
  const OnlineStore::Stats before = store.stats();
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = Keys()[picks[i++ & (picks.size() - 1)]];
    const auto t0 = SteadyClock::now();
    Result<std::optional<StoredVector>> r = store.Get(kGroup, key);
    lat.Add(SteadyClock::now() - t0);
    if (!r.ok() || !r->has_value()) Die(r.status(), "get");
    benchmark::DoNotOptimize(r);
  }
  if (writer) {
    state.counters["writer_puts"] = static_cast<double>(writer->puts());
    writer.reset();
  }
  ReportCache(state, before, store.stats());
  lat.Report(state);
  state.counters["rss_MB"] = RssMb();
  state.SetItemsProcessed(state.iterations());
}

void MultiGet100(benchmark::State& state, size_t cache_entries) {
  OnlineStore& store = OpenDataset(cache_entries, cache_entries >= kKeys);
  constexpr size_t kBatch = 100;
  const std::vector<uint32_t> picks = Uniform(1 << 20, 2);
  std::vector<std::string_view> batch(kBatch);
  Latencies lat(state.max_iterations);
  const OnlineStore::Stats before = store.stats();
  size_t i = 0;
  for (auto _ : state) {
    for (std::string_view& k : batch) k = Keys()[picks[i++ & (picks.size() - 1)]];
    const auto t0 = SteadyClock::now();
    Result<std::vector<std::optional<StoredVector>>> r = store.MultiGet(kGroup, batch);
    lat.Add(SteadyClock::now() - t0);
    if (!r.ok()) Die(r.status(), "multiget");
    benchmark::DoNotOptimize(r);
  }
  ReportCache(state, before, store.stats());
  lat.Report(state, "batch_");
  state.SetItemsProcessed(state.iterations() * kBatch);
}

constexpr size_t kFlushEvery = 1'000'000;

// `dir` (may be empty) is removed once the store is closed.
void PutBench(benchmark::State& state, std::unique_ptr<OnlineStore> store,
              const fs::path& dir = {}) {
  const std::vector<uint32_t> keys = Zipf(1 << 22, 0.99, 3);
  StoredVector v;
  int64_t t = kBaseTime + 100'000'000;
  Latencies flushes(64);
  size_t n = 0;
  for (auto _ : state) {
    const uint32_t k = keys[n & (keys.size() - 1)];
    FillVector(v, k, ++t);
    Die(store->Put(kGroup, Keys()[k], v), "put");
    if (++n % kFlushEvery == 0) {
      const auto t0 = SteadyClock::now();
      Die(store->Flush(), "flush");
      flushes.Add(SteadyClock::now() - t0);
    }
  }
  const auto t0 = SteadyClock::now();
  Die(store->Flush(), "flush");
  flushes.Add(SteadyClock::now() - t0);
  state.SetItemsProcessed(state.iterations());
  flushes.Report(state, "flush_");
  const OnlineStore::Stats st = store->stats();
  state.counters["keys"] = static_cast<double>(st.keys);
  state.counters["out_of_order"] = static_cast<double>(st.out_of_order);
  state.counters["rss_MB"] = RssMb();
  store.reset();
  if (!dir.empty()) fs::remove_all(dir);
}

void PutZipfWarm(benchmark::State& state, size_t write_buffer_entries) {
  // A private copy of the dataset, all cached: the engine's steady state.
  Dataset& d = SharedDataset();
  d.store.reset();
  const fs::path dir = FreshDir("put-warm");
  // A closed store directory restores like a checkpoint (table files linked).
  Die(RestoreRocksDbStore(d.path.string(), dir.string()), "copy the dataset");
  RocksDbStoreOptions options;
  options.write_buffer_entries = write_buffer_entries;
  Result<std::unique_ptr<OnlineStore>> s = OpenRocksDbStore(dir.string(), options);
  Die(s.status(), "open");
  for (const std::string& k : Keys()) Die((*s)->Get(kGroup, k).status(), "warm");
  PutBench(state, std::move(*s), dir);
}

void PutZipfCold(benchmark::State& state) {
  const fs::path dir = FreshDir("put-cold");
  Result<std::unique_ptr<OnlineStore>> s = OpenRocksDbStore(dir.string(), RocksDbStoreOptions());
  Die(s.status(), "open");
  PutBench(state, std::move(*s), dir);
}

void PutMemory(benchmark::State& state) { PutBench(state, OpenMemoryStore()); }

// The benchmark's own share of the Put rates: building the vectors.
void BuildVectorOnly(benchmark::State& state) {
  const std::vector<uint32_t> keys = Zipf(1 << 22, 0.99, 3);
  StoredVector v;
  int64_t t = kBaseTime + 100'000'000;
  size_t n = 0;
  for (auto _ : state) {
    const uint32_t k = keys[n++ & (keys.size() - 1)];
    FillVector(v, k, ++t);
    benchmark::DoNotOptimize(v);
    benchmark::DoNotOptimize(Keys()[k].data());
  }
  state.SetItemsProcessed(state.iterations());
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

void CheckpointBench(benchmark::State& state, bool dirty) {
  Dataset& d = SharedDataset();
  d.store.reset();
  const fs::path dir = FreshDir("checkpoint-src");
  Die(RestoreRocksDbStore(d.path.string(), dir.string()), "copy the dataset");
  RocksDbStoreOptions options;
  options.write_buffer_entries = 2 * kKeys;  // keep every update in memory
  Result<std::unique_ptr<OnlineStore>> s = OpenRocksDbStore(dir.string(), options);
  Die(s.status(), "open");
  OnlineStore& store = **s;
  StoredVector v;
  int64_t t = kBaseTime + 200'000'000;
  uint64_t bytes = 0;
  for (auto _ : state) {
    if (dirty) {
      state.PauseTiming();
      for (size_t i = 0; i < kKeys; ++i) {
        FillVector(v, i, ++t);
        Die(store.Put(kGroup, Keys()[i], v), "put");
      }
      state.ResumeTiming();
    }
    const fs::path cp = FreshDir("cp");
    Die(store.Checkpoint(cp.string()), "checkpoint");
    state.PauseTiming();
    bytes = DirBytes(cp);
    fs::remove_all(cp);
    state.ResumeTiming();
  }
  state.counters["size_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["bytes_per_key"] = static_cast<double>(bytes) / kKeys;
  s->reset();
  fs::remove_all(dir);
}

// Registration order is run order: the write benchmarks reopen the dataset.
BENCHMARK_CAPTURE(PointRead, hit, kHitCache, false)
    ->Iterations(2'000'000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(PointRead, miss, kMissCache, false)
    ->Iterations(1'000'000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(PointRead, hit_while_writing, kHitCache, true)
    ->Iterations(1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(MultiGet100, hit, kHitCache)->Iterations(20'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(MultiGet100, miss, kMissCache)->Iterations(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(PutZipfWarm, zipf_warm, RocksDbStoreOptions().write_buffer_entries)
    ->Name("Put/zipf_warm")
    ->Iterations(4'000'000)
    ->UseRealTime();
BENCHMARK_CAPTURE(PutZipfWarm, zipf_warm_buffer_1M, size_t{1} << 20)
    ->Name("Put/zipf_warm_buffer_1M")
    ->Iterations(4'000'000)
    ->UseRealTime();
BENCHMARK(PutZipfCold)->Name("Put/zipf_cold")->Iterations(4'000'000)->UseRealTime();
BENCHMARK(PutMemory)->Name("Put/memory_store")->Iterations(4'000'000)->UseRealTime();
BENCHMARK(BuildVectorOnly)->Name("Put/build_vector_only")->Iterations(4'000'000)->UseRealTime();
BENCHMARK_CAPTURE(CheckpointBench, clean, false)
    ->Name("Checkpoint/clean")
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(CheckpointBench, dirty, true)
    ->Name("Checkpoint/dirty")
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace eddy

BENCHMARK_MAIN();
