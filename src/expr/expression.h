// The expression language of pipeline files: source filters now, derived
// features later. An expression is parsed, type-checked and compiled once
// against the variables it may reference; evaluating it is a walk over a flat
// array of nodes with no allocation and no parsing.
//
// Types: bool, int (64-bit), double, string, and null. Semantics, chosen so an
// expression never fails at evaluation time:
//   - arithmetic or comparison with a null operand gives null;
//   - `and`/`or`/`not` use three-valued logic (false and null = false);
//   - int + - * stay int and give null on overflow; `/` always gives a double;
//   - division or modulo by zero, log of x <= 0, sqrt of x < 0, and any result
//     that is not a finite number give null;
//   - min()/max() skip null arguments (null only if all are null);
//   - if(c, a, b) takes b when c is false or null.
// The full reference is docs/reference/expressions.md.
//
// Thread safety: a compiled Expression is immutable; Evaluate() may be called
// concurrently from many threads.

#ifndef EDDY_EXPR_EXPRESSION_H_
#define EDDY_EXPR_EXPRESSION_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"

namespace eddy {

enum class ExprType : uint8_t { kNull, kBool, kInt, kDouble, kString };

std::string_view ExprTypeName(ExprType type);

// A value during evaluation. Strings are views: into the caller's row for
// variables, into the Expression for literals.
struct ExprValue {
  ExprType type = ExprType::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  static ExprValue Null() { return {}; }
  static ExprValue Bool(bool v) { return {ExprType::kBool, v, 0, 0, {}}; }
  static ExprValue Int(int64_t v) { return {ExprType::kInt, false, v, 0, {}}; }
  static ExprValue Double(double v) { return {ExprType::kDouble, false, 0, v, {}}; }
  static ExprValue String(std::string_view v) { return {ExprType::kString, false, 0, 0, v}; }

  bool is_null() const { return type == ExprType::kNull; }
  // For int and double values.
  double AsDouble() const { return type == ExprType::kInt ? static_cast<double>(i) : d; }
  // True only for a non-null true bool.
  bool IsTrue() const { return type == ExprType::kBool && b; }
};

// A name an expression may reference, with its static type.
struct ExprVariable {
  std::string name;
  ExprType type;
};

class Expression {
 public:
  // Parses and type-checks `text`. Variables are referenced by name; their
  // values are passed to Evaluate() in the same order as `variables`. Errors
  // read "expression '<text>': at position N: <what was expected>".
  static Result<Expression> Compile(std::string_view text, std::span<const ExprVariable> variables);

  // REQUIRES: values.size() == number of variables given to Compile, and each
  // non-null value has the variable's type.
  ExprValue Evaluate(std::span<const ExprValue> values) const;

  ExprType result_type() const { return result_type_; }
  const std::string& text() const { return text_; }
  // Indices of the variables the expression reads, ascending, no duplicates.
  const std::vector<int>& referenced_variables() const { return referenced_; }

  // One node of the compiled program. Public only so the compiler in
  // expression.cc can build it.
  enum class Op : uint8_t {
    kLiteral,
    kVar,
    kNeg,
    kNot,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMod,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,
    kAnd,
    kOr,
    kIf,
    kIn,
    kNotIn,
    kIsNull,
    kCoalesce,
    kAbs,
    kLog,
    kExp,
    kSqrt,
    kPow,
    kMin,
    kMax,
    kClamp,
  };
  struct Node {
    Op op = Op::kLiteral;
    ExprType type = ExprType::kNull;
    int32_t a = -1, b = -1, c = -1;       // operands
    int32_t first_arg = 0, num_args = 0;  // variadic operands, in args_
    int32_t var = -1;                     // kVar: variable index
    ExprValue literal;                    // kLiteral (strings: see str)
    std::string str;                      // kLiteral string bytes
  };

 private:
  Expression() = default;
  ExprValue Eval(int32_t node, std::span<const ExprValue> values) const;

  std::string text_;
  std::vector<Node> nodes_;
  std::vector<int32_t> args_;  // argument lists of variadic nodes
  int32_t root_ = -1;
  ExprType result_type_ = ExprType::kNull;
  std::vector<int> referenced_;

  friend class ExprParser;
};

}  // namespace eddy

#endif  // EDDY_EXPR_EXPRESSION_H_
