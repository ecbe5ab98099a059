#include "expr/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"

namespace eddy {
namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// "int 3", "double 2.5", "bool true", "string 'x'" or "null": a value and its
// type in one comparable string.
std::string Show(const ExprValue& v) {
  switch (v.type) {
    case ExprType::kNull:
      return "null";
    case ExprType::kBool:
      return v.b ? "bool true" : "bool false";
    case ExprType::kInt:
      return StrCat("int ", v.i);
    case ExprType::kDouble:
      return StrCat("double ", v.d);
    case ExprType::kString:
      return StrCat("string ", Quote(v.s));
  }
  return "?";
}

// Variables every test may reference, with values tests may change.
class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() {
    Declare("i", ExprType::kInt, ExprValue::Int(7));
    Declare("j", ExprType::kInt, ExprValue::Int(-3));
    Declare("big", ExprType::kInt, ExprValue::Int(kInt64Max));
    Declare("small", ExprType::kInt, ExprValue::Int(kInt64Min));
    Declare("d", ExprType::kDouble, ExprValue::Double(2.5));
    Declare("amount", ExprType::kDouble, ExprValue::Double(120.0));
    Declare("s", ExprType::kString, ExprValue::String("web"));
    Declare("channel", ExprType::kString, ExprValue::String("pos"));
    Declare("b", ExprType::kBool, ExprValue::Bool(true));
    Declare("f", ExprType::kBool, ExprValue::Bool(false));
    Declare("ni", ExprType::kInt, ExprValue::Null());
    Declare("nd", ExprType::kDouble, ExprValue::Null());
    Declare("ns", ExprType::kString, ExprValue::Null());
    Declare("nb", ExprType::kBool, ExprValue::Null());
  }

  void Declare(std::string name, ExprType type, ExprValue value) {
    vars_.push_back({std::move(name), type});
    values_.push_back(value);
  }

  void Set(std::string_view name, ExprValue value) {
    for (size_t k = 0; k < vars_.size(); ++k) {
      if (vars_[k].name == name) values_[k] = value;
    }
  }

  Result<Expression> Compile(std::string_view text) { return Expression::Compile(text, vars_); }

  // Compiles and evaluates `text`; "compile error: ..." when it does not compile.
  std::string Eval(std::string_view text) {
    Result<Expression> e = Compile(text);
    if (!e.ok()) return "compile error: " + e.status().message();
    ExprValue v = e->Evaluate(values_);
    // The value always has the static type, or is null.
    if (!v.is_null()) {
      EXPECT_EQ(v.type, e->result_type()) << text;
    }
    return Show(v);
  }

  ExprType TypeOf(std::string_view text) {
    Result<Expression> e = Compile(text);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? e->result_type() : ExprType::kNull;
  }

  // The message of a compile error.
  std::string CompileError(std::string_view text) {
    Result<Expression> e = Compile(text);
    EXPECT_FALSE(e.ok()) << text << " compiled";
    if (e.ok()) return "";
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    return e.status().message();
  }

  std::vector<ExprVariable> vars_;
  std::vector<ExprValue> values_;
};

// ---- Parsing and precedence ----

TEST_F(ExpressionTest, MultiplicationBindsTighterThanAddition) {
  EXPECT_EQ(Eval("1 + 2 * 3"), "int 7");
  EXPECT_EQ(Eval("(1 + 2) * 3"), "int 9");
  EXPECT_EQ(Eval("2 * 3 + 1"), "int 7");
  EXPECT_EQ(Eval("1 + 7 % 4"), "int 4");
  EXPECT_EQ(Eval("1 + 6 / 4"), "double 2.5");
}

TEST_F(ExpressionTest, BinaryOperatorsAreLeftAssociative) {
  EXPECT_EQ(Eval("10 - 4 - 3"), "int 3");
  EXPECT_EQ(Eval("2 * 3 % 4"), "int 2");
  EXPECT_EQ(Eval("8 / 4 / 2"), "double 1");
  EXPECT_EQ(Eval("100 % 7 * 2"), "int 4");
}

TEST_F(ExpressionTest, UnaryMinusBindsTighterThanBinaryOperators) {
  EXPECT_EQ(Eval("-2 * 3"), "int -6");
  EXPECT_EQ(Eval("-i + 1"), "int -6");
  EXPECT_EQ(Eval("2 - -3"), "int 5");
  EXPECT_EQ(Eval("--4"), "int 4");
  EXPECT_EQ(Eval("-(1 + 2)"), "int -3");
  EXPECT_EQ(Eval("+5"), "int 5");
  EXPECT_EQ(Eval("-d"), "double -2.5");
}

TEST_F(ExpressionTest, ArithmeticBindsTighterThanComparison) {
  EXPECT_EQ(Eval("1 + 1 == 2"), "bool true");
  EXPECT_EQ(Eval("i * 2 > 10 + 3"), "bool true");
}

TEST_F(ExpressionTest, AndBindsTighterThanOr) {
  EXPECT_EQ(Eval("true or true and false"), "bool true");
  EXPECT_EQ(Eval("(true or true) and false"), "bool false");
  EXPECT_EQ(Eval("false and true or true"), "bool true");
  EXPECT_EQ(Eval("false and (true or true)"), "bool false");
}

TEST_F(ExpressionTest, NotBindsTighterThanAndButLooserThanComparison) {
  EXPECT_EQ(Eval("not true and false"), "bool false");  // (not true) and false
  EXPECT_EQ(Eval("not (true and false)"), "bool true");
  EXPECT_EQ(Eval("not 1 > 2"), "bool true");  // not (1 > 2)
  EXPECT_EQ(Eval("not not b"), "bool true");
}

TEST_F(ExpressionTest, SymbolicOperatorAliases) {
  EXPECT_EQ(Eval("b && f"), "bool false");
  EXPECT_EQ(Eval("b || f"), "bool true");
  EXPECT_EQ(Eval("!f"), "bool true");
  EXPECT_EQ(Eval("1 <> 2"), "bool true");
  EXPECT_EQ(Eval("1 != 1"), "bool false");
}

TEST_F(ExpressionTest, ComparisonsDoNotChain) {
  EXPECT_EQ(CompileError("1 < i < 10"),
            "expression '1 < i < 10': at position 7: comparisons do not chain; combine them with "
            "'and'");
  EXPECT_EQ(CompileError("i == 1 == true"),
            "expression 'i == 1 == true': at position 8: comparisons do not chain; combine them "
            "with 'and'");
  EXPECT_EQ(Eval("1 < i and i < 10"), "bool true");
}

TEST_F(ExpressionTest, WhitespaceIsInsignificant) {
  EXPECT_EQ(Eval("1+2*3"), "int 7");
  EXPECT_EQ(Eval("\t1 +\n 2\r\n"), "int 3");
}

// ---- Literals ----

TEST_F(ExpressionTest, NumberLiterals) {
  EXPECT_EQ(Eval("42"), "int 42");
  EXPECT_EQ(Eval("9223372036854775807"), "int 9223372036854775807");
  EXPECT_EQ(Eval("2.5"), "double 2.5");
  EXPECT_EQ(Eval(".5"), "double 0.5");
  EXPECT_EQ(Eval("1."), "double 1");
  EXPECT_EQ(Eval("1e3"), "double 1000");
  EXPECT_EQ(Eval("2.5E-1"), "double 0.25");
  EXPECT_EQ(Eval("1e+2"), "double 100");
}

TEST_F(ExpressionTest, OutOfRangeNumberLiteralsAreErrors) {
  EXPECT_EQ(CompileError("9223372036854775808"),
            "expression '9223372036854775808': at position 1: integer 9223372036854775808 is out "
            "of range");
  EXPECT_EQ(CompileError("i + 1e999"),
            "expression 'i + 1e999': at position 5: number 1e999 is out of range");
}

TEST_F(ExpressionTest, NumberFollowedByLettersIsAnError) {
  EXPECT_EQ(CompileError("3x"),
            "expression '3x': at position 2: unexpected character 'x' after number 3");
  EXPECT_EQ(CompileError("1e"),
            "expression '1e': at position 2: unexpected character 'e' after number 1");
}

TEST_F(ExpressionTest, BoolAndNullLiterals) {
  EXPECT_EQ(Eval("true"), "bool true");
  EXPECT_EQ(Eval("false"), "bool false");
  EXPECT_EQ(Eval("null"), "null");
  EXPECT_EQ(TypeOf("null"), ExprType::kNull);
}

TEST_F(ExpressionTest, StringLiteralsInEitherQuote) {
  EXPECT_EQ(Eval("\"web\""), "string 'web'");
  EXPECT_EQ(Eval("'web'"), "string 'web'");
  EXPECT_EQ(Eval("\"it's\""), "string 'it's'");
  EXPECT_EQ(Eval("'say \"hi\"'"), "string 'say \"hi\"'");
  EXPECT_EQ(Eval("''"), "string ''");
}

TEST_F(ExpressionTest, StringEscapes) {
  EXPECT_EQ(Eval(R"("a\"b")"), "string 'a\"b'");
  EXPECT_EQ(Eval(R"('it\'s')"), "string 'it's'");
  EXPECT_EQ(Eval(R"("a\\b")"), "string 'a\\b'");
  EXPECT_EQ(Eval(R"("tab\there")"), "string 'tab\\there'");  // Show() quotes the tab as \t
  EXPECT_EQ(Eval(R"("line\nbreak")"), "string 'line\\nbreak'");
  Result<Expression> e = Compile(R"("a\tb\n\\")");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->Evaluate(values_).s, "a\tb\n\\");
}

TEST_F(ExpressionTest, UnknownEscapeIsAnError) {
  EXPECT_EQ(CompileError(R"(s == "a\qb")"),
            "expression 's == \"a\\qb\"': at position 8: unknown escape '\\q' in string (use \\n, "
            "\\t, \\\\, \\\" or \\')");
}

TEST_F(ExpressionTest, UnterminatedStringIsAnError) {
  EXPECT_EQ(CompileError("s == \"web"),
            "expression 's == \"web': at position 6: unterminated string; expected a closing "
            "quote");
  EXPECT_EQ(CompileError("s == 'web\\'"),
            "expression 's == 'web\\'': at position 6: unterminated string; expected a closing "
            "quote");
}

// ---- Types ----

TEST_F(ExpressionTest, IntArithmeticStaysInt) {
  EXPECT_EQ(Eval("7 + 3"), "int 10");
  EXPECT_EQ(Eval("7 - 10"), "int -3");
  EXPECT_EQ(Eval("i * j"), "int -21");
  EXPECT_EQ(Eval("7 % 3"), "int 1");
  EXPECT_EQ(TypeOf("i + j * 2 % 5"), ExprType::kInt);
}

TEST_F(ExpressionTest, ModuloTakesTheSignOfTheDividend) {
  EXPECT_EQ(Eval("-7 % 3"), "int -1");
  EXPECT_EQ(Eval("7 % -3"), "int 1");
  EXPECT_EQ(Eval("-7.5 % 2"), "double -1.5");
  EXPECT_EQ(Eval("7.5 % 2"), "double 1.5");
}

TEST_F(ExpressionTest, DivisionAlwaysGivesADouble) {
  EXPECT_EQ(Eval("7 / 2"), "double 3.5");
  EXPECT_EQ(Eval("6 / 3"), "double 2");
  EXPECT_EQ(TypeOf("i / j"), ExprType::kDouble);
}

TEST_F(ExpressionTest, MixingIntAndDoubleGivesDouble) {
  EXPECT_EQ(Eval("1 + 2.5"), "double 3.5");
  EXPECT_EQ(Eval("i * d"), "double 17.5");
  EXPECT_EQ(Eval("d - i"), "double -4.5");
  EXPECT_EQ(Eval("i % 2.5"), "double 2");
  EXPECT_EQ(TypeOf("i + d"), ExprType::kDouble);
  EXPECT_EQ(Eval("1 == 1.0"), "bool true");
  EXPECT_EQ(Eval("i < d"), "bool false");
}

TEST_F(ExpressionTest, IntOverflowGivesNull) {
  EXPECT_EQ(Eval("big + 1"), "null");
  EXPECT_EQ(Eval("small - 1"), "null");
  EXPECT_EQ(Eval("big * 2"), "null");
  EXPECT_EQ(Eval("-small"), "null");
  EXPECT_EQ(Eval("abs(small)"), "null");
  EXPECT_EQ(Eval("9223372036854775807 + 1"), "null");
  EXPECT_EQ(Eval("4611686018427387904 * 2"), "null");
  // Right at the edge is still fine.
  EXPECT_EQ(Eval("big - 1 + 1"), "int 9223372036854775807");
  EXPECT_EQ(Eval("-big - 1"), "int -9223372036854775808");
  EXPECT_EQ(Eval("small % 2"), "int 0");
}

TEST_F(ExpressionTest, ModuloOfMinimumIntByMinusOneIsZero) {
  // Regression: computed directly, INT64_MIN % -1 traps on x86; the result
  // is 0 like any x % -1, not an overflow.
  EXPECT_EQ(Eval("small % -1"), "int 0");
  EXPECT_EQ(Eval("i % -1"), "int 0");
}

TEST_F(ExpressionTest, DoubleOverflowGivesNull) {
  EXPECT_EQ(Eval("1e308 * 10"), "null");
  EXPECT_EQ(Eval("-1e308 - 1e308"), "null");
  EXPECT_EQ(Eval("1e308 / 0.1"), "null");
  EXPECT_EQ(Eval("big * 1.0"), "double 9223372036854775808");
}

TEST_F(ExpressionTest, IntVariableHoldingADoubleIsNormalisedWhenDeclaredDouble) {
  // A double variable may be given an int value; it behaves as a double.
  Set("d", ExprValue::Int(3));
  EXPECT_EQ(Eval("d"), "double 3");
  EXPECT_EQ(Eval("d / 2"), "double 1.5");
  EXPECT_EQ(Eval("d + 1"), "double 4");
}

TEST_F(ExpressionTest, StringComparison) {
  EXPECT_EQ(Eval("\"abc\" < \"abd\""), "bool true");
  EXPECT_EQ(Eval("\"b\" > \"abc\""), "bool true");
  EXPECT_EQ(Eval("\"\" < \"a\""), "bool true");
  EXPECT_EQ(Eval("\"abc\" <= \"abc\""), "bool true");
  EXPECT_EQ(Eval("\"Z\" < \"a\""), "bool true");         // byte order, not case-insensitive
  EXPECT_EQ(Eval("\"z\" < \"\xc3\xa9\""), "bool true");  // UTF-8 bytes compare as unsigned
  EXPECT_EQ(Eval("s == \"web\""), "bool true");
  EXPECT_EQ(Eval("s != channel"), "bool true");
  EXPECT_EQ(Eval("s >= channel"), "bool true");
}

TEST_F(ExpressionTest, BoolEquality) {
  EXPECT_EQ(Eval("b == true"), "bool true");
  EXPECT_EQ(Eval("b != f"), "bool true");
  EXPECT_EQ(Eval("(i > 0) == (j > 0)"), "bool false");
}

// ---- Null semantics ----

TEST_F(ExpressionTest, AndIsThreeValued) {
  EXPECT_EQ(Eval("nb and false"), "bool false");
  EXPECT_EQ(Eval("false and nb"), "bool false");
  EXPECT_EQ(Eval("nb and true"), "null");
  EXPECT_EQ(Eval("true and nb"), "null");
  EXPECT_EQ(Eval("nb and nb"), "null");
  EXPECT_EQ(Eval("null and false"), "bool false");
}

TEST_F(ExpressionTest, OrIsThreeValued) {
  EXPECT_EQ(Eval("nb or true"), "bool true");
  EXPECT_EQ(Eval("true or nb"), "bool true");
  EXPECT_EQ(Eval("nb or false"), "null");
  EXPECT_EQ(Eval("false or nb"), "null");
  EXPECT_EQ(Eval("null or true"), "bool true");
}

TEST_F(ExpressionTest, NotOfNullIsNull) {
  EXPECT_EQ(Eval("not nb"), "null");
  EXPECT_EQ(Eval("not null"), "null");
}

TEST_F(ExpressionTest, ComparisonWithANullValueIsNull) {
  EXPECT_EQ(Eval("ni > 0"), "null");
  EXPECT_EQ(Eval("0 == ni"), "null");
  EXPECT_EQ(Eval("nd != 1.5"), "null");
  EXPECT_EQ(Eval("ns == \"web\""), "null");
  EXPECT_EQ(Eval("ni == ni"), "null");
  EXPECT_EQ(Eval("nb == true"), "null");
}

TEST_F(ExpressionTest, ArithmeticWithNullIsNull) {
  EXPECT_EQ(Eval("ni + 1"), "null");
  EXPECT_EQ(Eval("2 * nd"), "null");
  EXPECT_EQ(Eval("-ni"), "null");
  EXPECT_EQ(Eval("null + 1"), "null");
  EXPECT_EQ(TypeOf("null + 1"), ExprType::kInt);
  EXPECT_EQ(TypeOf("null * 1.5"), ExprType::kDouble);
  EXPECT_EQ(TypeOf("null / 2"), ExprType::kDouble);
}

TEST_F(ExpressionTest, ComparingWithLiteralNullIsACompileError) {
  EXPECT_EQ(CompileError("ni == null"),
            "expression 'ni == null': at position 4: comparing with null always gives null; use "
            "is_null(x) or not is_null(x)");
  EXPECT_EQ(CompileError("null != s"),
            "expression 'null != s': at position 6: comparing with null always gives null; use "
            "is_null(x) or not is_null(x)");
}

TEST_F(ExpressionTest, IsNull) {
  EXPECT_EQ(Eval("is_null(ni)"), "bool true");
  EXPECT_EQ(Eval("is_null(i)"), "bool false");
  EXPECT_EQ(Eval("not is_null(ns)"), "bool false");
  EXPECT_EQ(Eval("is_null(1 / 0)"), "bool true");
  EXPECT_EQ(Eval("is_null(null)"), "bool true");
}

TEST_F(ExpressionTest, NullFilterResultIsNotTrue) {
  Result<Expression> e = Compile("ni > 0");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->Evaluate(values_).IsTrue());
}

// ---- Division, modulo and math functions ----

TEST_F(ExpressionTest, DivisionByZeroGivesNull) {
  EXPECT_EQ(Eval("1 / 0"), "null");
  EXPECT_EQ(Eval("0 / 0"), "null");
  EXPECT_EQ(Eval("1.5 / 0.0"), "null");
  EXPECT_EQ(Eval("i / (j + 3)"), "null");
  EXPECT_EQ(Eval("1 / -0.0"), "null");
}

TEST_F(ExpressionTest, ModuloByZeroGivesNull) {
  EXPECT_EQ(Eval("1 % 0"), "null");
  EXPECT_EQ(Eval("1.5 % 0"), "null");
  EXPECT_EQ(Eval("i % 0.0"), "null");
}

TEST_F(ExpressionTest, LogOfZeroOrNegativeGivesNull) {
  EXPECT_EQ(Eval("log(0)"), "null");
  EXPECT_EQ(Eval("log(-1)"), "null");
  EXPECT_EQ(Eval("log(1)"), "double 0");
  EXPECT_EQ(Eval("log(0.5) < 0"), "bool true");
  EXPECT_EQ(Eval("log(ni)"), "null");
}

TEST_F(ExpressionTest, SqrtOfNegativeGivesNull) {
  EXPECT_EQ(Eval("sqrt(-1)"), "null");
  EXPECT_EQ(Eval("sqrt(-0.0001)"), "null");
  EXPECT_EQ(Eval("sqrt(16)"), "double 4");
  EXPECT_EQ(Eval("sqrt(0)"), "double 0");
}

TEST_F(ExpressionTest, ExpOverflowGivesNull) {
  EXPECT_EQ(Eval("exp(0)"), "double 1");
  EXPECT_EQ(Eval("exp(1000)"), "null");
  EXPECT_EQ(Eval("exp(-1000)"), "double 0");
}

TEST_F(ExpressionTest, Pow) {
  EXPECT_EQ(Eval("pow(2, 10)"), "double 1024");
  EXPECT_EQ(Eval("pow(4, 0.5)"), "double 2");
  EXPECT_EQ(Eval("pow(2, -1)"), "double 0.5");
  EXPECT_EQ(Eval("pow(10, 400)"), "null");    // overflow
  EXPECT_EQ(Eval("pow(0, -1)"), "null");      // infinity
  EXPECT_EQ(Eval("pow(-8, 1 / 3)"), "null");  // not a real number
  EXPECT_EQ(Eval("pow(ni, 2)"), "null");
}

TEST_F(ExpressionTest, Abs) {
  EXPECT_EQ(Eval("abs(-3)"), "int 3");
  EXPECT_EQ(Eval("abs(j)"), "int 3");
  EXPECT_EQ(Eval("abs(-2.5)"), "double 2.5");
  EXPECT_EQ(Eval("abs(ni)"), "null");
}

TEST_F(ExpressionTest, MinAndMax) {
  EXPECT_EQ(Eval("min(3, 1, 2)"), "int 1");
  EXPECT_EQ(Eval("max(3, 1, 2)"), "int 3");
  EXPECT_EQ(Eval("min(i, j)"), "int -3");
  EXPECT_EQ(Eval("max(1, 2.5)"), "double 2.5");
  EXPECT_EQ(Eval("max(3, 2.5)"), "double 3");  // the common type is double
  EXPECT_EQ(TypeOf("min(i, d)"), ExprType::kDouble);
}

TEST_F(ExpressionTest, MinAndMaxSkipNulls) {
  EXPECT_EQ(Eval("min(ni, 3)"), "int 3");
  EXPECT_EQ(Eval("max(3, ni, 5)"), "int 5");
  EXPECT_EQ(Eval("min(nd, i)"), "double 7");
  EXPECT_EQ(Eval("max(ni, ni)"), "null");
  EXPECT_EQ(Eval("max(null, null)"), "null");
}

TEST_F(ExpressionTest, Coalesce) {
  EXPECT_EQ(Eval("coalesce(ni, 0)"), "int 0");
  EXPECT_EQ(Eval("coalesce(i, 0)"), "int 7");
  EXPECT_EQ(Eval("coalesce(ni, nd, 1.5)"), "double 1.5");
  EXPECT_EQ(Eval("coalesce(i, 2.5)"), "double 7");  // widened to the common type
  EXPECT_EQ(Eval("coalesce(ns, \"none\")"), "string 'none'");
  EXPECT_EQ(Eval("coalesce(nb, false)"), "bool false");
  EXPECT_EQ(Eval("coalesce(ni)"), "null");
  EXPECT_EQ(Eval("coalesce(null, null)"), "null");
}

TEST_F(ExpressionTest, Clamp) {
  EXPECT_EQ(Eval("clamp(15, 0, 10)"), "int 10");
  EXPECT_EQ(Eval("clamp(-1, 0, 10)"), "int 0");
  EXPECT_EQ(Eval("clamp(i, 0, 10)"), "int 7");
  EXPECT_EQ(Eval("clamp(5, 0, 10.0)"), "double 5");
  EXPECT_EQ(Eval("clamp(d, 0, 1)"), "double 1");
  EXPECT_EQ(Eval("clamp(ni, 0, 10)"), "null");
  EXPECT_EQ(Eval("clamp(5, ni, 10)"), "null");
  EXPECT_EQ(Eval("clamp(5, 0, nd)"), "null");
}

TEST_F(ExpressionTest, ClampWithLowAboveHighPrefersLow) {
  EXPECT_EQ(Eval("clamp(5, 10, 0)"), "int 10");
  EXPECT_EQ(Eval("clamp(20, 10, 0)"), "int 0");
}

// ---- Conditionals ----

TEST_F(ExpressionTest, IfFunction) {
  EXPECT_EQ(Eval("if(b, 1, 2)"), "int 1");
  EXPECT_EQ(Eval("if(f, 1, 2)"), "int 2");
  EXPECT_EQ(Eval("if(i > 5, \"big\", \"small\")"), "string 'big'");
  EXPECT_EQ(Eval("if(b, 1, 2) + 10"), "int 11");
}

TEST_F(ExpressionTest, IfThenElse) {
  EXPECT_EQ(Eval("if b then 1 else 2"), "int 1");
  EXPECT_EQ(Eval("if i < 0 then \"neg\" else \"non-negative\""), "string 'non-negative'");
  EXPECT_EQ(Eval("if f then 1 else if b then 2 else 3"), "int 2");
  EXPECT_EQ(Eval("1 + (if b then 1 else 2)"), "int 2");
  // The else branch extends as far right as possible.
  EXPECT_EQ(Eval("if f then 1 else 2 + 10"), "int 12");
}

TEST_F(ExpressionTest, IfThenElseWithParenthesisedCondition) {
  // Regression: `if (` used to be taken as the start of if(c, a, b).
  EXPECT_EQ(Eval("if (i > 0) then 1 else 2"), "int 1");
  EXPECT_EQ(Eval("if (f) then 1 else 2"), "int 2");
  EXPECT_EQ(Eval("if (min(i, j) < 0) then \"some negative\" else \"none\""),
            "string 'some negative'");
  EXPECT_EQ(Eval("if (i > 0) and b then 1 else 2"), "int 1");
}

TEST_F(ExpressionTest, IfWithNullConditionTakesElse) {
  EXPECT_EQ(Eval("if(nb, 1, 2)"), "int 2");
  EXPECT_EQ(Eval("if nb then 1 else 2"), "int 2");
  EXPECT_EQ(Eval("if ni > 0 then \"pos\" else \"not known positive\""),
            "string 'not known positive'");
  EXPECT_EQ(Eval("if(null, 1, 2)"), "int 2");
}

TEST_F(ExpressionTest, IfBranchesWidenToACommonType) {
  EXPECT_EQ(Eval("if(b, 1, 2.5)"), "double 1");
  EXPECT_EQ(TypeOf("if b then 1 else 2.5"), ExprType::kDouble);
  EXPECT_EQ(Eval("if(b, null, 2)"), "null");
  EXPECT_EQ(TypeOf("if(b, null, 2)"), ExprType::kInt);
}

TEST_F(ExpressionTest, IfThenElseInsideAnOperatorNeedsParentheses) {
  EXPECT_EQ(CompileError("1 + if b then 1 else 2"),
            "expression '1 + if b then 1 else 2': at position 5: 'if ... then ... else' inside a "
            "larger expression must be in parentheses, like 1 + (if c then a else b)");
}

TEST_F(ExpressionTest, IfThenElseErrors) {
  EXPECT_EQ(CompileError("if b then 1"),
            "expression 'if b then 1': at position 12: expected 'else', got end of expression");
  EXPECT_EQ(CompileError("if b 1 else 2"),
            "expression 'if b 1 else 2': at position 6: expected 'then', got number 1");
  EXPECT_EQ(CompileError("if i then 1 else 2"),
            "expression 'if i then 1 else 2': at position 1: the condition of 'if' must be a "
            "bool, got int");
  EXPECT_EQ(CompileError("if(b, 1, \"x\")"),
            "expression 'if(b, 1, \"x\")': at position 1: the branches of 'if' have different "
            "types: int and string");
}

// ---- in / not in ----

TEST_F(ExpressionTest, InWithStrings) {
  EXPECT_EQ(Eval("s in (\"web\", \"app\")"), "bool true");
  EXPECT_EQ(Eval("channel in (\"web\", \"app\")"), "bool false");
  EXPECT_EQ(Eval("s in ('web')"), "bool true");
}

TEST_F(ExpressionTest, NotInWithStrings) {
  EXPECT_EQ(Eval("s not in (\"web\", \"app\")"), "bool false");
  EXPECT_EQ(Eval("channel not in (\"web\", \"app\")"), "bool true");
  EXPECT_EQ(Eval("not s in (\"web\")"), "bool false");
}

TEST_F(ExpressionTest, InWithNumbers) {
  EXPECT_EQ(Eval("i in (1, 7, 9)"), "bool true");
  EXPECT_EQ(Eval("i in (1, 2)"), "bool false");
  EXPECT_EQ(Eval("i not in (1, 2)"), "bool true");
  EXPECT_EQ(Eval("i in (7.0)"), "bool true");
  EXPECT_EQ(Eval("d in (1, 2.5)"), "bool true");
  EXPECT_EQ(Eval("i in (j + 10, 0)"), "bool true");  // items may be expressions
}

TEST_F(ExpressionTest, InWithANullValueIsNull) {
  EXPECT_EQ(Eval("ns in (\"web\")"), "null");
  EXPECT_EQ(Eval("ni not in (1, 2)"), "null");
}

TEST_F(ExpressionTest, InSkipsItemsThatEvaluateToNull) {
  EXPECT_EQ(Eval("i in (ni, 7)"), "bool true");
  EXPECT_EQ(Eval("i in (ni)"), "bool false");
  EXPECT_EQ(Eval("i not in (ni)"), "bool true");
}

TEST_F(ExpressionTest, InErrors) {
  EXPECT_EQ(CompileError("s in (\"a\", 1)"),
            "expression 's in (\"a\", 1)': at position 12: 'in' list item is int but the value "
            "is string");
  EXPECT_EQ(CompileError("i in (1, null)"),
            "expression 'i in (1, null)': at position 10: null cannot be in an 'in' list");
  EXPECT_EQ(CompileError("i in 1, 2"),
            "expression 'i in 1, 2': at position 6: expected '(' to start the list after 'in', got "
            "number 1");
  EXPECT_EQ(CompileError("i in (1, 2"),
            "expression 'i in (1, 2': at position 11: expected ',' or ')' in the 'in' list, got "
            "end of expression");
}

// ---- Compile errors name the expression, the position and what was expected ----

TEST_F(ExpressionTest, UnknownNameSuggestsAVariable) {
  EXPECT_EQ(CompileError("amout > 0"),
            "expression 'amout > 0': at position 1: unknown name 'amout' (did you mean "
            "'amount'?)");
  EXPECT_EQ(CompileError("i + chanel"),
            "expression 'i + chanel': at position 5: unknown name 'chanel' (did you mean "
            "'channel'?)");
}

TEST_F(ExpressionTest, UnknownNameWithoutSuggestionListsNames) {
  EXPECT_EQ(CompileError("price > 0"),
            "expression 'price > 0': at position 1: unknown name 'price'; known names: i, j, big, "
            "small, d, amount, s, channel, b, f, ni, nd, ns, nb");
  Result<Expression> e = Expression::Compile("x", {});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "expression 'x': at position 1: unknown name 'x'");
}

TEST_F(ExpressionTest, UnknownFunctionSuggestsAFunction) {
  EXPECT_EQ(CompileError("sqr(4)"),
            "expression 'sqr(4)': at position 1: unknown function 'sqr' (did you mean 'sqrt'?)");
  EXPECT_EQ(CompileError("1 + isnull(i)"),
            "expression '1 + isnull(i)': at position 5: unknown function 'isnull' (did you mean "
            "'is_null'?)");
}

TEST_F(ExpressionTest, UnknownFunctionWithoutSuggestionListsFunctions) {
  EXPECT_EQ(CompileError("round(d)"),
            "expression 'round(d)': at position 1: unknown function 'round'; functions are abs, "
            "clamp, coalesce, exp, if, is_null, log, max, min, pow, sqrt");
}

TEST_F(ExpressionTest, WrongNumberOfArguments) {
  EXPECT_EQ(CompileError("abs(1, 2)"),
            "expression 'abs(1, 2)': at position 1: abs() takes 1 argument, got 2");
  EXPECT_EQ(CompileError("sqrt()"),
            "expression 'sqrt()': at position 1: sqrt() takes 1 argument, got 0");
  EXPECT_EQ(CompileError("pow(2)"),
            "expression 'pow(2)': at position 1: pow() takes 2 arguments, got 1");
  EXPECT_EQ(CompileError("min(1)"),
            "expression 'min(1)': at position 1: min() takes at least 2 arguments, got 1");
  EXPECT_EQ(CompileError("coalesce()"),
            "expression 'coalesce()': at position 1: coalesce() takes at least 1 argument, got 0");
  EXPECT_EQ(CompileError("if(b, 1)"),
            "expression 'if(b, 1)': at position 1: if() takes 3 arguments, got 2");
  EXPECT_EQ(CompileError("clamp(1, 2)"),
            "expression 'clamp(1, 2)': at position 1: clamp() takes 3 arguments, got 2");
  EXPECT_EQ(CompileError("is_null(i, j)"),
            "expression 'is_null(i, j)': at position 1: is_null() takes 1 argument, got 2");
}

TEST_F(ExpressionTest, ArithmeticOnAStringIsATypeError) {
  EXPECT_EQ(CompileError("\"abc\" + 1"),
            "expression '\"abc\" + 1': at position 7: arithmetic needs numbers, got string");
  EXPECT_EQ(CompileError("b * 2"),
            "expression 'b * 2': at position 3: arithmetic needs numbers, got bool");
  EXPECT_EQ(CompileError("-s"),
            "expression '-s': at position 1: unary '-' needs a number, got string");
  EXPECT_EQ(CompileError("+s"),
            "expression '+s': at position 1: unary '+' needs a number, got string");
  EXPECT_EQ(CompileError("+b"),
            "expression '+b': at position 1: unary '+' needs a number, got bool");
}

TEST_F(ExpressionTest, ComparingDifferentTypesIsATypeError) {
  EXPECT_EQ(CompileError("s < 1"),
            "expression 's < 1': at position 3: cannot compare string with int using '<'");
  EXPECT_EQ(CompileError("b == 1"),
            "expression 'b == 1': at position 3: cannot compare bool with int using '=='");
  EXPECT_EQ(CompileError("b < f"),
            "expression 'b < f': at position 3: bools can only be compared with == and !=");
}

TEST_F(ExpressionTest, LogicOnNonBoolsIsATypeError) {
  EXPECT_EQ(CompileError("i and b"),
            "expression 'i and b': at position 3: 'and' needs bools, got int");
  EXPECT_EQ(CompileError("b or s"),
            "expression 'b or s': at position 3: 'or' needs bools, got string");
  EXPECT_EQ(CompileError("not i"),
            "expression 'not i': at position 1: 'not' needs a bool, got int");
}

TEST_F(ExpressionTest, FunctionArgumentTypeErrors) {
  EXPECT_EQ(CompileError("sqrt(s)"),
            "expression 'sqrt(s)': at position 6: sqrt() needs a number, got string");
  EXPECT_EQ(CompileError("min(1, s)"),
            "expression 'min(1, s)': at position 8: min() needs a number, got string");
  EXPECT_EQ(CompileError("coalesce(i, s)"),
            "expression 'coalesce(i, s)': at position 13: coalesce() arguments must have one type; "
            "got int and string");
  EXPECT_EQ(CompileError("clamp(i, 0, b)"),
            "expression 'clamp(i, 0, b)': at position 13: clamp() needs a number, got bool");
}

TEST_F(ExpressionTest, UnexpectedCharacter) {
  EXPECT_EQ(CompileError("i # 2"), "expression 'i # 2': at position 3: unexpected character '#'");
  EXPECT_EQ(CompileError("i ^ 2"), "expression 'i ^ 2': at position 3: unexpected character '^'");
  EXPECT_EQ(CompileError("amount.value"),
            "expression 'amount.value': at position 7: unexpected character '.'");
}

TEST_F(ExpressionTest, NonAsciiOutsideStringsIsAnUnexpectedCharacter) {
  EXPECT_EQ(CompileError("\xc3\xa9t\xc3\xa9 > 1"),
            "expression '\xc3\xa9t\xc3\xa9 > 1': at position 1: unexpected character '\\xc3'");
}

TEST_F(ExpressionTest, SingleEqualsSuggestsDoubleEquals) {
  EXPECT_EQ(CompileError("i = 1"),
            "expression 'i = 1': at position 3: unexpected '='; use '==' to compare");
}

TEST_F(ExpressionTest, IncompleteExpressions) {
  EXPECT_EQ(CompileError(""), "expression '': at position 1: empty expression");
  EXPECT_EQ(CompileError("   "), "expression '   ': at position 1: empty expression");
  EXPECT_EQ(CompileError("1 +"),
            "expression '1 +': at position 4: expected a value (number, string, name, function "
            "call or '('), got end of expression");
  EXPECT_EQ(CompileError("(1 + 2"),
            "expression '(1 + 2': at position 7: expected ')', got end of expression");
  EXPECT_EQ(CompileError("abs(1"),
            "expression 'abs(1': at position 6: expected ',' or ')' after a function argument, got "
            "end of expression");
  EXPECT_EQ(CompileError("1 2"),
            "expression '1 2': at position 3: unexpected number 2; expected an operator or the end "
            "of the expression");
  EXPECT_EQ(CompileError("i j"),
            "expression 'i j': at position 3: unexpected name 'j'; expected an operator or the end "
            "of the expression");
  EXPECT_EQ(CompileError("i )"),
            "expression 'i )': at position 3: unexpected ')'; expected an operator or the end of "
            "the expression");
  EXPECT_EQ(CompileError("* 2"),
            "expression '* 2': at position 1: expected a value (number, string, name, function "
            "call or '('), got '*'");
}

TEST_F(ExpressionTest, PositionsCountBytesFromOne) {
  // "é" is two bytes, so 'zz' is at position 14 although it is the 13th character.
  EXPECT_EQ(CompileError("s == \"\xc3\xa9\" or zz"),
            "expression 's == \"\xc3\xa9\" or zz': at position 14: unknown name 'zz'; known "
            "names: i, j, big, small, d, amount, s, channel, b, f, ni, nd, ns, nb");
}

TEST_F(ExpressionTest, LongExpressionsAreShortenedInMessages) {
  std::string text = "i + " + std::string(300, ' ') + "zz";
  std::string msg = CompileError(text);
  EXPECT_TRUE(msg.starts_with("expression '" + text.substr(0, 200) +
                              "...': at position 305: unknown name 'zz'"))
      << msg;
}

TEST_F(ExpressionTest, OverlongExpressionIsRejected) {
  std::string text(64 * 1024 + 1, ' ');
  text[0] = '1';
  EXPECT_EQ(CompileError(text), "expression is longer than 65536 bytes");
}

// ---- Nesting limits: deep input fails cleanly ----

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int k = 0; k < n; ++k) out.append(s);
  return out;
}

TEST_F(ExpressionTest, ModeratelyNestedParenthesesCompile) {
  EXPECT_EQ(Eval(Repeat("(", 50) + "i" + Repeat(")", 50)), "int 7");
  EXPECT_EQ(Eval(Repeat("abs(", 30) + "j" + Repeat(")", 30)), "int 3");
}

TEST_F(ExpressionTest, DeeplyNestedParenthesesFailCleanly) {
  std::string msg = CompileError(Repeat("(", 1000) + "1" + Repeat(")", 1000));
  EXPECT_NE(msg.find("expression is nested too deeply"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at position 66:"), std::string::npos) << msg;
}

TEST_F(ExpressionTest, DeeplyNestedOperatorsFailCleanly) {
  const std::string cases[] = {
      Repeat("not ", 1000) + "b",
      Repeat("-", 1000) + "1",
      Repeat("- ", 1000) + "1",
      Repeat("+", 1000) + "1",
      Repeat("abs(", 1000) + "1" + Repeat(")", 1000),
      Repeat("if b then 1 else ", 1000) + "2",
      Repeat("if(b, 1, ", 1000) + "2" + Repeat(")", 1000),
      Repeat("min(1, ", 1000) + "2" + Repeat(")", 1000),
      "i in (" + Repeat("(", 1000) + "1" + Repeat(")", 1000) + ")",
  };
  for (const std::string& text : cases) {
    std::string msg = CompileError(text);
    EXPECT_NE(msg.find("expression is nested too deeply"), std::string::npos)
        << text.substr(0, 40) << ": " << msg;
  }
}

TEST_F(ExpressionTest, LongOperatorChainsFailCleanly) {
  // A chain does not nest in the parser, but it nests in the compiled tree:
  // evaluation would recurse once per operator.
  const std::string cases[] = {
      "1" + Repeat(" + 1", 1000), "b" + Repeat(" or b", 1000), "b" + Repeat(" and b", 1000),
      "1" + Repeat(" * 1", 1000), "1" + Repeat("+1", 30000),
  };
  for (const std::string& text : cases) {
    std::string msg = CompileError(text);
    EXPECT_NE(msg.find("expression is nested too deeply (a chain of more than 256 operators)"),
              std::string::npos)
        << text.substr(0, 40) << ": " << msg;
  }
}

TEST_F(ExpressionTest, ChainsUpToTheLimitCompileAndEvaluate) {
  EXPECT_EQ(Eval("1" + Repeat(" + 1", 256)), "int 257");
  // The 257th '+' is the first one too many; it is at byte 4 * 257 - 2.
  std::string text = "1" + Repeat(" + 1", 257);
  EXPECT_EQ(CompileError(text), "expression '" + text.substr(0, 200) +
                                    "...': at position 1027: expression is nested too deeply (a "
                                    "chain of more than 256 operators); for many alternatives "
                                    "use 'x in (a, b, ...)'");
  EXPECT_EQ(Eval("f" + Repeat(" or f", 200) + " or b"), "bool true");
}

// ---- Referenced variables ----

TEST_F(ExpressionTest, ReferencedVariablesAreSortedAndUnique) {
  Result<Expression> e = Compile("d + i + d * i > 0 and s == \"x\"");
  ASSERT_TRUE(e.ok());
  // Indices in the variable list: i = 0, d = 4, s = 6.
  EXPECT_EQ(e->referenced_variables(), (std::vector<int>{0, 4, 6}));
}

TEST_F(ExpressionTest, ExpressionWithoutVariablesReferencesNone) {
  Result<Expression> e = Compile("1 + 2 > 2");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->referenced_variables().empty());
}

TEST_F(ExpressionTest, FunctionNamesAreNotVariables) {
  // A variable may share a name with a function; a call still means the function.
  std::vector<ExprVariable> vars = {{"abs", ExprType::kInt}};
  Result<Expression> e = Expression::Compile("abs(abs - 10)", vars);
  ASSERT_TRUE(e.ok()) << e.status().message();
  std::vector<ExprValue> values = {ExprValue::Int(3)};
  EXPECT_EQ(Show(e->Evaluate(values)), "int 7");
  EXPECT_EQ(e->referenced_variables(), std::vector<int>{0});
}

TEST_F(ExpressionTest, TextAndResultType) {
  Result<Expression> e = Compile("amount > 100");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->text(), "amount > 100");
  EXPECT_EQ(e->result_type(), ExprType::kBool);
  EXPECT_EQ(TypeOf("s"), ExprType::kString);
  EXPECT_EQ(TypeOf("sqrt(4)"), ExprType::kDouble);
  EXPECT_EQ(TypeOf("abs(i)"), ExprType::kInt);
}

TEST_F(ExpressionTest, CompiledExpressionIsAValueThatCanBeCopiedAndMoved) {
  Result<Expression> e = Compile("s in (\"web\", \"app\") and amount > 100");
  ASSERT_TRUE(e.ok());
  Expression copy = *e;
  Expression moved = std::move(*e);
  EXPECT_EQ(Show(copy.Evaluate(values_)), "bool true");
  EXPECT_EQ(Show(moved.Evaluate(values_)), "bool true");
}

TEST(ExprTypeTest, Names) {
  EXPECT_EQ(ExprTypeName(ExprType::kNull), "null");
  EXPECT_EQ(ExprTypeName(ExprType::kBool), "bool");
  EXPECT_EQ(ExprTypeName(ExprType::kInt), "int");
  EXPECT_EQ(ExprTypeName(ExprType::kDouble), "double");
  EXPECT_EQ(ExprTypeName(ExprType::kString), "string");
}

// ---- Randomized comparison against a reference evaluator ----
//
// Random well-typed expressions over int and double variables are printed
// with as few parentheses as precedence allows, compiled, and evaluated; the
// result must equal a direct evaluation of the same tree in C++ below, which
// implements the documented semantics independently of expression.cc.

enum class RType { kNull, kBool, kInt, kDouble };

struct RValue {
  RType type = RType::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  double AsDouble() const { return type == RType::kInt ? static_cast<double>(i) : d; }
};

RValue RNull() { return {}; }
RValue RBool(bool b) { return {RType::kBool, b, 0, 0}; }
RValue RInt(int64_t i) { return {RType::kInt, false, i, 0}; }
RValue RDouble(double d) {
  return std::isfinite(d) ? RValue{RType::kDouble, false, 0, d} : RNull();
}

enum class RKind {
  kIntLit,
  kDoubleLit,
  kNullLit,
  kVar,
  kNeg,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kAbs,
  kSqrt,
  kLog,
  kExp,
  kPow,
  kMin,
  kMax,
  kClamp,
  kCoalesce,
  kIfCall,
  kIfKeyword,
  // Bool-valued, only used as conditions.
  kCmp,
  kAnd,
  kOr,
  kNot,
  kIsNull,
};

struct RNode {
  RKind kind;
  RType type;  // static type, as the compiler must infer it
  int64_t i = 0;
  double d = 0;
  int var = -1;
  std::string cmp;  // kCmp: "<", "<=", ...
  std::vector<std::unique_ptr<RNode>> kids;
};

// Precedence levels for printing: higher binds tighter.
int Precedence(const RNode& n) {
  switch (n.kind) {
    case RKind::kIfKeyword:
      return 0;
    case RKind::kOr:
      return 1;
    case RKind::kAnd:
      return 2;
    case RKind::kNot:
      return 3;
    case RKind::kCmp:
      return 4;
    case RKind::kAdd:
    case RKind::kSub:
      return 5;
    case RKind::kMul:
    case RKind::kDiv:
    case RKind::kMod:
      return 6;
    case RKind::kNeg:
      return 7;
    default:
      return 8;  // literals, variables, calls
  }
}

class RandomExprTest : public ::testing::Test {
 protected:
  static constexpr int kNumInts = 3;
  static constexpr int kNumDoubles = 3;

  RandomExprTest() : rng_(20240501) {
    for (int k = 0; k < kNumInts; ++k) vars_.push_back({StrCat("i", k), ExprType::kInt});
    for (int k = 0; k < kNumDoubles; ++k) vars_.push_back({StrCat("d", k), ExprType::kDouble});
  }

  int Rand(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  static RType Widen(RType a, RType b) {
    if (a == RType::kNull) return b;
    if (b == RType::kNull) return a;
    return a == b ? a : RType::kDouble;
  }

  std::unique_ptr<RNode> Make(RKind kind, RType type) {
    auto n = std::make_unique<RNode>();
    n->kind = kind;
    n->type = type;
    return n;
  }

  std::unique_ptr<RNode> Leaf() {
    int r = Rand(20);
    if (r < 9) {
      int v = Rand(kNumInts + kNumDoubles);
      auto n = Make(RKind::kVar, v < kNumInts ? RType::kInt : RType::kDouble);
      n->var = v;
      return n;
    }
    if (r < 15) {
      static const int64_t kInts[] = {0, 1, 2, 3, 7, 10, 100, 4611686018427387904, kInt64Max};
      auto n = Make(RKind::kIntLit, RType::kInt);
      n->i = kInts[Rand(std::size(kInts))];
      return n;
    }
    if (r < 19) {
      static const double kDoubles[] = {0.0, 0.5, 1.5, 2.0, 0.1, 1e-3, 3.25, 1e300, 1e-300};
      auto n = Make(RKind::kDoubleLit, RType::kDouble);
      n->d = kDoubles[Rand(std::size(kDoubles))];
      return n;
    }
    return Make(RKind::kNullLit, RType::kNull);
  }

  // A numeric (int, double or null-typed) expression.
  std::unique_ptr<RNode> Numeric(int depth) {
    if (depth <= 0 || Rand(10) < 2) return Leaf();
    int r = Rand(21);
    if (r < 8) {
      static const RKind kOps[] = {RKind::kAdd, RKind::kSub, RKind::kMul, RKind::kDiv, RKind::kMod};
      RKind op = kOps[Rand(std::size(kOps))];
      auto a = Numeric(depth - 1);
      auto b = Numeric(depth - 1);
      RType t;
      if (op == RKind::kDiv) {
        t = RType::kDouble;
      } else if (a->type == RType::kNull && b->type == RType::kNull) {
        t = RType::kNull;
      } else if (a->type != RType::kDouble && b->type != RType::kDouble) {
        t = RType::kInt;
      } else {
        t = RType::kDouble;
      }
      auto n = Make(op, t);
      n->kids.push_back(std::move(a));
      n->kids.push_back(std::move(b));
      return n;
    }
    if (r < 10) {
      auto a = Numeric(depth - 1);
      RKind kind = Rand(2) ? RKind::kNeg : RKind::kAbs;
      auto n = Make(kind, a->type);
      n->kids.push_back(std::move(a));
      return n;
    }
    if (r < 12) {
      static const RKind kFns[] = {RKind::kSqrt, RKind::kLog, RKind::kExp};
      auto n = Make(kFns[Rand(3)], RType::kDouble);
      n->kids.push_back(Numeric(depth - 1));
      return n;
    }
    if (r < 13) {
      auto n = Make(RKind::kPow, RType::kDouble);
      n->kids.push_back(Numeric(depth - 1));
      n->kids.push_back(Numeric(depth - 1));
      return n;
    }
    if (r < 17) {
      static const RKind kFns[] = {RKind::kMin, RKind::kMax, RKind::kCoalesce, RKind::kClamp};
      RKind kind = kFns[Rand(4)];
      int arity = kind == RKind::kClamp ? 3 : (kind == RKind::kCoalesce ? 1 : 2) + Rand(3);
      auto n = Make(kind, RType::kNull);
      for (int k = 0; k < arity; ++k) {
        n->kids.push_back(Numeric(depth - 1));
        n->type = Widen(n->type, n->kids.back()->type);
      }
      return n;
    }
    auto n = Make(Rand(2) ? RKind::kIfCall : RKind::kIfKeyword, RType::kNull);
    n->kids.push_back(Condition(depth - 1));
    n->kids.push_back(Numeric(depth - 1));
    n->kids.push_back(Numeric(depth - 1));
    n->type = Widen(n->kids[1]->type, n->kids[2]->type);
    return n;
  }

  // A numeric expression whose static type is not null (comparison operands).
  std::unique_ptr<RNode> NonNullNumeric(int depth) {
    auto n = Numeric(depth);
    while (n->type == RType::kNull) n = Numeric(depth);
    return n;
  }

  std::unique_ptr<RNode> Condition(int depth) {
    int r = depth <= 0 ? 0 : Rand(10);
    if (r < 6) {
      static const char* kCmps[] = {"<", "<=", ">", ">=", "==", "!="};
      auto n = Make(RKind::kCmp, RType::kBool);
      n->cmp = kCmps[Rand(6)];
      n->kids.push_back(NonNullNumeric(depth - 1));
      n->kids.push_back(NonNullNumeric(depth - 1));
      return n;
    }
    if (r < 8) {
      auto n = Make(Rand(2) ? RKind::kAnd : RKind::kOr, RType::kBool);
      n->kids.push_back(Condition(depth - 1));
      n->kids.push_back(Condition(depth - 1));
      return n;
    }
    if (r < 9) {
      auto n = Make(RKind::kNot, RType::kBool);
      n->kids.push_back(Condition(depth - 1));
      return n;
    }
    auto n = Make(RKind::kIsNull, RType::kBool);
    n->kids.push_back(Numeric(depth - 1));
    return n;
  }

  // ---- Printing ----

  static std::string Literal(double d) {
    std::string s;
    AppendDouble(s, d);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
  }

  std::string Print(const RNode& n) {
    auto child = [&](const RNode& c, bool parens) {
      std::string s = Print(c);
      return parens ? "(" + s + ")" : s;
    };
    auto args = [&](std::string_view name) {
      std::string s = StrCat(name, "(");
      for (size_t k = 0; k < n.kids.size(); ++k) {
        if (k > 0) s += ", ";
        s += Print(*n.kids[k]);
      }
      return s + ")";
    };
    const int p = Precedence(n);
    auto binary = [&](std::string_view op) {
      // Left-associative: the right operand needs parentheses at equal precedence.
      return child(*n.kids[0], Precedence(*n.kids[0]) < p) + " " + std::string(op) + " " +
             child(*n.kids[1], Precedence(*n.kids[1]) <= p);
    };
    switch (n.kind) {
      case RKind::kIntLit:
        return StrCat(n.i);
      case RKind::kDoubleLit:
        return Literal(n.d);
      case RKind::kNullLit:
        return "null";
      case RKind::kVar:
        return vars_[n.var].name;
      case RKind::kNeg:
        return "-" + child(*n.kids[0], Precedence(*n.kids[0]) < p);
      case RKind::kNot:
        return "not " + child(*n.kids[0], Precedence(*n.kids[0]) < p);
      case RKind::kAdd:
        return binary("+");
      case RKind::kSub:
        return binary("-");
      case RKind::kMul:
        return binary("*");
      case RKind::kDiv:
        return binary("/");
      case RKind::kMod:
        return binary("%");
      case RKind::kAnd:
        return binary(Rand(2) ? "and" : "&&");
      case RKind::kOr:
        return binary(Rand(2) ? "or" : "||");
      case RKind::kCmp:
        // Comparisons do not chain; operands are arithmetic and bind tighter.
        return child(*n.kids[0], Precedence(*n.kids[0]) <= p) + " " + n.cmp + " " +
               child(*n.kids[1], Precedence(*n.kids[1]) <= p);
      case RKind::kAbs:
        return args("abs");
      case RKind::kSqrt:
        return args("sqrt");
      case RKind::kLog:
        return args("log");
      case RKind::kExp:
        return args("exp");
      case RKind::kPow:
        return args("pow");
      case RKind::kMin:
        return args("min");
      case RKind::kMax:
        return args("max");
      case RKind::kClamp:
        return args("clamp");
      case RKind::kCoalesce:
        return args("coalesce");
      case RKind::kIsNull:
        return args("is_null");
      case RKind::kIfCall:
        return args("if");
      case RKind::kIfKeyword: {
        // Lowest precedence: a parent operator wraps it in parentheses.
        std::string cond = Print(*n.kids[0]);
        if (Rand(2)) cond = "(" + cond + ")";
        return "if " + cond + " then " + Print(*n.kids[1]) + " else " + Print(*n.kids[2]);
      }
    }
    return "?";
  }

  // ---- Reference evaluation ----

  static int Cmp3(const RValue& a, const RValue& b) {
    if (a.type == RType::kInt && b.type == RType::kInt) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    double x = a.AsDouble(), y = b.AsDouble();
    return x < y ? -1 : x > y ? 1 : 0;
  }

  static RValue Widened(RValue v, RType type) {
    if (type == RType::kDouble && v.type == RType::kInt) return RDouble(static_cast<double>(v.i));
    return v;
  }

  RValue Ref(const RNode& n, const std::vector<RValue>& env) {
    auto kid = [&](size_t k) { return Ref(*n.kids[k], env); };
    switch (n.kind) {
      case RKind::kIntLit:
        return RInt(n.i);
      case RKind::kDoubleLit:
        return RDouble(n.d);
      case RKind::kNullLit:
        return RNull();
      case RKind::kVar:
        return env[n.var];
      case RKind::kNeg: {
        RValue a = kid(0);
        if (a.type == RType::kNull) return a;
        if (a.type == RType::kInt) return a.i == kInt64Min ? RNull() : RInt(-a.i);
        return RDouble(-a.d);
      }
      case RKind::kAbs: {
        RValue a = kid(0);
        if (a.type == RType::kNull) return a;
        if (a.type == RType::kInt) return a.i == kInt64Min ? RNull() : RInt(a.i < 0 ? -a.i : a.i);
        return RDouble(std::fabs(a.d));
      }
      case RKind::kAdd:
      case RKind::kSub:
      case RKind::kMul:
      case RKind::kDiv:
      case RKind::kMod: {
        RValue a = kid(0), b = kid(1);
        if (a.type == RType::kNull || b.type == RType::kNull) return RNull();
        if (a.type == RType::kInt && b.type == RType::kInt && n.kind != RKind::kDiv) {
          // Exact in 128 bits, then null when it does not fit in 64.
          __int128 x = a.i, y = b.i, r = 0;
          if (n.kind == RKind::kAdd) r = x + y;
          if (n.kind == RKind::kSub) r = x - y;
          if (n.kind == RKind::kMul) r = x * y;
          if (n.kind == RKind::kMod) {
            if (y == 0) return RNull();
            r = x % y;
          }
          if (r < kInt64Min || r > kInt64Max) return RNull();
          return RInt(static_cast<int64_t>(r));
        }
        double x = a.AsDouble(), y = b.AsDouble();
        if (n.kind == RKind::kAdd) return RDouble(x + y);
        if (n.kind == RKind::kSub) return RDouble(x - y);
        if (n.kind == RKind::kMul) return RDouble(x * y);
        if (y == 0) return RNull();
        if (n.kind == RKind::kDiv) return RDouble(x / y);
        return RDouble(std::fmod(x, y));
      }
      case RKind::kSqrt: {
        RValue a = kid(0);
        if (a.type == RType::kNull || a.AsDouble() < 0) return RNull();
        return RDouble(std::sqrt(a.AsDouble()));
      }
      case RKind::kLog: {
        RValue a = kid(0);
        if (a.type == RType::kNull || a.AsDouble() <= 0) return RNull();
        return RDouble(std::log(a.AsDouble()));
      }
      case RKind::kExp: {
        RValue a = kid(0);
        if (a.type == RType::kNull) return a;
        return RDouble(std::exp(a.AsDouble()));
      }
      case RKind::kPow: {
        RValue a = kid(0), b = kid(1);
        if (a.type == RType::kNull || b.type == RType::kNull) return RNull();
        return RDouble(std::pow(a.AsDouble(), b.AsDouble()));
      }
      case RKind::kMin:
      case RKind::kMax: {
        RValue best;
        for (size_t k = 0; k < n.kids.size(); ++k) {
          RValue v = kid(k);
          if (v.type == RType::kNull) continue;
          int c = best.type == RType::kNull ? 0 : Cmp3(v, best);
          if (best.type == RType::kNull || (n.kind == RKind::kMin ? c < 0 : c > 0)) best = v;
        }
        return Widened(best, n.type);
      }
      case RKind::kClamp: {
        RValue x = kid(0), lo = kid(1), hi = kid(2);
        if (x.type == RType::kNull || lo.type == RType::kNull || hi.type == RType::kNull) {
          return RNull();
        }
        RValue r = Cmp3(x, lo) < 0 ? lo : Cmp3(x, hi) > 0 ? hi : x;
        return Widened(r, n.type);
      }
      case RKind::kCoalesce:
        for (size_t k = 0; k < n.kids.size(); ++k) {
          RValue v = kid(k);
          if (v.type != RType::kNull) return Widened(v, n.type);
        }
        return RNull();
      case RKind::kIfCall:
      case RKind::kIfKeyword: {
        RValue c = kid(0);
        bool take_then = c.type == RType::kBool && c.b;
        return Widened(kid(take_then ? 1 : 2), n.type);
      }
      case RKind::kCmp: {
        RValue a = kid(0), b = kid(1);
        if (a.type == RType::kNull || b.type == RType::kNull) return RNull();
        int c = Cmp3(a, b);
        if (n.cmp == "<") return RBool(c < 0);
        if (n.cmp == "<=") return RBool(c <= 0);
        if (n.cmp == ">") return RBool(c > 0);
        if (n.cmp == ">=") return RBool(c >= 0);
        if (n.cmp == "==") return RBool(c == 0);
        return RBool(c != 0);
      }
      case RKind::kAnd:
      case RKind::kOr: {
        // Kleene logic: the dominant value (false for and, true for or) wins
        // over null.
        RValue a = kid(0), b = kid(1);
        bool dominant = n.kind == RKind::kOr;
        if ((a.type == RType::kBool && a.b == dominant) ||
            (b.type == RType::kBool && b.b == dominant)) {
          return RBool(dominant);
        }
        if (a.type == RType::kNull || b.type == RType::kNull) return RNull();
        return RBool(!dominant);
      }
      case RKind::kNot: {
        RValue a = kid(0);
        return a.type == RType::kNull ? a : RBool(!a.b);
      }
      case RKind::kIsNull:
        return RBool(kid(0).type == RType::kNull);
    }
    return RNull();
  }

  RValue RandomValue(RType type) {
    if (Rand(8) == 0) return RNull();
    if (type == RType::kInt) {
      static const int64_t kInts[] = {0,          1,          -1,        2,         -2,
                                      3,          5,          -7,        10,        100,
                                      -1000,      123456789,  kInt64Max, kInt64Min, kInt64Max - 1,
                                      3037000500, -3037000500};
      return RInt(kInts[Rand(std::size(kInts))]);
    }
    static const double kDoubles[] = {0.0,  -0.0, 0.5,  -0.5,  1.0,    -1.0,  2.5, 1e-9,
                                      3.75, 100,  -1e6, 1e200, -1e300, 1e308, 0.1, 9.2e18};
    return RDouble(kDoubles[Rand(std::size(kDoubles))]);
  }

  static ExprValue ToExpr(const RValue& v) {
    switch (v.type) {
      case RType::kNull:
        return ExprValue::Null();
      case RType::kBool:
        return ExprValue::Bool(v.b);
      case RType::kInt:
        return ExprValue::Int(v.i);
      case RType::kDouble:
        return ExprValue::Double(v.d);
    }
    return ExprValue::Null();
  }

  static ExprType ToExprType(RType t) {
    switch (t) {
      case RType::kNull:
        return ExprType::kNull;
      case RType::kBool:
        return ExprType::kBool;
      case RType::kInt:
        return ExprType::kInt;
      case RType::kDouble:
        return ExprType::kDouble;
    }
    return ExprType::kNull;
  }

  static std::string ShowRef(const RValue& v) { return Show(ToExpr(v)); }

  std::mt19937_64 rng_;
  std::vector<ExprVariable> vars_;
};

TEST_F(RandomExprTest, EvaluateMatchesAReferenceEvaluator) {
  int compared = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::unique_ptr<RNode> tree = Rand(4) == 0 ? Condition(5) : Numeric(5);
    std::string text = Print(*tree);
    Result<Expression> e = Expression::Compile(text, vars_);
    ASSERT_TRUE(e.ok()) << text << "\n" << e.status().message();
    ASSERT_EQ(e->result_type(), ToExprType(tree->type)) << text;
    for (int run = 0; run < 20; ++run) {
      std::vector<RValue> env;
      for (int k = 0; k < kNumInts; ++k) env.push_back(RandomValue(RType::kInt));
      for (int k = 0; k < kNumDoubles; ++k) env.push_back(RandomValue(RType::kDouble));
      std::vector<ExprValue> values;
      for (const RValue& v : env) values.push_back(ToExpr(v));
      RValue want = Ref(*tree, env);
      ExprValue got = e->Evaluate(values);
      if (want.type != RType::kNull) want = Widened(want, tree->type);
      ASSERT_EQ(Show(got), ShowRef(want)) << text << "\nwith " << [&] {
        std::string s;
        for (size_t k = 0; k < env.size(); ++k)
          StrAppend(s, vars_[k].name, "=", ShowRef(env[k]), " ");
        return s;
      }();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 3000 * 20);
}

}  // namespace
}  // namespace eddy
