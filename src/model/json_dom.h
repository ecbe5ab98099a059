// A small read-only JSON document for model files and registry metadata.
//
// Why not boost::json::value: Boost.JSON 1.81 converts decimal numbers to
// double with a fast algorithm that is off by an ulp or more for about one in
// five random doubles, and model thresholds, leaf values and exported weights
// must read back bit for bit. This parser drives Boost.JSON's SAX
// basic_parser (so the grammar, UTF-8 validation and depth limit are
// Boost's) and converts every number from its text with std::from_chars,
// which rounds correctly.
//
// Parsing never throws: errors (including running out of memory) come back as
// a Status with the byte offset.

#ifndef EDDY_MODEL_JSON_DOM_H_
#define EDDY_MODEL_JSON_DOM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eddy/status.h"

namespace eddy::model_internal {

class JsonValue {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool bool_value() const { return bool_; }
  // Numbers: the value rounded correctly from the text; is_integer() when the
  // text had no fraction or exponent.
  double number() const { return number_; }
  bool is_integer() const { return is_integer_; }
  // Strings: the decoded text.
  const std::string& str() const { return str_; }

  // Arrays and objects: number of elements or members.
  size_t size() const { return is_number_array() ? numbers_.size() : items_.size(); }

  // Arrays whose elements are all numbers (the bulk of a tree model: one
  // array per node attribute) are stored compactly as doubles, 8 bytes per
  // element instead of a JsonValue each. An empty array is a number array.
  bool is_number_array() const { return type_ == Type::kArray && number_array_; }
  // REQUIRES: is_number_array().
  const std::vector<double>& numbers() const { return numbers_; }
  // Whether every element of a number array was written as an integer.
  bool all_integers() const { return is_integer_; }

  // Other arrays: elements. Objects: values, in file order, parallel to keys().
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }

  // The member called `key` of an object (the first if repeated), or null.
  const JsonValue* Find(std::string_view key) const;

  // "object", "array", ... for error messages.
  static std::string_view TypeName(Type t);
  std::string_view type_name() const { return TypeName(type_); }

 private:
  friend class JsonBuilder;
  Type type_ = Type::kNull;
  bool bool_ = false;
  bool is_integer_ = false;
  bool number_array_ = false;
  double number_ = 0;
  std::string str_;
  std::vector<double> numbers_;
  std::vector<JsonValue> items_;
  std::vector<std::string> keys_;
};

// Parses one JSON document (RFC 8259; no comments, no trailing commas).
// Nesting deeper than `max_depth` is an error. With `allow_nan_literals`,
// the bare tokens NaN, Infinity and -Infinity are accepted as numbers:
// XGBoost writes them (a categorical split's split_condition is NaN).
Result<JsonValue> ParseJson(std::string_view text, size_t max_depth = 64,
                            bool allow_nan_literals = false);

}  // namespace eddy::model_internal

#endif  // EDDY_MODEL_JSON_DOM_H_
