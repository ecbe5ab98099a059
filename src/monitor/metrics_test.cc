#include "monitor/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace eddy {
namespace {

TEST(MetricsRegistryTest, RendersTextFormatGolden) {
  MetricsRegistry r;
  r.GetCounter("eddy_test_requests_total", "Requests by route and code.",
               {{"route", "/v1/predict"}, {"code", "200"}})
      .Increment(3);
  r.GetCounter("eddy_test_requests_total", "ignored: help of the first registration wins",
               {{"route", "/v1/predict"}, {"code", "404"}})
      .Increment();
  r.GetGauge("eddy_test_temperature", "Help with \\ and\nnewline.", {{"room", "a\"b\\c\nd"}})
      .Set(-1.5);
  Histogram& h = r.GetHistogram("eddy_test_wait_seconds", "Wait.", {{"stage", "lookup"}},
                                HistogramOptions{.bounds = {0.125, 0.5, 2}});
  for (double v : {0.0625, 0.125, 0.25, 4.0}) h.Observe(v);
  MetricCallback cb =
      r.AddCallbackGauge("eddy_test_queue_depth", "Queue depth.", {}, [] { return 7.0; });
  r.GetCounter("eddy_test_plain_total", "No labels.");

  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP eddy_test_plain_total No labels.\n"
            "# TYPE eddy_test_plain_total counter\n"
            "eddy_test_plain_total 0\n"
            "# HELP eddy_test_queue_depth Queue depth.\n"
            "# TYPE eddy_test_queue_depth gauge\n"
            "eddy_test_queue_depth 7\n"
            "# HELP eddy_test_requests_total Requests by route and code.\n"
            "# TYPE eddy_test_requests_total counter\n"
            "eddy_test_requests_total{route=\"/v1/predict\",code=\"200\"} 3\n"
            "eddy_test_requests_total{route=\"/v1/predict\",code=\"404\"} 1\n"
            "# HELP eddy_test_temperature Help with \\\\ and\\nnewline.\n"
            "# TYPE eddy_test_temperature gauge\n"
            "eddy_test_temperature{room=\"a\\\"b\\\\c\\nd\"} -1.5\n"
            "# HELP eddy_test_wait_seconds Wait.\n"
            "# TYPE eddy_test_wait_seconds histogram\n"
            "eddy_test_wait_seconds_bucket{stage=\"lookup\",le=\"0.125\"} 2\n"
            "eddy_test_wait_seconds_bucket{stage=\"lookup\",le=\"0.5\"} 3\n"
            "eddy_test_wait_seconds_bucket{stage=\"lookup\",le=\"2\"} 3\n"
            "eddy_test_wait_seconds_bucket{stage=\"lookup\",le=\"+Inf\"} 4\n"
            "eddy_test_wait_seconds_sum{stage=\"lookup\"} 4.4375\n"
            "eddy_test_wait_seconds_count{stage=\"lookup\"} 4\n");
}

TEST(MetricsRegistryTest, SameLabelsGiveTheSameMetric) {
  MetricsRegistry r;
  Counter& a = r.GetCounter("x_total", "x", {{"k", "1"}});
  Counter& b = r.GetCounter("x_total", "x", {{"k", "1"}});
  Counter& c = r.GetCounter("x_total", "x", {{"k", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(MetricsRegistryTest, NonFiniteValues) {
  MetricsRegistry r;
  r.GetGauge("g_nan", "n").Set(std::nan(""));
  r.GetGauge("g_pinf", "p").Set(INFINITY);
  r.GetGauge("g_minf", "m").Set(-INFINITY);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("g_nan NaN\n"), std::string::npos);
  EXPECT_NE(text.find("g_pinf +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("g_minf -Inf\n"), std::string::npos);
}

TEST(MetricsRegistryTest, CallbackUnregistersOnDestruction) {
  MetricsRegistry r;
  int calls = 0;
  {
    MetricCallback cb = r.AddCallbackCounter("cb_total", "cb", {{"source", "tx"}}, [&calls] {
      ++calls;
      return 42.0;
    });
    EXPECT_NE(r.RenderPrometheus().find("cb_total{source=\"tx\"} 42\n"), std::string::npos);
    MetricCallback moved = std::move(cb);
    EXPECT_NE(r.RenderPrometheus().find("cb_total"), std::string::npos);
  }
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(r.RenderPrometheus(), "");
}

TEST(MetricsRegistryTest, CollectorEmitsSamplesKnownAtScrape) {
  MetricsRegistry r;
  MetricCallback cb = r.AddCollector("eddy_source_records_total", "Records.", MetricType::kCounter,
                                     {"source", "partition"}, [](std::vector<MetricSample>& out) {
                                       out.push_back({{"tx", "0"}, 10});
                                       out.push_back({{"tx", "1"}, 12});
                                     });
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP eddy_source_records_total Records.\n"
            "# TYPE eddy_source_records_total counter\n"
            "eddy_source_records_total{source=\"tx\",partition=\"0\"} 10\n"
            "eddy_source_records_total{source=\"tx\",partition=\"1\"} 12\n");
}

TEST(MetricsRegistryTest, ProcessMetrics) {
  MetricsRegistry r;
  r.RegisterProcessMetrics();
  r.RegisterProcessMetrics();  // idempotent
  std::string text = r.RenderPrometheus();
  for (const char* name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
        "process_threads ", "process_start_time_seconds "}) {
    size_t p = text.find(std::string("\n") + name);
    ASSERT_NE(p, std::string::npos) << name << "\n" << text;
    double v = std::strtod(text.c_str() + p + 1 + std::strlen(name), nullptr);
    EXPECT_TRUE(std::isfinite(v) && v >= 0) << name << v;
  }
}

TEST(MetricsRegistryDeathTest, TypeMismatchIsABug) {
  MetricsRegistry r;
  r.GetCounter("m", "m");
  EXPECT_DEATH(r.GetGauge("m", "m"), "registered as counter and as gauge");
  EXPECT_DEATH(r.GetCounter("m", "m", {{"a", "1"}}), "different label names");
  EXPECT_DEATH(r.GetCounter("bad-name", "m"), "invalid metric name");
  EXPECT_DEATH(r.GetCounter("ok", "m", {{"__x", "1"}}), "invalid label name");
}

TEST(HistogramTest, ExportedBucketsAreExactAtBounds) {
  Histogram h(HistogramOptions{.bounds = {1, 2, 3}});
  for (double v : {0.5, 1.0, 1.0000001, 2.0, 3.0, 3.5, -7.0}) h.Observe(v);
  h.Observe(std::nan(""));              // ignored
  EXPECT_EQ(h.CumulativeCount(0), 3u);  // -7, 0.5, 1
  EXPECT_EQ(h.CumulativeCount(1), 5u);
  EXPECT_EQ(h.CumulativeCount(2), 6u);
  EXPECT_EQ(h.count(), 7u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.5 + 1 + 1.0000001 + 2 + 3 + 3.5 - 7);
  HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.count(), 7u);
  EXPECT_EQ(s.min(), -7.0);
  EXPECT_EQ(s.max(), 3.5);
}

TEST(HistogramTest, EmptyQuantileIsNaN) {
  Histogram h;
  EXPECT_TRUE(std::isnan(h.Quantile(0.5)));
  EXPECT_TRUE(std::isnan(h.Snapshot().min()));
  EXPECT_EQ(h.count(), 0u);
}

// The documented bound: a quantile is within 1/32 of the exact order
// statistic for magnitudes inside the grid.
TEST(HistogramTest, QuantileErrorBound) {
  std::mt19937_64 rng(12345);
  std::lognormal_distribution<double> latency(std::log(150e-6), 0.8);  // ~150us median
  std::normal_distribution<double> score(0, 3);
  for (int kind = 0; kind < 2; ++kind) {
    Histogram h;
    std::vector<double> values;
    for (int i = 0; i < 200000; ++i) {
      double v = kind == 0 ? latency(rng) : score(rng);
      if (kind == 1 && std::fabs(v) < 1e-6) continue;  // below the grid: reads as 0
      values.push_back(v);
      h.Observe(v);
    }
    std::sort(values.begin(), values.end());
    HistogramSnapshot s = h.Snapshot();
    for (double q : {0.0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
      size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * values.size())));
      double exact = values[rank - 1];
      double got = s.Quantile(q);
      EXPECT_LE(std::fabs(got - exact), std::fabs(exact) / 32) << "kind " << kind << " q " << q;
    }
  }
}

TEST(HistogramTest, ValuesOutsideTheGridClamp) {
  Histogram h(HistogramOptions{.bounds = {}, .min_exponent = -4, .max_exponent = 4});
  h.Observe(1e-9);
  EXPECT_EQ(h.Quantile(0.5), 0);
  h.Observe(1e9);
  h.Observe(INFINITY);
  EXPECT_EQ(h.Quantile(1), 16);
  Histogram n(HistogramOptions{.bounds = {}, .min_exponent = -4, .max_exponent = 4});
  n.Observe(-1e9);
  EXPECT_EQ(n.Quantile(0), -16);
}

TEST(HistogramTest, SinceGivesTheInterval) {
  Histogram h;
  for (int i = 0; i < 1000; ++i) h.Observe(1e-3);
  HistogramSnapshot a = h.Snapshot();
  for (int i = 0; i < 10; ++i) h.Observe(0.5);
  HistogramSnapshot d = h.Snapshot().Since(a);
  EXPECT_EQ(d.count(), 10u);
  EXPECT_NEAR(d.Quantile(0.5), 0.5, 0.5 / 32);
  EXPECT_NEAR(d.min(), 0.5, 0.5 / 32);
  EXPECT_NEAR(d.sum(), 5.0, 1e-9);
}

TEST(MetricsConcurrencyTest, ManyWritersAndAScraper) {
  MetricsRegistry r;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) {
      std::string text = r.RenderPrometheus();
      ASSERT_TRUE(text.empty() || text.back() == '\n');
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&r, t] {
      Counter& shared = r.GetCounter("c_total", "c", {{"k", "shared"}});
      Counter& own = r.GetCounter("c_total", "c", {{"k", std::to_string(t)}});
      Histogram& h = r.GetHistogram("h_seconds", "h");
      Gauge& g = r.GetGauge("g", "g");
      for (int i = 0; i < kPerThread; ++i) {
        shared.Increment();
        own.Increment();
        h.Observe(1e-4 * (1 + i % 7));
        g.Add(1);
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  scraper.join();
  EXPECT_EQ(r.GetCounter("c_total", "c", {{"k", "shared"}}).value(),
            uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(r.GetCounter("c_total", "c", {{"k", "2"}}).value(), uint64_t{kPerThread});
  Histogram& h = r.GetHistogram("h_seconds", "h");
  EXPECT_EQ(h.count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.Snapshot().count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(r.GetGauge("g", "g").value(), double{kThreads} * kPerThread);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("h_seconds_count 400000\n"), std::string::npos);
  EXPECT_NE(text.find("h_seconds_bucket{le=\"+Inf\"} 400000\n"), std::string::npos);
}

}  // namespace
}  // namespace eddy
