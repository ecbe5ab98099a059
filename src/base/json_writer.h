// JsonWriter appends compact JSON to a std::string. It is what every JSON
// output of Eddy (accepted, late and dead-letter records, feature rows,
// summaries, HTTP bodies) is written with, so numbers and escapes are the same
// everywhere: doubles in shortest round-trip form, non-finite doubles as null,
// strings escaped per RFC 8259 (control characters as \u00XX).
//
// The writer inserts commas; the caller is responsible for balanced
// Begin/End calls (checked in debug builds). Strings must be valid UTF-8.

#ifndef EDDY_BASE_JSON_WRITER_H_
#define EDDY_BASE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eddy {

// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view s);

class JsonWriter {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  // Non-finite values are written as null.
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Appends already-serialized JSON as one value.
  JsonWriter& Raw(std::string_view json);

 private:
  void BeforeValue();

  std::string& out_;
  // One entry per open container: true once it holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace eddy

#endif  // EDDY_BASE_JSON_WRITER_H_
