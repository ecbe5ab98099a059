// Fuzzes the expression language: parsing and type checking on arbitrary
// text, and evaluation of whatever compiles.
//
// The input is the expression text. Variables of every type are declared.
// A compiled expression is evaluated over several sets of values, including
// nulls and the extreme ints and doubles a record can carry, and must:
//   - never crash or hit undefined behaviour (overflow must give null);
//   - give a value of its declared result type, or null;
//   - list each referenced variable once, in ascending order.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/strings.h"
#include "expr/expression.h"
#include "fuzz/fuzz_util.h"

namespace {

using eddy::ExprType;
using eddy::ExprValue;
using eddy::ExprVariable;

const std::vector<ExprVariable>& Variables() {
  static const std::vector<ExprVariable> vars = {
      {"amount", ExprType::kDouble},     {"n", ExprType::kInt},     {"user_id", ExprType::kString},
      {"card_present", ExprType::kBool}, {"ts", ExprType::kDouble}, {"country", ExprType::kString},
      {"qty", ExprType::kInt},
  };
  return vars;
}

std::vector<std::vector<ExprValue>> ValueSets() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr double kBig = std::numeric_limits<double>::max();
  constexpr double kTiny = std::numeric_limits<double>::denorm_min();
  return {
      {ExprValue::Double(12.5), ExprValue::Int(3), ExprValue::String("u1"), ExprValue::Bool(true),
       ExprValue::Double(1714521600.25), ExprValue::String("FR"), ExprValue::Int(-2)},
      {ExprValue::Null(), ExprValue::Null(), ExprValue::Null(), ExprValue::Null(),
       ExprValue::Null(), ExprValue::Null(), ExprValue::Null()},
      {ExprValue::Double(0), ExprValue::Int(0), ExprValue::String(""), ExprValue::Bool(false),
       ExprValue::Double(-0.0), ExprValue::String("\xc3\xa9"), ExprValue::Int(0)},
      {ExprValue::Double(kBig), ExprValue::Int(kMin), ExprValue::String("u1"),
       ExprValue::Bool(false), ExprValue::Double(-kBig), ExprValue::String("US"),
       ExprValue::Int(-1)},
      {ExprValue::Double(-kTiny), ExprValue::Int(kMax), ExprValue::Null(), ExprValue::Bool(true),
       ExprValue::Double(kTiny), ExprValue::Null(), ExprValue::Int(kMin)},
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eddy;
  static const std::vector<std::vector<ExprValue>> value_sets = ValueSets();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expr = Expression::Compile(text, Variables());
  if (!expr.ok()) {
    FUZZ_CHECK(!expr.status().message().empty(), "an error without a message");
    return 0;
  }
  const std::vector<int>& refs = expr->referenced_variables();
  for (size_t i = 0; i < refs.size(); ++i) {
    FUZZ_CHECK(refs[i] >= 0 && static_cast<size_t>(refs[i]) < Variables().size(), Quote(text, 400));
    FUZZ_CHECK(i == 0 || refs[i - 1] < refs[i], Quote(text, 400));
  }
  for (const auto& values : value_sets) {
    ExprValue v = expr->Evaluate(values);
    FUZZ_CHECK(v.is_null() || v.type == expr->result_type(),
               StrCat("expression ", Quote(text, 400), " declared ",
                      ExprTypeName(expr->result_type()), " but gave ", ExprTypeName(v.type)));
    if (v.type == ExprType::kDouble) {
      FUZZ_CHECK(std::isfinite(v.d), StrCat("non-finite result of ", Quote(text, 400)));
    }
  }
  return 0;
}
