// The engine's data model for one decoded record: a Row of typed Values, one
// per field of the source's schema, in schema order.
//
// A Row owns the bytes of its string values; a string Value holds an offset
// and length into that storage, so Rows can be moved and reused freely. Rows
// are reused across records (Reset keeps capacity): decoding a record does
// not allocate once buffers have grown.

#ifndef EDDY_BASE_VALUE_H_
#define EDDY_BASE_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "base/time.h"

namespace eddy {

// The declared type of a schema field.
enum class FieldType : uint8_t { kString, kInt, kDouble, kBool, kTimestamp };

// "string", "int", "double", "bool", "timestamp".
std::string_view FieldTypeName(FieldType type);

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kInt, kDouble, kString, kTimestamp };

  constexpr Value() = default;
  static constexpr Value Null() { return Value(); }
  static Value Bool(bool b) {
    Value v(Kind::kBool);
    v.u_.b = b;
    return v;
  }
  static Value Int(int64_t i) {
    Value v(Kind::kInt);
    v.u_.i = i;
    return v;
  }
  static Value Double(double d) {
    Value v(Kind::kDouble);
    v.u_.d = d;
    return v;
  }
  static Value Timestamp(EventTime t) {
    Value v(Kind::kTimestamp);
    v.u_.i = t.micros();
    return v;
  }
  // A string stored in a Row at [offset, offset + len).
  static Value StringRef(uint32_t offset, uint32_t len) {
    Value v(Kind::kString);
    v.u_.s.offset = offset;
    v.u_.s.len = len;
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool bool_value() const {
    EDDY_DCHECK(kind_ == Kind::kBool);
    return u_.b;
  }
  int64_t int_value() const {
    EDDY_DCHECK(kind_ == Kind::kInt);
    return u_.i;
  }
  double double_value() const {
    EDDY_DCHECK(kind_ == Kind::kDouble);
    return u_.d;
  }
  EventTime timestamp_value() const {
    EDDY_DCHECK(kind_ == Kind::kTimestamp);
    return EventTime::FromMicros(u_.i);
  }
  uint32_t string_offset() const { return u_.s.offset; }
  uint32_t string_len() const { return u_.s.len; }

  // The value as a double for numeric kinds (int, double, bool, timestamp in
  // epoch seconds). REQUIRES: not null and not a string.
  double AsDouble() const;

 private:
  constexpr explicit Value(Kind k) : kind_(k) {}
  union U {
    bool b;
    int64_t i;
    double d;
    struct {
      uint32_t offset;
      uint32_t len;
    } s;
  } u_{.i = 0};
  Kind kind_ = Kind::kNull;
};

class Row {
 public:
  Row() = default;
  explicit Row(size_t num_fields) { Reset(num_fields); }

  // Clears to `num_fields` nulls; keeps allocated capacity.
  void Reset(size_t num_fields) {
    values_.assign(num_fields, Value::Null());
    strings_.clear();
  }

  size_t size() const { return values_.size(); }
  const Value& operator[](size_t i) const { return values_[i]; }
  Value& mutable_value(size_t i) { return values_[i]; }

  void Set(size_t i, Value v) { values_[i] = v; }
  void SetString(size_t i, std::string_view s) {
    EDDY_DCHECK(strings_.size() + s.size() < UINT32_MAX);
    values_[i] =
        Value::StringRef(static_cast<uint32_t>(strings_.size()), static_cast<uint32_t>(s.size()));
    strings_.append(s);
  }

  // REQUIRES: (*this)[i] is a string.
  std::string_view GetString(size_t i) const {
    const Value& v = values_[i];
    EDDY_DCHECK(v.kind() == Value::Kind::kString);
    return std::string_view(strings_.data() + v.string_offset(), v.string_len());
  }

 private:
  std::vector<Value> values_;
  std::string strings_;
};

}  // namespace eddy

#endif  // EDDY_BASE_VALUE_H_
