#include "features/expr_binding.h"

namespace eddy {

std::vector<ExprVariable> FieldVariables(const SourceSpec& spec) {
  std::vector<ExprVariable> vars;
  for (const FieldSpec& f : spec.fields) {
    ExprType t = ExprType::kString;
    switch (f.type) {
      case FieldType::kString:
        t = ExprType::kString;
        break;
      case FieldType::kInt:
        t = ExprType::kInt;
        break;
      case FieldType::kDouble:
        t = ExprType::kDouble;
        break;
      case FieldType::kBool:
        t = ExprType::kBool;
        break;
      case FieldType::kTimestamp:
        t = ExprType::kDouble;
        break;
    }
    vars.push_back({f.name, t});
  }
  return vars;
}

ExprValue FieldToExpr(const Row& row, size_t index) {
  const Value& v = row[index];
  switch (v.kind()) {
    case Value::Kind::kNull:
      return ExprValue::Null();
    case Value::Kind::kBool:
      return ExprValue::Bool(v.bool_value());
    case Value::Kind::kInt:
      return ExprValue::Int(v.int_value());
    case Value::Kind::kDouble:
      return ExprValue::Double(v.double_value());
    case Value::Kind::kTimestamp:
      return ExprValue::Double(v.AsDouble());
    case Value::Kind::kString:
      return ExprValue::String(row.GetString(index));
  }
  return ExprValue::Null();
}

}  // namespace eddy
