// eddy-nexmark-gen: writes Nexmark-style events (generator.h) as JSON lines,
// for `eddy run bench/nexmark/q5.yaml` and other experiments.
//
//   eddy-nexmark-gen --events 10M --rate 10000 --out nexmark.jsonl

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/nexmark/generator.h"

namespace {

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: eddy-nexmark-gen [--events N] [--rate R] [--seed S] [--out FILE]\n"
               "  --events N  events to write (persons:auctions:bids = 1:3:46); k/M suffixes\n"
               "              accepted (default 1M)\n"
               "  --rate R    events per second of event time (default 10000, Nexmark's\n"
               "              default; the nexmark-flink suite uses 10000000)\n"
               "  --seed S    random seed (default 1)\n"
               "  --out FILE  output file, - for stdout (default -)\n");
}

bool ParseCount(const char* s, double& out) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s) return false;
  if (*end == 'k' || *end == 'K') {
    v *= 1e3;
    ++end;
  } else if (*end == 'M' || *end == 'm') {
    v *= 1e6;
    ++end;
  }
  if (*end != '\0' || v <= 0) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  eddy::nexmark::Options o;
  std::string out = "-";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "eddy-nexmark-gen: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    double v = 0;
    if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else if (a == "--events") {
      if (!ParseCount(value(), v)) {
        std::fprintf(stderr, "eddy-nexmark-gen: --events: expected a positive count\n");
        return 2;
      }
      o.events = static_cast<uint64_t>(v);
    } else if (a == "--rate") {
      if (!ParseCount(value(), v)) {
        std::fprintf(stderr, "eddy-nexmark-gen: --rate: expected a positive rate\n");
        return 2;
      }
      o.rate = v;
    } else if (a == "--seed") {
      o.seed = std::strtoull(value(), nullptr, 10);
    } else if (a == "--out") {
      out = value();
    } else {
      std::fprintf(stderr, "eddy-nexmark-gen: unknown option %s\n", argv[i]);
      Usage(stderr);
      return 2;
    }
  }
  FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "eddy-nexmark-gen: cannot open %s: %s\n", out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  bool ok = true;
  eddy::nexmark::Stats st = eddy::nexmark::Generate(o, [&](std::string_view chunk) {
    if (ok && std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) ok = false;
  });
  if (f != stdout && std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::fprintf(stderr, "eddy-nexmark-gen: write error on %s\n", out.c_str());
    return 1;
  }
  std::fprintf(
      stderr,
      "eddy-nexmark-gen: %llu events (%llu persons, %llu auctions, %llu bids, %.1f%% of "
      "bids on the hot auction), %.1f MB\n",
      static_cast<unsigned long long>(o.events), static_cast<unsigned long long>(st.persons),
      static_cast<unsigned long long>(st.auctions), static_cast<unsigned long long>(st.bids),
      st.bids > 0 ? 100.0 * static_cast<double>(st.hot_bids) / static_cast<double>(st.bids) : 0.0,
      static_cast<double>(st.bytes) / 1e6);
  return 0;
}
