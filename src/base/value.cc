#include "base/value.h"

namespace eddy {

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInt:
      return "int";
    case FieldType::kDouble:
      return "double";
    case FieldType::kBool:
      return "bool";
    case FieldType::kTimestamp:
      return "timestamp";
  }
  return "?";
}

double Value::AsDouble() const {
  switch (kind_) {
    case Kind::kBool:
      return u_.b ? 1.0 : 0.0;
    case Kind::kInt:
      return static_cast<double>(u_.i);
    case Kind::kDouble:
      return u_.d;
    case Kind::kTimestamp:
      return static_cast<double>(u_.i) / 1e6;
    case Kind::kNull:
    case Kind::kString:
      break;
  }
  EDDY_CHECK(false) << "AsDouble on a non-numeric value";
  return 0;
}

}  // namespace eddy
