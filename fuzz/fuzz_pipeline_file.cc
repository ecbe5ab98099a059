// Fuzzes the pipeline-file loader (yaml-cpp plus our option table and
// validation) on arbitrary YAML.
//
// When a file loads, the engine's planning step runs on every source (schema
// compilation, filter compilation against the fields) and a few records built
// from the source's own declared fields are pushed through the real
// SourcePipeline, with outcomes formatted as the outputs write them. So a
// configuration the loader accepts can never crash the engine afterwards.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/json_writer.h"
#include "base/strings.h"
#include "engine/record_json.h"
#include "engine/source_pipeline.h"
#include "fuzz/fuzz_util.h"

namespace eddy::fuzz {
namespace {

class FormattingHandler final : public RecordHandler {
 public:
  void OnAccepted(const SourcePipeline& source, const RawRecord& rec, const Row& row,
                  EventTime t) override {
    out_.clear();
    AppendAcceptedJson(out_, source, rec, row, t);
  }
  void OnLate(const SourcePipeline& source, const RawRecord& rec, const Row& row, EventTime t,
              const WatermarkTracker::Admission& a) override {
    out_.clear();
    AppendLateJson(out_, source, rec, row, t, a);
  }
  void OnDeadLetter(const SourcePipeline& source, const RawRecord& rec,
                    const DecodeError& err) override {
    out_.clear();
    FUZZ_CHECK(!err.code.empty(), "dead letter without an error code");
    if (rec.is_header) ++header_dead_letters;
    AppendDeadLetterJson(out_, source, rec, err, "fuzz:1");
  }

  uint64_t header_dead_letters = 0;

 private:
  std::string out_;
};

// A plausible value of `f` at `seconds` past 2024-05-01T00:00:00Z, as JSON
// text (json) or as a CSV cell (csv, unquoted).
std::string SampleValue(const FieldSpec& f, int64_t seconds, bool json) {
  if (!f.allowed.empty()) {
    if (f.type == FieldType::kInt || !json) return f.allowed.front();
    std::string s;
    AppendJsonString(s, f.allowed.front());
    return s;
  }
  switch (f.type) {
    case FieldType::kString:
      return json ? "\"u1\"" : "u1";
    case FieldType::kInt:
    case FieldType::kDouble: {
      // Inside the declared range when there is one.
      double v = f.min && f.max ? *f.min / 2 + *f.max / 2
                 : f.min        ? *f.min + 1
                 : f.max        ? *f.max - 1
                                : 12.5;
      if (f.type == FieldType::kDouble) return StrCat(v);
      if (!(v > -9.2e18 && v < 9.2e18)) return "7";  // also NaN
      return StrCat(static_cast<int64_t>(std::ceil(v)));
    }
    case FieldType::kBool:
      return "true";
    case FieldType::kTimestamp: {
      int64_t t = 1714521600 + seconds;
      if (f.timestamp_format == TimestampFormat::kEpochSeconds) return StrCat(t);
      if (f.timestamp_format == TimestampFormat::kEpochMillis) return StrCat(t * 1000);
      std::string iso = FormatIso8601(EventTime::FromMicros(t * 1000000));
      return json ? StrCat("\"", iso, "\"") : iso;
    }
  }
  return "null";
}

std::string CsvCell(std::string_view text, const CsvSpec& csv) {
  std::string out(1, csv.quote);
  for (char c : text) {
    if (c == csv.quote) out.push_back(c);
    out.push_back(c);
  }
  out.push_back(csv.quote);
  return out;
}

// Records for `spec`: a header for CSV, then records at increasing and then
// very old event times (late), an empty object and garbage.
std::vector<std::string> SampleRecords(const SourceSpec& spec) {
  std::vector<std::string> out;
  const bool csv = spec.format == SourceFormat::kCsv;
  if (csv) {
    std::string header;
    for (size_t i = 0; i < spec.fields.size(); ++i) {
      if (i > 0) header.push_back(spec.csv.delimiter);
      header += CsvCell(spec.fields[i].name, spec.csv);
    }
    out.push_back(header);
  }
  for (int64_t seconds : {60, 3600, 7200, 0, -86400}) {
    std::string rec = csv ? "" : "{";
    for (size_t i = 0; i < spec.fields.size(); ++i) {
      const FieldSpec& f = spec.fields[i];
      if (csv) {
        if (i > 0) rec.push_back(spec.csv.delimiter);
        rec += CsvCell(SampleValue(f, seconds, false), spec.csv);
      } else {
        if (i > 0) rec += ",";
        AppendJsonString(rec, f.name);
        rec += ":";
        rec += SampleValue(f, seconds, true);
      }
    }
    if (!csv) rec += "}";
    out.push_back(rec);
  }
  out.push_back(csv ? std::string(1, spec.csv.delimiter) : "{}");
  out.push_back("\xff not a record");
  return out;
}

}  // namespace
}  // namespace eddy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eddy;
  using namespace eddy::fuzz;
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto spec = ParsePipeline(yaml, "fuzz.yaml", "/nonexistent");
  if (!spec.ok()) {
    FUZZ_CHECK(!spec.status().message().empty(), "an error without a message");
    if (Verbose()) std::fprintf(stderr, "rejected:\n%s\n", spec.status().message().c_str());
    return 0;
  }
  FUZZ_CHECK(!spec->sources.empty(), "a valid pipeline has a source");
  for (const SourceSpec& s : spec->sources) {
    auto pipeline = SourcePipeline::Create(s);
    if (!pipeline.ok()) {
      if (Verbose()) std::fprintf(stderr, "plan failed: %s\n", pipeline.status().message().c_str());
      continue;
    }
    SourcePipeline& p = **pipeline;
    p.Attach(1, ProcessingTime::FromMicros(0));
    FormattingHandler handler;
    PaddedBuffer buf;
    int64_t offset = 0;
    for (const std::string& text : SampleRecords(s)) {
      buf.Assign(text);
      RawRecord rec;
      rec.partition = Partition(0);
      rec.offset = Offset(offset);
      rec.bytes = buf.view();
      rec.size = text.size();
      rec.is_header = s.format == SourceFormat::kCsv && offset == 0;
      p.Process(rec, ProcessingTime::FromMicros(offset * 1000), handler);
      ++offset;
    }
    p.EndPartition(Partition(0));
    FUZZ_CHECK(p.watermark().is_end_of_time(), "watermark after the only partition ended");
    const SourceCounters& c = p.counters();
    if (Verbose()) {
      std::fprintf(stderr,
                   "source %s: records %llu accepted %llu late %llu dead %llu filtered %llu\n",
                   s.name.c_str(), (unsigned long long)c.records, (unsigned long long)c.accepted,
                   (unsigned long long)c.late, (unsigned long long)c.dead_letter,
                   (unsigned long long)c.filtered);
    }
    // A rejected header counts as a header and as a dead letter.
    FUZZ_CHECK(c.records + handler.header_dead_letters ==
                   c.accepted + c.late + c.dead_letter + c.filtered + c.blank + c.headers,
               StrCat("counters do not add up: records ", c.records, " accepted ", c.accepted,
                      " late ", c.late, " dead ", c.dead_letter, " filtered ", c.filtered,
                      " blank ", c.blank, " headers ", c.headers));
  }
  return 0;
}
