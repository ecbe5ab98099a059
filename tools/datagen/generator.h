// The transaction generator behind eddy-datagen, as a library so benchmarks
// and tests can produce exactly the same data in memory. See README.md for
// the model (users, merchants, fraud patterns, disorder, broken records);
// TxSchemaYaml() below is the pipeline schema the output validates against.
//
// Deterministic: the same Options give the same bytes (the random generator
// and every distribution are written out here; only exp/log/sin/cos come
// from the C library, so another libm could change a rare rounding), and
// JSON lines and CSV carry the same transactions for the same seed.

#ifndef EDDY_TOOLS_DATAGEN_GENERATOR_H_
#define EDDY_TOOLS_DATAGEN_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/time.h"

namespace eddy::datagen {

struct Options {
  uint64_t events = 1000000;
  uint64_t users = 100000;
  uint64_t merchants = 10000;  // at least 11 (one per category)
  uint64_t seed = 42;
  bool csv = false;
  EventTime start = EventTime::FromMicros(1714521600LL * 1000000);  // 2024-05-01T00:00:00Z
  double rate = 0;  // transactions per second of event time; 0 = 3 per user per day
  double fraud_rate = 0.005;
  double disorder = 0.02;  // share written up to disorder_bound_s late
  double disorder_bound_s = 5;
  double late = 0.001;  // share written late_min_s..late_max_s late
  double late_min_s = 600;
  double late_max_s = 3600;
  double malformed = 0.0005;
  bool labels = false;         // produce labels
  double label_sample = 0.02;  // share of legitimate transactions labelled 0
  // Label delays after the transaction, in days: chargebacks (label 1) and
  // reviews confirming legitimate transactions (label 0).
  double chargeback_min_days = 1, chargeback_max_days = 60;
  double review_min_days = 7, review_max_days = 45;
  double zipf = 0.8;  // activity skew across users; 0 = uniform
};

struct Stats {
  uint64_t transactions = 0;
  uint64_t fraud = 0;
  uint64_t episodes[4] = {};  // card_testing, account_takeover, high_amount, velocity
  uint64_t disordered = 0;
  uint64_t late = 0;
  uint64_t malformed = 0;
  uint64_t bytes = 0;
  uint64_t labels = 0;
};

// Receives output in chunks of whole lines (about 1 MiB each).
using Sink = std::function<void(std::string_view chunk)>;

// Generates the stream `o` describes into `out` (the CSV starts with its
// header) and, when o.labels is set, the labels into `labels` in label_time
// order after the whole stream.
Stats Generate(const Options& o, const Sink& out, const Sink& labels);

// The CSV header line, without its newline.
std::string_view CsvHeader();

// The schema the transactions validate against, as the lines of a pipeline
// source from `schema:` to `id: tx_id` (indented for an entry of `sources:`):
// every well-formed record is accepted, the broken ones are dead letters.
std::string_view TxSchemaYaml();

// A whole source entry `- name: tx` reading `path` in `format` (jsonl or
// csv) with that schema and watermark {max_out_of_orderness: 5s,
// allowed_lateness: 1m}: what `eddy-datagen --source` prints.
std::string TxSourceYaml(std::string_view format, std::string_view path);

}  // namespace eddy::datagen

#endif  // EDDY_TOOLS_DATAGEN_GENERATOR_H_
