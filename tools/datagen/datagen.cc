// eddy-datagen: a synthetic stream of card transactions for fraud detection,
// with delayed chargeback labels. It feeds examples, scenario tests and
// benchmarks with data that looks like the real thing: hot users, habits per
// user, fraud with its own patterns, records out of order, late records and
// a small share of broken ones. Output is deterministic for a seed, and the
// same seed gives the same transactions in JSON lines and in CSV.
//
// Usage: eddy-datagen --events 1000000 --out tx.jsonl --labels labels.jsonl
//        (eddy-datagen --help lists every option)
//
// A pipeline source that validates the transactions (every well-formed
// record is accepted; the broken ones go to the dead-letter output) is what
// `eddy-datagen --source` prints (TxSourceYaml in generator.cc): the fields
// tx_id, user_id, card_id, merchant_id, merchant_category (11 values),
// device_id (null for card-present payments), country (ISO 3166 alpha-2),
// channel (web, app, pos), amount, currency (10 values) and ts (ISO-8601
// with milliseconds, Z); event time ts, key user_id, id tx_id.
//
// and the labels (--labels), one JSON object per line in label_time order:
//
//     - name: labels
//       format: jsonl
//       path: labels.jsonl
//       schema:
//         fields:
//           - {name: tx_id, type: string, required: true}
//           - {name: user_id, type: string, required: true}
//           - {name: label, type: int, required: true, allowed: [0, 1]}
//           - {name: label_time, type: timestamp}
//           - {name: tx_time, type: timestamp, required: true}
//           - {name: fraud_type, type: string,
//              allowed: [card_testing, account_takeover, high_amount, velocity]}
//       event_time: label_time
//       key: user_id
//       id: tx_id
//
// tools/datagen/README.md describes the model behind the data.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "base/time.h"
#include "tools/datagen/generator.h"

namespace eddy::datagen {
namespace {

struct CliOptions {
  Options gen;
  std::string out = "-";
  std::string labels;
  bool quiet = false;
  bool source = false;
};

constexpr const char* kUsage = R"(usage: eddy-datagen [options]

Writes a synthetic card-transaction stream (JSON lines or CSV) for fraud
detection, and optionally the delayed chargeback labels. Deterministic for a
seed; the same seed gives the same transactions in both formats.

  --events N          transactions to write (default 1000000; 10k, 5M accepted)
  --users U           cardholders (default 100000)
  --merchants M       merchants (default 10000)
  --seed S            random seed (default 42)
  --format F          jsonl or csv (default jsonl)
  --out FILE          output file, or - for stdout (default -)
  --labels FILE       also write labels: every fraud transaction (label 1) and a
                      sample of legitimate ones (label 0), in label_time order
  --label-sample F    share of legitimate transactions labelled 0 (default 0.02)
  --start TIME        event time of the first transaction, ISO-8601
                      (default 2024-05-01T00:00:00Z)
  --rate R            transactions per second of event time, on average over a
                      day (default: 3 per user per day)
  --fraud-rate F      share of transactions that are fraud (default 0.005)
  --disorder F        share of records written out of order (default 0.02) ...
  --disorder-bound S  ... by at most S seconds of event time (default 5)
  --late F            share of records written far behind (default 0.001), ...
  --late-delay A:B    ... between A and B seconds late (default 600:3600)
  --chargeback-days A:B  chargebacks (label 1) A to B days after the transaction (default 1:60)
  --review-days A:B   reviews (label 0) A to B days after the transaction (default 7:45)
  --malformed F       share of broken records (default 0.0005): truncated, wrong
                      types, bad timestamps, invalid UTF-8, missing fields
  --zipf S            skew of activity across users (default 0.8; 0 = uniform)
  --quiet             no summary on stderr
  --source            print the pipeline source that validates this output
                      (YAML, for --format and --out) and exit
  --help              this text
)";

bool ParseCount(std::string_view s, uint64_t& out) {
  uint64_t mult = 1;
  if (!s.empty()) {
    char last = s.back();
    if (last == 'k' || last == 'K') mult = 1000;
    if (last == 'm' || last == 'M') mult = 1000000;
    if (last == 'g' || last == 'G') mult = 1000000000;
    if (mult != 1) s.remove_suffix(1);
  }
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  if (v > UINT64_MAX / mult) return false;
  out = v * mult;
  return true;
}

bool ParseNumber(std::string_view s, double& out) {
  // std::from_chars for double exists in libstdc++ 11+, but strtod is
  // portable to every standard library.
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(tmp.c_str(), &end);
  return !tmp.empty() && end == tmp.c_str() + tmp.size() && errno == 0 && std::isfinite(out);
}

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "eddy-datagen: %s\nRun eddy-datagen --help for the options.\n",
               error.c_str());
  std::exit(2);
}

CliOptions ParseOptions(int argc, char** argv) {
  CliOptions cli;
  Options& o = cli.gen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto need = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) Usage(arg + " needs a value");
      return argv[++i];
    };
    auto count = [&](uint64_t& field, uint64_t min) {
      std::string v = need();
      if (!ParseCount(v, field) || field < min) {
        Usage(arg + ": expected a whole number >= " + std::to_string(min) + ", got '" + v + "'");
      }
    };
    auto fraction = [&](double& field) {
      std::string v = need();
      if (!ParseNumber(v, field) || field < 0 || field > 1) {
        Usage(arg + ": expected a fraction between 0 and 1, got '" + v + "'");
      }
    };
    auto positive = [&](double& field) {
      std::string v = need();
      if (!ParseNumber(v, field) || field < 0) {
        Usage(arg + ": expected a number >= 0, got '" + v + "'");
      }
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--events") {
      count(o.events, 0);
    } else if (arg == "--users") {
      count(o.users, 1);
    } else if (arg == "--merchants") {
      count(o.merchants, 11);  // one per merchant category
    } else if (arg == "--seed") {
      count(o.seed, 0);
    } else if (arg == "--format") {
      std::string v = need();
      if (v != "jsonl" && v != "csv") Usage("--format: expected jsonl or csv, got '" + v + "'");
      o.csv = v == "csv";
    } else if (arg == "--out" || arg == "-o") {
      cli.out = need();
    } else if (arg == "--labels") {
      cli.labels = need();
      o.labels = true;
    } else if (arg == "--label-sample") {
      fraction(o.label_sample);
    } else if (arg == "--start") {
      std::string v = need();
      auto t = ParseIso8601(v);
      if (!t.ok()) Usage("--start: " + t.status().message());
      o.start = *t;
    } else if (arg == "--rate") {
      positive(o.rate);
      if (o.rate == 0) Usage("--rate must be more than 0");
    } else if (arg == "--fraud-rate") {
      fraction(o.fraud_rate);
      if (o.fraud_rate > 0.5) Usage("--fraud-rate: at most 0.5");
    } else if (arg == "--disorder") {
      fraction(o.disorder);
    } else if (arg == "--disorder-bound") {
      positive(o.disorder_bound_s);
    } else if (arg == "--late") {
      fraction(o.late);
    } else if (arg == "--late-delay") {
      std::string v = need();
      size_t colon = v.find(':');
      if (colon == std::string::npos || !ParseNumber(v.substr(0, colon), o.late_min_s) ||
          !ParseNumber(v.substr(colon + 1), o.late_max_s) || o.late_min_s < 0 ||
          o.late_max_s < o.late_min_s) {
        Usage("--late-delay: expected MIN:MAX seconds, e.g. 600:3600, got '" + v + "'");
      }
    } else if (arg == "--chargeback-days" || arg == "--review-days") {
      std::string v = need();
      size_t colon = v.find(':');
      double lo = 0, hi = 0;
      if (colon == std::string::npos || !ParseNumber(v.substr(0, colon), lo) ||
          !ParseNumber(v.substr(colon + 1), hi) || lo < 0 || hi < lo) {
        Usage(arg + ": expected MIN:MAX days, e.g. 1:60, got '" + v + "'");
      }
      if (arg == "--chargeback-days") {
        o.chargeback_min_days = lo;
        o.chargeback_max_days = hi;
      } else {
        o.review_min_days = lo;
        o.review_max_days = hi;
      }
    } else if (arg == "--malformed") {
      fraction(o.malformed);
    } else if (arg == "--zipf") {
      positive(o.zipf);
      if (o.zipf > 5) Usage("--zipf: at most 5");
    } else if (arg == "--quiet" || arg == "-q") {
      cli.quiet = true;
    } else if (arg == "--source") {
      cli.source = true;
    } else {
      Usage("unknown option '" + arg + "'");
    }
  }
  if (o.disorder + o.late > 1) Usage("--disorder + --late must not exceed 1");
  if (o.rate == 0) o.rate = static_cast<double>(o.users) * 3.0 / 86400.0;
  return cli;
}

// Writes chunks to a file, exiting with a message on failure.
class FileSink {
 public:
  FileSink(const std::string& path) : path_(path) {
    f_ = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
    if (f_ == nullptr) Fail("cannot open");
  }
  void Write(std::string_view chunk) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), f_) != chunk.size()) Fail("writing");
  }
  void Close() {
    if (std::fflush(f_) != 0 || (f_ != stdout && std::fclose(f_) != 0)) Fail("writing");
  }

 private:
  [[noreturn]] void Fail(const char* what) {
    std::fprintf(stderr, "eddy-datagen: %s %s: %s\n", what, path_.c_str(), std::strerror(errno));
    std::exit(1);
  }
  std::string path_;
  FILE* f_;
};

int Run(const CliOptions& cli) {
  if (cli.source) {
    const std::string_view format = cli.gen.csv ? "csv" : "jsonl";
    const std::string path = cli.out == "-" ? "\"-\"" : cli.out;
    std::fputs(TxSourceYaml(format, path).c_str(), stdout);
    return 0;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t cpu0 = std::clock();
  FileSink out(cli.out);
  std::optional<FileSink> labels;
  if (!cli.labels.empty()) labels.emplace(cli.labels);
  Stats st = Generate(
      cli.gen, [&](std::string_view chunk) { out.Write(chunk); },
      [&](std::string_view chunk) { labels->Write(chunk); });
  out.Close();
  if (labels) labels->Close();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  if (cli.quiet) return 0;
  auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  double n = static_cast<double>(std::max<uint64_t>(st.transactions, 1));
  std::fprintf(stderr,
               "eddy-datagen: %llu transactions (%.2f MB) in %.2fs (%.2fs CPU, %.2fM/s per CPU "
               "second)\n"
               "  fraud %llu (%.3f%%): episodes card_testing %llu, account_takeover %llu, "
               "high_amount %llu, velocity %llu\n"
               "  out of order %llu (%.2f%%), late %llu (%.3f%%), malformed %llu (%.3f%%)\n",
               ull(st.transactions), st.bytes / 1e6, secs, cpu,
               st.transactions / std::max(cpu, 1e-9) / 1e6, ull(st.fraud), 100.0 * st.fraud / n,
               ull(st.episodes[0]), ull(st.episodes[1]), ull(st.episodes[2]), ull(st.episodes[3]),
               ull(st.disordered), 100.0 * st.disordered / n, ull(st.late), 100.0 * st.late / n,
               ull(st.malformed), 100.0 * st.malformed / n);
  if (labels)
    std::fprintf(stderr, "  labels %llu written to %s\n", ull(st.labels), cli.labels.c_str());
  return 0;
}

}  // namespace
}  // namespace eddy::datagen

int main(int argc, char** argv) {
  return eddy::datagen::Run(eddy::datagen::ParseOptions(argc, argv));
}
