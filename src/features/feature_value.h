// FeatureValue: one computed feature (a count, a mean, the last country, the
// top-3 merchants). Doubles that are not finite are stored as null, so a
// feature is never NaN or infinite.

#ifndef EDDY_FEATURES_FEATURE_VALUE_H_
#define EDDY_FEATURES_FEATURE_VALUE_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"
#include "expr/expression.h"

namespace eddy {

class FeatureValue {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kList };

  FeatureValue() = default;
  static FeatureValue Null() { return FeatureValue(); }
  static FeatureValue Bool(bool b);
  static FeatureValue Int(int64_t i);
  static FeatureValue Double(double d);  // non-finite -> null
  static FeatureValue String(std::string_view s);

  void SetNull() { type_ = Type::kNull; }
  void SetBool(bool b) {
    type_ = Type::kBool;
    i_ = b ? 1 : 0;
  }
  void SetInt(int64_t i) {
    type_ = Type::kInt;
    i_ = i;
  }
  // Non-finite -> null; -0.0 -> 0.0. Inline: every aggregation output goes
  // through it.
  void SetDouble(double d) {
    if (!std::isfinite(d)) {
      type_ = Type::kNull;
      return;
    }
    type_ = Type::kDouble;
    d_ = d == 0 ? 0.0 : d;  // no negative zero in outputs
  }
  void SetString(std::string_view s) {
    type_ = Type::kString;
    s_.assign(s.data(), s.size());
  }
  // A list of strings (top-k). Reuses the list's storage.
  std::vector<std::string>& SetList() {
    type_ = Type::kList;
    list_.clear();
    return list_;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool bool_value() const { return i_ != 0; }
  int64_t int_value() const { return i_; }
  double double_value() const { return d_; }
  const std::string& string_value() const { return s_; }
  const std::vector<std::string>& list_value() const { return list_; }

  // The value as an expression input (lists are not expression values: null).
  ExprValue ToExpr() const;
  // As a double for models: bool/int/double; null and others give NaN.
  double AsDouble() const;

  void AppendJson(std::string& out) const;
  // Exact binary image (checkpoints).
  void Save(std::string& out) const;
  bool Load(ByteReader& in);
  // CSV cell text: empty for null, JSON array text for lists.
  void AppendCsv(std::string& out) const;

  // Exact equality: same type and identical bits (replay must match live
  // bit for bit).
  friend bool operator==(const FeatureValue& a, const FeatureValue& b);

 private:
  Type type_ = Type::kNull;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<std::string> list_;
};

}  // namespace eddy

#endif  // EDDY_FEATURES_FEATURE_VALUE_H_
