// Cost of the metric hot paths: Counter::Increment, Histogram::Observe
// (uncontended and with threads sharing one histogram), Quantile and a scrape.

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "monitor/metrics.h"

namespace eddy {
namespace {

void BM_CounterIncrement(benchmark::State& state) {
  static Counter c;
  for (auto _ : state) c.Increment();
}
BENCHMARK(BM_CounterIncrement)->ThreadRange(1, 2);

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram h;
  std::mt19937_64 rng(state.thread_index());
  std::lognormal_distribution<double> d(-9, 1);
  std::vector<double> values(4096);
  for (double& v : values) v = d(rng);
  size_t i = 0;
  for (auto _ : state) h.Observe(values[i++ & 4095]);
}
BENCHMARK(BM_HistogramObserve)->ThreadRange(1, 2);

void BM_HistogramQuantile(benchmark::State& state) {
  Histogram h;
  for (int i = 0; i < 100000; ++i) h.Observe(1e-6 * (i % 1000 + 1));
  for (auto _ : state) benchmark::DoNotOptimize(h.Quantile(0.99));
}
BENCHMARK(BM_HistogramQuantile);

void BM_RenderPrometheus(benchmark::State& state) {
  MetricsRegistry r;
  for (int route = 0; route < 20; ++route) {
    std::string name = "/v1/route" + std::to_string(route);
    r.GetHistogram("eddy_http_request_duration_seconds", "d", {{"route", name}}).Observe(1e-4);
    for (const char* code : {"200", "400", "404"}) {
      r.GetCounter("eddy_http_requests_total", "c", {{"route", name}, {"code", code}}).Increment();
    }
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    r.RenderPrometheus(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RenderPrometheus);

}  // namespace
}  // namespace eddy

BENCHMARK_MAIN();
