// JSON-lines decoding with simdjson On Demand. simdjson enters Eddy here.
// Each record is iterated in place (no copy: sources pad their buffers), the
// object's fields are matched to the schema by name, and each declared field
// is converted straight to its declared type. Undeclared fields are skipped
// without being materialised.
//
// simdjson is used without exceptions: every result is checked with get(),
// so a malformed record can only ever become a DecodeError. (With exceptions
// on, an unchecked simdjson_result converts implicitly and throws on bad
// input; that once let `{"n":nul}` abort the engine.)

#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <charconv>
#include <cmath>

#include "base/strings.h"
#include "ingest/convert.h"
#include "ingest/decoder.h"

namespace eddy {
namespace {

static_assert(kRecordPadding >= simdjson::SIMDJSON_PADDING);

// Deepest nesting walked inside an undeclared value. The record's object and
// the field add two levels, and simdjson's own limit (which its debug builds
// assert on) must never be reached.
constexpr int kMaxSkippedDepth = 512;
static_assert(kMaxSkippedDepth + 2 < simdjson::DEFAULT_MAX_DEPTH);

std::string_view JsonTypeName(simdjson::ondemand::json_type t) {
  using simdjson::ondemand::json_type;
  switch (t) {
    case json_type::array:
      return "an array";
    case json_type::object:
      return "an object";
    case json_type::number:
      return "a number";
    case json_type::string:
      return "a string";
    case json_type::boolean:
      return "a bool";
    case json_type::null:
      return "null";
  }
  return "something else";
}

// True if `token` is a well-formed JSON number too large for a double.
bool IsOutOfRangeNumber(std::string_view token) {
  std::string_view t = Trim(token);
  double v;
  auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  return r.ec == std::errc::result_out_of_range && r.ptr == t.data() + t.size();
}

// True if `token` is a JSON integer (digits, optional minus), of any size.
bool IsIntegerToken(std::string_view token) {
  std::string_view t = Trim(token);
  if (!t.empty() && t[0] == '-') t.remove_prefix(1);
  if (t.empty()) return false;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

class JsonDecoder final : public Decoder {
 public:
  explicit JsonDecoder(const Schema& schema) : schema_(schema), seen_(schema.num_fields()) {}

  bool Decode(std::string_view bytes, Row& row, DecodeError& err) override {
    row.Reset(schema_.num_fields());
    std::fill(seen_.begin(), seen_.end(), 0);
    simdjson::ondemand::document doc;
    auto error =
        parser_.iterate(bytes.data(), bytes.size(), bytes.size() + kRecordPadding).get(doc);
    if (error) return Invalid(error, err);
    simdjson::ondemand::object obj;
    error = doc.get_object().get(obj);
    if (error) {
      if (error == simdjson::INCORRECT_TYPE) return NotAnObject(doc, bytes, err);
      return Invalid(error, err);
    }
    int hint = 0;
    for (auto field_result : obj) {
      simdjson::ondemand::field field;
      if ((error = std::move(field_result).get(field))) return Invalid(error, err);
      std::string_view key;
      if ((error = field.unescaped_key().get(key))) return Invalid(error, err);
      int idx = schema_.Lookup(key, hint);
      if (idx < 0) {
        if (schema_.unknown_fields() == UnknownFieldPolicy::kReject) {
          err.Set("unknown_field", std::string(key),
                  StrCat("field ", Quote(key), " is not in the schema (unknown_fields: reject)"));
          return false;
        }
        // simdjson's first stage validates strings and UTF-8 but neither
        // literals nor the structure inside values it is asked to skip
        // (`[1,,2]`, `[}`): walk undeclared values, so malformed JSON is
        // never accepted.
        simdjson::ondemand::value skipped = field.value();
        if (!CheckSkipped(skipped, key, 0, err)) return false;
        continue;
      }
      hint = idx + 1;
      if (seen_[idx]) {
        err.Set("duplicate_field", std::string(key),
                StrCat("field ", Quote(key), " appears twice"));
        return false;
      }
      seen_[idx] = 1;
      simdjson::ondemand::value value = field.value();
      if (!ConvertValue(value, static_cast<size_t>(idx), row, err)) return false;
    }
    // simdjson 3.0 has no document::at_end(): current_location() fails
    // exactly when the whole input has been consumed.
    const char* trailing;
    if (!doc.current_location().get(trailing)) {
      err.Set("invalid_json", "", "unexpected text after the JSON object");
      return false;
    }
    return true;
  }

 private:
  bool Invalid(simdjson::error_code error, DecodeError& err) {
    if (error == simdjson::UTF8_ERROR) {
      err.Set("invalid_utf8", "", "the record is not valid UTF-8");
    } else {
      err.Set("invalid_json", "", StrCat("not valid JSON: ", simdjson::error_message(error)));
    }
    return false;
  }

  // The document is valid JSON of another type, or not JSON at all.
  bool NotAnObject(simdjson::ondemand::document& doc, std::string_view bytes, DecodeError& err) {
    simdjson::ondemand::json_type t;
    bool valid = false;
    if (!doc.type().get(t)) {
      switch (t) {
        case simdjson::ondemand::json_type::array:
        case simdjson::ondemand::json_type::object:
          valid = true;
          break;
        case simdjson::ondemand::json_type::null: {
          bool is_null = false;
          valid = !doc.is_null().get(is_null) && is_null;
          break;
        }
        case simdjson::ondemand::json_type::boolean: {
          bool b;
          valid = !doc.get_bool().get(b);
          break;
        }
        case simdjson::ondemand::json_type::number: {
          double d;
          valid = !doc.get_double().get(d);
          break;
        }
        case simdjson::ondemand::json_type::string: {
          std::string_view s;
          valid = !doc.get_string().get(s);
          break;
        }
      }
    }
    if (!valid) {
      err.Set("invalid_json", "", StrCat("not valid JSON: ", Quote(Trim(bytes), 40)));
      return false;
    }
    err.Set("not_an_object", "", StrCat("expected a JSON object, got ", JsonTypeName(t)));
    return false;
  }

  // Validates an undeclared value (of field `key`) without keeping it.
  // Containers are walked recursively up to kMaxSkippedDepth levels.
  bool CheckSkipped(simdjson::ondemand::value& value, std::string_view key, int depth,
                    DecodeError& err) {
    simdjson::ondemand::json_type type;
    auto error = value.type().get(type);
    if (error) return Invalid(error, err);
    bool ok = true;
    switch (type) {
      case simdjson::ondemand::json_type::array: {
        if (depth >= kMaxSkippedDepth) return TooDeep(key, err);
        simdjson::ondemand::array array;
        if ((error = value.get_array().get(array))) return Invalid(error, err);
        for (auto element_result : array) {
          simdjson::ondemand::value element;
          if ((error = std::move(element_result).get(element))) return Invalid(error, err);
          if (!CheckSkipped(element, key, depth + 1, err)) return false;
        }
        return true;
      }
      case simdjson::ondemand::json_type::object: {
        if (depth >= kMaxSkippedDepth) return TooDeep(key, err);
        simdjson::ondemand::object object;
        if ((error = value.get_object().get(object))) return Invalid(error, err);
        for (auto field_result : object) {
          simdjson::ondemand::field field;
          if ((error = std::move(field_result).get(field))) return Invalid(error, err);
          std::string_view nested_key;
          if ((error = field.unescaped_key().get(nested_key))) return Invalid(error, err);
          if (!CheckSkipped(field.value(), key, depth + 1, err)) return false;
        }
        return true;
      }
      case simdjson::ondemand::json_type::number: {
        double d;
        error = value.get_double().get(d);
        ok = !error || IsOutOfRangeNumber(value.raw_json_token());
        break;
      }
      case simdjson::ondemand::json_type::boolean: {
        bool b;
        ok = !value.get_bool().get(b);
        break;
      }
      case simdjson::ondemand::json_type::null: {
        bool is_null = false;
        ok = !value.is_null().get(is_null) && is_null;
        break;
      }
      case simdjson::ondemand::json_type::string: {
        std::string_view s;
        ok = !value.get_string().get(s);
        break;
      }
    }
    if (!ok) {
      err.Set("invalid_json", std::string(key),
              StrCat("field ", Quote(key), ": malformed value ",
                     Quote(Trim(value.raw_json_token()), 40)));
    }
    return ok;
  }

  bool TooDeep(std::string_view key, DecodeError& err) {
    err.Set("invalid_json", std::string(key),
            StrCat("field ", Quote(key), ": nested more than ", kMaxSkippedDepth, " levels deep"));
    return false;
  }

  bool ConvertValue(simdjson::ondemand::value& value, size_t idx, Row& row, DecodeError& err) {
    const FieldSpec& f = schema_.field(idx);
    simdjson::ondemand::json_type type;
    auto error = value.type().get(type);
    if (error) return Invalid(error, err);
    if (type == simdjson::ondemand::json_type::null) {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null) {  // consumes the token; "nul" etc. fail here
        err.Set("invalid_json", f.name, StrCat("field ", Quote(f.name), ": invalid literal"));
        return false;
      }
      return true;  // row already holds null
    }
    auto wrong = [&](std::string_view expected) {
      std::string_view raw = value.raw_json_token();
      err.Set("wrong_type", f.name,
              StrCat("field ", Quote(f.name), ": expected ", expected, ", got ", JsonTypeName(type),
                     " ", Quote(Trim(raw), 40)));
      return false;
    };
    switch (f.type) {
      case FieldType::kString: {
        if (type != simdjson::ondemand::json_type::string) return wrong("a string");
        std::string_view s;
        if ((error = value.get_string().get(s))) return Invalid(error, err);
        row.SetString(idx, s);
        return true;
      }
      case FieldType::kInt: {
        if (type != simdjson::ondemand::json_type::number) return wrong("an int");
        int64_t v;
        error = value.get_int64().get(v);
        if (error == simdjson::NUMBER_OUT_OF_RANGE ||
            (error == simdjson::INCORRECT_TYPE && IsIntegerToken(value.raw_json_token()))) {
          err.Set("out_of_range", f.name,
                  StrCat("field ", Quote(f.name), ": ", Quote(Trim(value.raw_json_token()), 40),
                         " does not fit in a 64-bit int"));
          return false;
        }
        if (error == simdjson::INCORRECT_TYPE) return wrong("an int (no fraction or exponent)");
        if (error) return Invalid(error, err);
        row.Set(idx, Value::Int(v));
        return true;
      }
      case FieldType::kDouble: {
        if (type != simdjson::ondemand::json_type::number) return wrong("a number");
        double v;
        error = value.get_double().get(v);
        if (error == simdjson::NUMBER_ERROR && !IsOutOfRangeNumber(value.raw_json_token())) {
          err.Set("invalid_json", f.name,
                  StrCat("field ", Quote(f.name), ": malformed number ",
                         Quote(Trim(value.raw_json_token()), 40)));
          return false;
        }
        if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE ||
            (!error && !std::isfinite(v))) {
          err.Set("out_of_range", f.name,
                  StrCat("field ", Quote(f.name), ": ", Quote(Trim(value.raw_json_token()), 40),
                         " is out of double range"));
          return false;
        }
        if (error) return Invalid(error, err);
        row.Set(idx, Value::Double(v));
        return true;
      }
      case FieldType::kBool: {
        if (type != simdjson::ondemand::json_type::boolean) return wrong("a bool");
        bool v;
        if ((error = value.get_bool().get(v))) return Invalid(error, err);
        row.Set(idx, Value::Bool(v));
        return true;
      }
      case FieldType::kTimestamp: {
        if (f.timestamp_format == TimestampFormat::kIso8601) {
          if (type != simdjson::ondemand::json_type::string) {
            return wrong("an ISO-8601 timestamp string");
          }
          std::string_view s;
          if ((error = value.get_string().get(s))) return Invalid(error, err);
          auto t = ParseIso8601(s);
          if (!t.ok()) {
            err.Set("bad_timestamp", f.name,
                    StrCat("field ", Quote(f.name), ": ", t.status().message()));
            return false;
          }
          row.Set(idx, Value::Timestamp(*t));
          return true;
        }
        if (type != simdjson::ondemand::json_type::number) {
          return wrong(f.timestamp_format == TimestampFormat::kEpochMillis
                           ? "epoch milliseconds (a number)"
                           : "epoch seconds (a number)");
        }
        EventTime t;
        bool ok;
        int64_t iv;
        error = value.get_int64().get(iv);
        if (!error) {
          ok = EpochToEventTime(iv, f.timestamp_format, t);
        } else {
          double dv;
          if (value.get_double().get(dv)) {
            ok = false;
          } else {
            ok = EpochToEventTime(dv, f.timestamp_format, t);
          }
        }
        if (!ok) {
          err.Set("bad_timestamp", f.name,
                  StrCat("field ", Quote(f.name), ": ", Quote(Trim(value.raw_json_token()), 40),
                         " is not a time between years 1 and 9999"));
          return false;
        }
        row.Set(idx, Value::Timestamp(t));
        return true;
      }
    }
    return false;
  }

  const Schema& schema_;
  simdjson::ondemand::parser parser_;
  std::vector<uint8_t> seen_;
};

}  // namespace

Status CheckJsonSupport() {
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("bmi2") ||
      !__builtin_cpu_supports("pclmul")) {
    return Status::FailedPrecondition(
        "this build of Eddy decodes JSON with AVX2, which this CPU lacks; rebuild with "
        "-DEDDY_SIMD=westmere (or none)");
  }
#elif defined(__SSE4_2__)
  if (!__builtin_cpu_supports("sse4.2") || !__builtin_cpu_supports("pclmul")) {
    return Status::FailedPrecondition(
        "this build of Eddy decodes JSON with SSE4.2, which this CPU lacks; rebuild with "
        "-DEDDY_SIMD=none");
  }
#endif
  return Status::OK();
}

// The kernel compiled into this file (simdjson::builtin_implementation() would
// report the shared library's own, which Debian builds without AVX2).
#define EDDY_STRINGIFY_INNER(x) #x
#define EDDY_STRINGIFY(x) EDDY_STRINGIFY_INNER(x)
std::string_view JsonImplementationName() {
  return EDDY_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

std::unique_ptr<Decoder> MakeJsonDecoder(const Schema& schema) {
  return std::make_unique<JsonDecoder>(schema);
}

std::unique_ptr<Decoder> MakeDecoder(const SourceSpec& spec, const Schema& schema) {
  if (spec.format == SourceFormat::kCsv) return MakeCsvDecoder(schema, spec.csv);
  return MakeJsonDecoder(schema);
}

}  // namespace eddy
