#include "features/feature_value.h"

#include <cmath>
#include <cstring>

#include "base/json_writer.h"
#include "base/strings.h"

namespace eddy {

FeatureValue FeatureValue::Bool(bool b) {
  FeatureValue v;
  v.SetBool(b);
  return v;
}
FeatureValue FeatureValue::Int(int64_t i) {
  FeatureValue v;
  v.SetInt(i);
  return v;
}
FeatureValue FeatureValue::Double(double d) {
  FeatureValue v;
  v.SetDouble(d);
  return v;
}
FeatureValue FeatureValue::String(std::string_view s) {
  FeatureValue v;
  v.SetString(s);
  return v;
}

ExprValue FeatureValue::ToExpr() const {
  switch (type_) {
    case Type::kBool:
      return ExprValue::Bool(i_ != 0);
    case Type::kInt:
      return ExprValue::Int(i_);
    case Type::kDouble:
      return ExprValue::Double(d_);
    case Type::kString:
      return ExprValue::String(s_);
    case Type::kNull:
    case Type::kList:
      break;
  }
  return ExprValue::Null();
}

double FeatureValue::AsDouble() const {
  switch (type_) {
    case Type::kBool:
    case Type::kInt:
      return static_cast<double>(i_);
    case Type::kDouble:
      return d_;
    default:
      return std::nan("");
  }
}

void FeatureValue::AppendJson(std::string& out) const {
  switch (type_) {
    case Type::kNull:
      out.append("null");
      break;
    case Type::kBool:
      out.append(i_ ? "true" : "false");
      break;
    case Type::kInt:
      AppendInt(out, i_);
      break;
    case Type::kDouble:
      AppendDouble(out, d_);
      break;
    case Type::kString:
      AppendJsonString(out, s_);
      break;
    case Type::kList:
      out.push_back('[');
      for (size_t i = 0; i < list_.size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendJsonString(out, list_[i]);
      }
      out.push_back(']');
      break;
  }
}

void FeatureValue::AppendCsv(std::string& out) const {
  std::string text;
  switch (type_) {
    case Type::kNull:
      return;
    case Type::kString:
      if (s_.empty()) {
        out.append("\"\"");  // the empty string, not null (an empty cell)
        return;
      }
      text = s_;
      break;
    default:
      AppendJson(text);
      break;
  }
  if (text.find_first_of(",\"\n\r") == std::string::npos) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void FeatureValue::Save(std::string& out) const {
  out.push_back(static_cast<char>(type_));
  switch (type_) {
    case Type::kNull:
      break;
    case Type::kBool:
    case Type::kInt:
      PutSigned(out, i_);
      break;
    case Type::kDouble:
      PutDouble(out, d_);
      break;
    case Type::kString:
      PutString(out, s_);
      break;
    case Type::kList:
      PutVarint64(out, list_.size());
      for (const std::string& x : list_) PutString(out, x);
      break;
  }
}

bool FeatureValue::Load(ByteReader& in) {
  uint8_t t;
  if (!in.Byte(t)) return false;
  switch (static_cast<Type>(t)) {
    case Type::kNull:
      SetNull();
      return true;
    case Type::kBool:
    case Type::kInt: {
      int64_t i;
      if (!in.Signed(i)) return false;
      type_ = static_cast<Type>(t);
      i_ = i;
      return true;
    }
    case Type::kDouble: {
      double d;
      if (!in.Double(d)) return false;
      type_ = Type::kDouble;
      d_ = d;
      return true;
    }
    case Type::kString: {
      std::string_view s;
      if (!in.String(s)) return false;
      SetString(s);
      return true;
    }
    case Type::kList: {
      uint64_t n;
      if (!in.Varint64(n)) return false;
      if (n > in.remaining()) {
        in.Fail("list length exceeds the input");
        return false;
      }
      auto& list = SetList();
      for (uint64_t k = 0; k < n; ++k) {
        std::string_view s;
        if (!in.String(s)) return false;
        list.emplace_back(s);
      }
      return true;
    }
  }
  in.Fail("unknown feature value type");
  return false;
}

bool operator==(const FeatureValue& a, const FeatureValue& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case FeatureValue::Type::kNull:
      return true;
    case FeatureValue::Type::kBool:
    case FeatureValue::Type::kInt:
      return a.i_ == b.i_;
    case FeatureValue::Type::kDouble:
      return std::memcmp(&a.d_, &b.d_, sizeof(double)) == 0;
    case FeatureValue::Type::kString:
      return a.s_ == b.s_;
    case FeatureValue::Type::kList:
      return a.list_ == b.list_;
  }
  return false;
}

}  // namespace eddy
