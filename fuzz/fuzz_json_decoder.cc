// Fuzzes the JSON-lines decoder and the schema checks on one record.
//
// The input is one record (any bytes), copied into a buffer with exactly
// kRecordPadding spare bytes so ASan catches any read past the contract. It is
// decoded against a schema with every field type and rule, twice: with
// unknown_fields ignore and reject.
//
// Property (replay equals live): a record that passes decoding and the schema
// is written back as JSON the way outputs write it (AppendValueJson), decoded
// again, and must give exactly the same row.

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/json_writer.h"
#include "base/strings.h"
#include "fuzz/fuzz_util.h"
#include "ingest/decoder.h"
#include "ingest/schema.h"

namespace eddy::fuzz {
namespace {

struct Target {
  SourceSpec spec;
  Schema schema;
  std::unique_ptr<Decoder> decoder;
};

Target MakeTarget(UnknownFieldPolicy unknown) {
  SourceSpec spec = FuzzSourceSpec(SourceFormat::kJsonLines, unknown);
  auto schema = Schema::Create(spec);
  if (!schema.ok()) {
    std::fprintf(stderr, "%s\n", schema.status().ToString().c_str());
    std::abort();
  }
  return Target{std::move(spec), std::move(schema).value(), nullptr};
}

std::string DescribeRow(const Row& row) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += ", ";
    AppendValueJson(out, row, i);
  }
  return out;
}

// The row as a JSON object, in the form the decoder reads back. Epoch
// timestamps that are not whole units are left out (null): their text form
// in seconds would not be exact.
std::string RowToJson(const Schema& schema, const Row& row) {
  std::string out = "{";
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += ",";
    const FieldSpec& f = schema.field(i);
    AppendJsonString(out, f.name);
    out += ":";
    const Value& v = row[i];
    if (f.type == FieldType::kTimestamp && f.timestamp_format != TimestampFormat::kIso8601 &&
        !v.is_null()) {
      int64_t us = v.timestamp_value().micros();
      int64_t unit = f.timestamp_format == TimestampFormat::kEpochMillis ? 1000 : 1000000;
      if (us % unit == 0) {
        AppendInt(out, us / unit);
      } else {
        out += "null";
      }
      continue;
    }
    AppendValueJson(out, row, i);
  }
  out += "}";
  return out;
}

bool SameValue(const Row& a, const Row& b, size_t i) {
  const Value& x = a[i];
  const Value& y = b[i];
  if (x.kind() != y.kind()) return false;
  switch (x.kind()) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return x.bool_value() == y.bool_value();
    case Value::Kind::kInt:
      return x.int_value() == y.int_value();
    case Value::Kind::kDouble:
      return x.double_value() == y.double_value();
    case Value::Kind::kTimestamp:
      return x.timestamp_value() == y.timestamp_value();
    case Value::Kind::kString:
      return a.GetString(i) == b.GetString(i);
  }
  return false;
}

void CheckRoundTrip(Target& t, std::string_view input, const Row& row) {
  std::string json = RowToJson(t.schema, row);
  if (Verbose()) std::fprintf(stderr, "accepted: %s\n", json.c_str());
  PaddedBuffer again(json);
  Row row2;
  DecodeError err;
  bool ok = t.decoder->Decode(again.view(), row2, err) && t.schema.Check(row2, err);
  FUZZ_CHECK(ok, StrCat("input: ", Quote(input, 400), "\nrewritten: ", Quote(json, 400),
                        "\nerror: ", err.code, ": ", err.message));
  for (size_t i = 0; i < row.size(); ++i) {
    const FieldSpec& f = t.schema.field(i);
    if (f.type == FieldType::kTimestamp && f.timestamp_format != TimestampFormat::kIso8601 &&
        !row[i].is_null()) {
      int64_t unit = f.timestamp_format == TimestampFormat::kEpochMillis ? 1000 : 1000000;
      if (row[i].timestamp_value().micros() % unit != 0) continue;  // written as null
    }
    FUZZ_CHECK(SameValue(row, row2, i),
               StrCat("field ", f.name, " differs after a round trip\ninput: ", Quote(input, 400),
                      "\nrewritten: ", Quote(json, 400), "\nfirst:  ", DescribeRow(row),
                      "\nsecond: ", DescribeRow(row2)));
  }
}

}  // namespace
}  // namespace eddy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eddy;
  using namespace eddy::fuzz;
  static Target* ignore = [] {
    auto* t = new Target(MakeTarget(UnknownFieldPolicy::kIgnore));
    t->decoder = MakeJsonDecoder(t->schema);
    return t;
  }();
  static Target* reject = [] {
    auto* t = new Target(MakeTarget(UnknownFieldPolicy::kReject));
    t->decoder = MakeJsonDecoder(t->schema);
    return t;
  }();

  std::string_view input(reinterpret_cast<const char*>(data), size);
  PaddedBuffer buf(input);
  Row row;
  for (Target* t : {ignore, reject}) {
    DecodeError err;
    bool ok = t->decoder->Decode(buf.view(), row, err);
    if (ok) ok = t->schema.Check(row, err);
    if (!ok) {
      FUZZ_CHECK(!err.code.empty(), StrCat("rejected without an error code: ", Quote(input, 400)));
      if (Verbose())
        std::fprintf(stderr, "rejected: %s: %s\n", std::string(err.code).c_str(),
                     err.message.c_str());
      continue;
    }
    FUZZ_CHECK(row.size() == t->schema.num_fields(), "row width");
    // The engine reads the event time of every accepted record.
    FUZZ_CHECK(
        row[static_cast<size_t>(t->schema.event_time_index())].kind() == Value::Kind::kTimestamp,
        Quote(input, 400));
    CheckRoundTrip(*t, input, row);
  }
  return 0;
}
