// Fuzzes the CSV decoder and the schema checks.
//
// The input is a small CSV file: its first line is the header, every later
// line a record (split at '\n' with a trailing '\r' removed, as the file
// source does for records without quoted newlines). Each record is copied
// into its own buffer with exactly kRecordPadding spare bytes. Two dialects
// are run over the same input: the default (',' and '"') and ';' with '\''.

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/strings.h"
#include "fuzz/fuzz_util.h"
#include "ingest/decoder.h"
#include "ingest/schema.h"

namespace eddy::fuzz {
namespace {

struct Target {
  SourceSpec spec;
  Schema schema;
};

Target* MakeTarget(UnknownFieldPolicy unknown, char delimiter, char quote) {
  SourceSpec spec = FuzzSourceSpec(SourceFormat::kCsv, unknown);
  spec.csv.delimiter = delimiter;
  spec.csv.quote = quote;
  auto schema = Schema::Create(spec);
  if (!schema.ok()) {
    std::fprintf(stderr, "%s\n", schema.status().ToString().c_str());
    std::abort();
  }
  return new Target{std::move(spec), std::move(schema).value()};
}

void RunFile(const Target& t, std::string_view input) {
  // A decoder per file, as the engine keeps one per partition.
  std::unique_ptr<Decoder> decoder = MakeCsvDecoder(t.schema, t.spec.csv);
  FUZZ_CHECK(decoder->has_header(), "csv decoders read a header");
  PaddedBuffer buf;
  Row row;
  bool first = true;
  size_t pos = 0;
  while (pos <= input.size()) {
    size_t nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    std::string_view line = input.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) continue;  // blank lines are skipped, as the engine does
    buf.Assign(line);
    DecodeError err;
    if (first) {
      first = false;
      if (!decoder->ReadHeader(buf.view(), err)) {
        FUZZ_CHECK(!err.code.empty(), "header rejected without an error code");
      }
      continue;
    }
    bool ok = decoder->Decode(buf.view(), row, err);
    if (ok) ok = t.schema.Check(row, err);
    if (!ok) {
      FUZZ_CHECK(!err.code.empty(),
                 StrCat("record rejected without an error code: ", Quote(line, 400)));
      if (Verbose())
        std::fprintf(stderr, "rejected: %s: %s\n", std::string(err.code).c_str(),
                     err.message.c_str());
      continue;
    }
    FUZZ_CHECK(row.size() == t.schema.num_fields(), "row width");
    FUZZ_CHECK(
        row[static_cast<size_t>(t.schema.event_time_index())].kind() == Value::Kind::kTimestamp,
        Quote(line, 400));
    // Outputs write every value of an accepted row; this must not misbehave.
    std::string json;
    for (size_t i = 0; i < row.size(); ++i) AppendValueJson(json, row, i);
    if (Verbose()) std::fprintf(stderr, "accepted: %s\n", json.c_str());
  }
}

}  // namespace
}  // namespace eddy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eddy::fuzz;
  static Target* standard = MakeTarget(eddy::UnknownFieldPolicy::kIgnore, ',', '"');
  static Target* semicolon = MakeTarget(eddy::UnknownFieldPolicy::kReject, ';', '\'');
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RunFile(*standard, input);
  RunFile(*semicolon, input);
  return 0;
}
