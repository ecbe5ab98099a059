// Schema: a source's declared fields compiled for the hot path, and the
// checks every decoded record passes before it is accepted (required, range,
// allowed values). Decoders convert bytes to typed values; the Schema then
// checks those values, so JSON and CSV records obey exactly the same rules.

#ifndef EDDY_INGEST_SCHEMA_H_
#define EDDY_INGEST_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/value.h"
#include "config/pipeline.h"
#include "eddy/status.h"

namespace eddy {

// Why a record was rejected. `code` is a stable lower_snake_case identifier
// (see docs/reference/outputs.md); `message` says what, where and why.
struct DecodeError {
  std::string_view code;
  std::string field;  // the field concerned, if any
  std::string message;

  void Set(std::string_view c, std::string f, std::string m) {
    code = c;
    field = std::move(f);
    message = std::move(m);
  }
};

// Lets unordered containers of std::string be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

class Schema {
 public:
  // Compiles the fields of `spec`. The event-time and key fields are made
  // implicitly required.
  static Result<Schema> Create(const SourceSpec& spec);

  size_t num_fields() const { return fields_.size(); }
  const FieldSpec& field(size_t i) const { return fields_[i].spec; }
  UnknownFieldPolicy unknown_fields() const { return unknown_fields_; }

  // Index of the field called `name`, or -1. `hint` is the index to try
  // first; decoders pass the index after the previous field, which makes
  // records written in declared order cost one comparison per field.
  int Lookup(std::string_view name, int hint = 0) const {
    const size_t n = fields_.size();
    if (hint >= 0 && static_cast<size_t>(hint) < n && fields_[hint].spec.name == name) return hint;
    for (size_t i = 0; i < n; ++i) {
      if (fields_[i].spec.name == name) return static_cast<int>(i);
    }
    return -1;
  }

  // Checks a decoded row (required, min/max, allowed). Returns false and
  // fills `err` on the first violation.
  bool Check(const Row& row, DecodeError& err) const;

  int event_time_index() const { return event_time_index_; }
  int id_index() const { return id_index_; }
  const std::vector<int>& key_indices() const { return key_indices_; }

 private:
  struct CompiledField {
    FieldSpec spec;
    bool required = false;
    bool has_min = false, has_max = false;
    double min = 0, max = 0;
    std::vector<int64_t> allowed_ints;
    std::unordered_set<std::string, StringHash, std::equal_to<>> allowed_strings;
  };

  std::vector<CompiledField> fields_;
  UnknownFieldPolicy unknown_fields_ = UnknownFieldPolicy::kIgnore;
  int event_time_index_ = -1;
  int id_index_ = -1;
  std::vector<int> key_indices_;
};

// Appends the value of field `i` of `row` as JSON (timestamps as ISO-8601).
void AppendValueJson(std::string& out, const Row& row, size_t i);

}  // namespace eddy

#endif  // EDDY_INGEST_SCHEMA_H_
