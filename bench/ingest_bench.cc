// Ingest benchmarks: the real per-record path of a source, single thread.
//
// Records are card transactions from the eddy-datagen generator (the same
// bytes `eddy-datagen --events 100000 --malformed 0 --late 0` writes, ~240
// bytes each in JSON, ~100 in CSV), validated against the schema documented
// by eddy-datagen (datagen::TxSourceYaml). Disorder stays at its default (2% within 5s),
// which the watermark absorbs, so every record is accepted.
//
//   BM_SimdjsonIterate/jsonl      baseline: simdjson On Demand walks every
//                                 field of every record (keys and raw value
//                                 tokens), no schema work
//   BM_SimdjsonTyped/jsonl        baseline: hand-written decoding of this one
//                                 schema with simdjson (typed values, no
//                                 checks): what a specialised decoder costs
//   BM_Decode/<format>            Decoder::Decode + Schema::Check
//   BM_SourcePipeline/<format>    SourcePipeline::Process (decode, checks,
//                                 event time, watermark, lateness, counters)
//                                 over records already in memory
//   BM_FileSource/<format>        the same fed by FileSource reading a file
//                                 (in the page cache): framing + the above
//
// Throughput is reported as items (records) and bytes per second.
// scripts/bench.sh builds and runs this; BENCHMARKS.md records results.

#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline.h"
#include "engine/source_pipeline.h"
#include "ingest/decoder.h"
#include "ingest/schema.h"
#include "ingest/source.h"
#include "tools/datagen/generator.h"

namespace eddy {
namespace {

constexpr size_t kRecords = 100000;

// Temporary files to remove at exit.
std::vector<std::string>& TempFiles() {
  static std::vector<std::string> files;
  return files;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "ingest_bench: %s\n", msg.c_str());
  std::exit(1);
}

// Records of one format, back to back and newline-separated in one padded
// buffer, as a file source frames them; views of each record (without its
// newline). The CSV header is separate.
struct Dataset {
  std::string text;  // the generator's output, plus kRecordPadding bytes
  std::string header;
  std::vector<std::string_view> records;
  uint64_t record_bytes = 0;  // sum of record sizes, newline included
  std::string file;           // the same bytes written to a temporary file
};

const Dataset& GetDataset(bool csv) {
  static Dataset* sets[2] = {nullptr, nullptr};
  Dataset*& d = sets[csv ? 1 : 0];
  if (d != nullptr) return *d;
  d = new Dataset;
  datagen::Options o;
  o.events = kRecords;
  o.csv = csv;
  o.malformed = 0;
  o.late = 0;
  datagen::Generate(
      o, [&](std::string_view chunk) { d->text.append(chunk); }, [](std::string_view) {});
  const size_t size = d->text.size();
  d->text.append(kRecordPadding, '\0');
  std::string_view all(d->text.data(), size);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    std::string_view line = all.substr(pos, nl - pos);
    if (csv && d->header.empty()) {
      d->header = std::string(line);
    } else {
      d->records.push_back(line);
      d->record_bytes += line.size() + 1;
    }
    pos = nl + 1;
  }
  const char* tmp = std::getenv("TMPDIR");
  d->file = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/eddy_ingest_bench_" +
            std::to_string(::getpid()) + (csv ? ".csv" : ".jsonl");
  FILE* f = std::fopen(d->file.c_str(), "wb");
  if (f == nullptr || std::fwrite(all.data(), 1, all.size(), f) != all.size() ||
      std::fclose(f) != 0) {
    Die("cannot write " + d->file);
  }
  TempFiles().push_back(d->file);
  return *d;
}

SourceSpec MakeSpec(bool csv, const std::string& path) {
  // The transaction source eddy-datagen documents.
  std::string yaml = "sources:\n" + datagen::TxSourceYaml(csv ? "csv" : "jsonl", path) +
                     "outputs: {late: late.jsonl, dead_letter: dead_letter.jsonl}\n";
  auto spec = ParsePipeline(yaml, "ingest_bench.yaml", "/");
  if (!spec.ok()) Die(spec.status().ToString());
  return spec->sources.at(0);
}

// Counts outcomes; touches the row so the work cannot be optimised away.
class CountingHandler final : public RecordHandler {
 public:
  void OnAccepted(const SourcePipeline&, const RawRecord&, const Row& row, EventTime t) override {
    ++accepted;
    benchmark::DoNotOptimize(t);
    benchmark::DoNotOptimize(row.size());
  }
  void OnLate(const SourcePipeline&, const RawRecord&, const Row&, EventTime,
              const WatermarkTracker::Admission&) override {
    ++late;
  }
  void OnDeadLetter(const SourcePipeline&, const RawRecord&, const DecodeError& err) override {
    ++dead;
    if (first_error.empty()) first_error = std::string(err.code) + ": " + err.message;
  }
  uint64_t accepted = 0, late = 0, dead = 0;
  std::string first_error;
};

void CheckAllAccepted(benchmark::State& state, const CountingHandler& h, uint64_t expected) {
  if (h.accepted != expected || h.late != 0 || h.dead != 0) {
    state.SkipWithError(("expected every record accepted; accepted " + std::to_string(h.accepted) +
                         " of " + std::to_string(expected) + ", late " + std::to_string(h.late) +
                         ", dead letters " + std::to_string(h.dead) + " (" + h.first_error + ")")
                            .c_str());
  }
}

void SetThroughput(benchmark::State& state, const Dataset& d) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.records.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.record_bytes));
  state.counters["record_bytes"] =
      static_cast<double>(d.record_bytes) / static_cast<double>(d.records.size());
}

// ---------------------------------------------------------------------------
// Baselines: simdjson alone.

void BM_SimdjsonIterate(benchmark::State& state) {
  const Dataset& d = GetDataset(false);
  simdjson::ondemand::parser parser;
  uint64_t fields = 0;
  for (auto _ : state) {
    for (std::string_view rec : d.records) {
      simdjson::ondemand::document doc;
      if (parser.iterate(rec.data(), rec.size(), rec.size() + kRecordPadding).get(doc)) {
        state.SkipWithError("parse error");
        return;
      }
      simdjson::ondemand::object obj;
      if (doc.get_object().get(obj)) {
        state.SkipWithError("not an object");
        return;
      }
      for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) {
          state.SkipWithError("bad key");
          return;
        }
        std::string_view raw = field.value().raw_json_token();
        benchmark::DoNotOptimize(key.data());
        benchmark::DoNotOptimize(raw.data());
        ++fields;
      }
    }
  }
  benchmark::DoNotOptimize(fields);
  SetThroughput(state, d);
}
BENCHMARK(BM_SimdjsonIterate)->Name("BM_SimdjsonIterate/jsonl")->Unit(benchmark::kMillisecond);

// Decodes this schema by hand: keys matched in declared order, strings
// unescaped, the amount as a double, the timestamp parsed. No checks.
void BM_SimdjsonTyped(benchmark::State& state) {
  const Dataset& d = GetDataset(false);
  simdjson::ondemand::parser parser;
  double sum = 0;
  int64_t time_sum = 0;
  uint64_t errors = 0;
  for (auto _ : state) {
    for (std::string_view rec : d.records) {
      simdjson::ondemand::document doc;
      simdjson::ondemand::object obj;
      if (parser.iterate(rec.data(), rec.size(), rec.size() + kRecordPadding).get(doc) ||
          doc.get_object().get(obj)) {
        state.SkipWithError("parse error");
        return;
      }
      for (auto field : obj) {
        std::string_view key;
        errors += field.unescaped_key().get(key) != simdjson::SUCCESS;
        simdjson::ondemand::value v = field.value();
        if (key == "amount") {
          double a = 0;
          errors += v.get_double().get(a) != simdjson::SUCCESS;
          sum += a;
        } else if (key == "ts") {
          std::string_view s;
          errors += v.get_string().get(s) != simdjson::SUCCESS;
          auto t = ParseIso8601(s);
          if (t.ok()) time_sum += t->micros();
        } else if (key == "device_id") {
          bool is_null = false;
          if (!v.is_null().get(is_null) && !is_null) {
            std::string_view s;
            errors += v.get_string().get(s) != simdjson::SUCCESS;
            benchmark::DoNotOptimize(s.data());
          }
        } else {
          std::string_view s;
          errors += v.get_string().get(s) != simdjson::SUCCESS;
          benchmark::DoNotOptimize(s.data());
        }
      }
    }
  }
  benchmark::DoNotOptimize(sum);
  benchmark::DoNotOptimize(time_sum);
  if (errors != 0) state.SkipWithError("simdjson reported errors");
  SetThroughput(state, d);
}
BENCHMARK(BM_SimdjsonTyped)->Name("BM_SimdjsonTyped/jsonl")->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// Eddy.

void BM_Decode(benchmark::State& state, bool csv) {
  const Dataset& d = GetDataset(csv);
  SourceSpec spec = MakeSpec(csv, d.file);
  auto schema = Schema::Create(spec);
  if (!schema.ok()) Die(schema.status().ToString());
  std::unique_ptr<Decoder> decoder = MakeDecoder(spec, *schema);
  DecodeError err;
  if (csv && !decoder->ReadHeader(d.header, err)) Die(err.message);
  Row row;
  for (auto _ : state) {
    for (std::string_view rec : d.records) {
      if (!decoder->Decode(rec, row, err) || !schema->Check(row, err)) {
        state.SkipWithError(("rejected: " + err.message).c_str());
        return;
      }
    }
    benchmark::DoNotOptimize(row.size());
  }
  SetThroughput(state, d);
}
BENCHMARK_CAPTURE(BM_Decode, jsonl, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, csv, true)->Unit(benchmark::kMillisecond);

void BM_SourcePipeline(benchmark::State& state, bool csv) {
  const Dataset& d = GetDataset(csv);
  SourceSpec spec = MakeSpec(csv, d.file);
  auto created = SourcePipeline::Create(spec);
  if (!created.ok()) Die(created.status().ToString());
  SourcePipeline& pipeline = **created;
  std::vector<RawRecord> records;
  RawRecord header;
  header.partition = Partition(0);
  header.offset = Offset(0);
  header.bytes = d.header;
  header.size = d.header.size();
  header.is_header = true;
  for (size_t i = 0; i < d.records.size(); ++i) {
    RawRecord r;
    r.partition = Partition(0);
    r.offset = Offset(static_cast<int64_t>(i) + (csv ? 1 : 0));
    r.bytes = d.records[i];
    r.size = d.records[i].size();
    records.push_back(r);
  }
  const ProcessingTime now = ProcessingTime::FromMicros(1714521600LL * 1000000);
  std::string header_padded = d.header + std::string(kRecordPadding, '\0');
  header.bytes = std::string_view(header_padded.data(), d.header.size());
  CountingHandler handler;
  for (auto _ : state) {
    // A fresh watermark per pass: the same records again would all be late.
    state.PauseTiming();
    pipeline.Attach(1, now);
    handler = CountingHandler();
    if (csv) pipeline.Process(header, now, handler);
    state.ResumeTiming();
    for (const RawRecord& r : records) pipeline.Process(r, now, handler);
  }
  CheckAllAccepted(state, handler, records.size());
  SetThroughput(state, d);
}
BENCHMARK_CAPTURE(BM_SourcePipeline, jsonl, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SourcePipeline, csv, true)->Unit(benchmark::kMillisecond);

void BM_FileSource(benchmark::State& state, bool csv) {
  const Dataset& d = GetDataset(csv);
  SourceSpec spec = MakeSpec(csv, d.file);
  auto created = SourcePipeline::Create(spec);
  if (!created.ok()) Die(created.status().ToString());
  SourcePipeline& pipeline = **created;
  const ProcessingTime now = ProcessingTime::FromMicros(1714521600LL * 1000000);
  CountingHandler handler;
  PollBatch batch;
  for (auto _ : state) {
    handler = CountingHandler();
    std::unique_ptr<Source> source = MakeFileSource(spec);
    Status s = source->Open();
    if (!s.ok()) Die(s.ToString());
    pipeline.Attach(source->num_partitions(), now);
    while (!source->AtEnd()) {
      s = source->Poll(1024, Duration::Zero(), batch);
      if (!s.ok()) Die(s.ToString());
      for (const RawRecord& r : batch.records) pipeline.Process(r, now, handler);
      for (Partition p : batch.ended) pipeline.EndPartition(p);
    }
  }
  CheckAllAccepted(state, handler, d.records.size());
  SetThroughput(state, d);
}
BENCHMARK_CAPTURE(BM_FileSource, jsonl, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FileSource, csv, true)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
#define EDDY_BENCH_STR2(x) #x
#define EDDY_BENCH_STR(x) EDDY_BENCH_STR2(x)
  // The On Demand kernel is chosen at compile time from the target flags; the
  // baselines here and Eddy's decoder are compiled with the same flags.
  benchmark::AddCustomContext("simdjson_kernel", EDDY_BENCH_STR(SIMDJSON_BUILTIN_IMPLEMENTATION));
  benchmark::AddCustomContext("records_per_pass", std::to_string(eddy::kRecords));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const std::string& f : eddy::TempFiles()) std::remove(f.c_str());
  return 0;
}
