#include "expr/expression.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "base/check.h"
#include "base/strings.h"

namespace eddy {

std::string_view ExprTypeName(ExprType type) {
  switch (type) {
    case ExprType::kNull:
      return "null";
    case ExprType::kBool:
      return "bool";
    case ExprType::kInt:
      return "int";
    case ExprType::kDouble:
      return "double";
    case ExprType::kString:
      return "string";
  }
  return "?";
}

namespace {

using Op = Expression::Op;
using Node = Expression::Node;

constexpr int kMaxDepth = 64;
// Evaluation recurses once per level of the compiled tree, and a chain like
// `a + b + c + ...` or `x or y or ...` grows the tree without growing the
// parser's recursion depth, so node height is bounded separately to keep
// Evaluate()'s stack use small on any thread.
constexpr int kMaxHeight = 256;
constexpr size_t kMaxLength = 64 * 1024;

enum class Tok {
  kEnd,
  kInt,
  kDouble,
  kString,
  kIdent,
  kLParen,
  kRParen,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kNot,
  kIn,
  kTrue,
  kFalse,
  kNull,
  kIf,
  kThen,
  kElse,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;  // 0-based byte offset in the text
  std::string text;
  int64_t i = 0;
  double d = 0;
};

bool IsNumeric(ExprType t) { return t == ExprType::kInt || t == ExprType::kDouble; }

}  // namespace

// Recursive-descent parser that type-checks as it builds nodes.
class ExprParser {
 public:
  ExprParser(std::string_view text, std::span<const ExprVariable> vars, Expression& out)
      : text_(text), vars_(vars), out_(out) {}

  Status Parse() {
    if (text_.size() > kMaxLength) {
      return Status::InvalidArgument(StrCat("expression is longer than ", kMaxLength, " bytes"));
    }
    EDDY_RETURN_IF_ERROR(Lex());
    if (tokens_[0].kind == Tok::kEnd) return Error(0, "empty expression");
    int32_t root;
    EDDY_RETURN_IF_ERROR(ParseExpr(root, 0));
    if (Peek().kind != Tok::kEnd) {
      return Error(Peek().pos, StrCat("unexpected ", Describe(Peek()),
                                      "; expected an operator or the end of the expression"));
    }
    out_.root_ = root;
    out_.result_type_ = out_.nodes_[root].type;
    std::sort(out_.referenced_.begin(), out_.referenced_.end());
    out_.referenced_.erase(std::unique(out_.referenced_.begin(), out_.referenced_.end()),
                           out_.referenced_.end());
    return Status::OK();
  }

 private:
  Status Error(size_t pos, std::string_view what) const {
    return Status::InvalidArgument(
        StrCat("expression ", Quote(text_, 200), ": at position ", pos + 1, ": ", what));
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of expression";
      case Tok::kIdent:
        return StrCat("name ", Quote(t.text));
      case Tok::kString:
        return StrCat("string ", Quote(t.text));
      case Tok::kInt:
      case Tok::kDouble:
        return StrCat("number ", t.text);
      default:
        return Quote(t.text);
    }
  }

  // ---- Lexer ----
  Status Lex() {
    size_t p = 0;
    const size_t n = text_.size();
    while (true) {
      while (p < n && (text_[p] == ' ' || text_[p] == '\t' || text_[p] == '\n' || text_[p] == '\r'))
        ++p;
      Token t;
      t.pos = p;
      if (p >= n) {
        t.kind = Tok::kEnd;
        tokens_.push_back(t);
        return Status::OK();
      }
      char c = text_[p];
      if ((c >= '0' && c <= '9') ||
          (c == '.' && p + 1 < n && text_[p + 1] >= '0' && text_[p + 1] <= '9')) {
        size_t start = p;
        bool is_double = false;
        while (p < n && text_[p] >= '0' && text_[p] <= '9') ++p;
        if (p < n && text_[p] == '.') {
          is_double = true;
          ++p;
          while (p < n && text_[p] >= '0' && text_[p] <= '9') ++p;
        }
        if (p < n && (text_[p] == 'e' || text_[p] == 'E')) {
          size_t q = p + 1;
          if (q < n && (text_[q] == '+' || text_[q] == '-')) ++q;
          if (q < n && text_[q] >= '0' && text_[q] <= '9') {
            is_double = true;
            p = q;
            while (p < n && text_[p] >= '0' && text_[p] <= '9') ++p;
          }
        }
        t.text = std::string(text_.substr(start, p - start));
        if (is_double) {
          t.kind = Tok::kDouble;
          auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.d);
          if (r.ec != std::errc() || !std::isfinite(t.d)) {
            return Error(start, StrCat("number ", t.text, " is out of range"));
          }
        } else {
          t.kind = Tok::kInt;
          auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.i);
          if (r.ec != std::errc()) {
            return Error(start, StrCat("integer ", t.text, " is out of range"));
          }
        }
        if (p < n && (std::isalpha(static_cast<unsigned char>(text_[p])) || text_[p] == '_')) {
          return Error(p, StrCat("unexpected character ", Quote(text_.substr(p, 1)),
                                 " after number ", t.text));
        }
      } else if (c == '"' || c == '\'') {
        char q = c;
        size_t start = p++;
        std::string s;
        bool closed = false;
        while (p < n) {
          char ch = text_[p++];
          if (ch == q) {
            closed = true;
            break;
          }
          if (ch == '\\') {
            if (p >= n) break;
            char e = text_[p++];
            switch (e) {
              case 'n':
                s.push_back('\n');
                break;
              case 't':
                s.push_back('\t');
                break;
              case '\\':
                s.push_back('\\');
                break;
              case '"':
                s.push_back('"');
                break;
              case '\'':
                s.push_back('\'');
                break;
              default:
                return Error(p - 2, StrCat("unknown escape ", Quote(text_.substr(p - 2, 2)),
                                           " in string (use \\n, \\t, \\\\, \\\" or \\')"));
            }
            continue;
          }
          s.push_back(ch);
        }
        if (!closed) return Error(start, "unterminated string; expected a closing quote");
        t.kind = Tok::kString;
        t.text = std::move(s);
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t start = p;
        while (p < n && (std::isalnum(static_cast<unsigned char>(text_[p])) || text_[p] == '_'))
          ++p;
        t.text = std::string(text_.substr(start, p - start));
        t.kind = Keyword(t.text);
      } else {
        size_t start = p;
        auto two = [&](char a, char b) { return c == a && p + 1 < n && text_[p + 1] == b; };
        if (two('=', '=')) {
          t.kind = Tok::kEq;
          p += 2;
        } else if (two('!', '=')) {
          t.kind = Tok::kNe;
          p += 2;
        } else if (two('<', '>')) {
          t.kind = Tok::kNe;
          p += 2;
        } else if (two('<', '=')) {
          t.kind = Tok::kLe;
          p += 2;
        } else if (two('>', '=')) {
          t.kind = Tok::kGe;
          p += 2;
        } else if (two('&', '&')) {
          t.kind = Tok::kAnd;
          p += 2;
        } else if (two('|', '|')) {
          t.kind = Tok::kOr;
          p += 2;
        } else {
          ++p;
          switch (c) {
            case '(':
              t.kind = Tok::kLParen;
              break;
            case ')':
              t.kind = Tok::kRParen;
              break;
            case ',':
              t.kind = Tok::kComma;
              break;
            case '+':
              t.kind = Tok::kPlus;
              break;
            case '-':
              t.kind = Tok::kMinus;
              break;
            case '*':
              t.kind = Tok::kStar;
              break;
            case '/':
              t.kind = Tok::kSlash;
              break;
            case '%':
              t.kind = Tok::kPercent;
              break;
            case '<':
              t.kind = Tok::kLt;
              break;
            case '>':
              t.kind = Tok::kGt;
              break;
            case '!':
              t.kind = Tok::kNot;
              break;
            case '=':
              return Error(start, "unexpected '='; use '==' to compare");
            default:
              return Error(start, StrCat("unexpected character ", Quote(text_.substr(start, 1))));
          }
        }
        t.text = std::string(text_.substr(start, p - start));
      }
      tokens_.push_back(std::move(t));
    }
  }

  static Tok Keyword(const std::string& s) {
    if (s == "and") return Tok::kAnd;
    if (s == "or") return Tok::kOr;
    if (s == "not") return Tok::kNot;
    if (s == "in") return Tok::kIn;
    if (s == "true") return Tok::kTrue;
    if (s == "false") return Tok::kFalse;
    if (s == "null") return Tok::kNull;
    if (s == "if") return Tok::kIf;
    if (s == "then") return Tok::kThen;
    if (s == "else") return Tok::kElse;
    return Tok::kIdent;
  }

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() { return tokens_[std::min(pos_++, tokens_.size() - 1)]; }
  bool Accept(Tok k) {
    if (Peek().kind != k) return false;
    ++pos_;
    return true;
  }
  Status Expect(Tok k, std::string_view what) {
    if (Peek().kind == k) {
      ++pos_;
      return Status::OK();
    }
    return Error(Peek().pos, StrCat("expected ", what, ", got ", Describe(Peek())));
  }

  // ---- Node construction ----
  int32_t Add(Node n) {
    int height = -1;  // a leaf has height 0
    for (int32_t child : {n.a, n.b, n.c}) {
      if (child >= 0) height = std::max(height, heights_[child]);
    }
    for (int32_t k = 0; k < n.num_args; ++k) {
      height = std::max(height, heights_[out_.args_[n.first_arg + k]]);
    }
    heights_.push_back(height + 1);
    out_.nodes_.push_back(std::move(n));
    return static_cast<int32_t>(out_.nodes_.size() - 1);
  }
  // Binary operators in a chain are the only nodes that can grow the tree's
  // height without the parser recursing (which kMaxDepth bounds).
  Status CheckHeight(int32_t node, size_t pos) const {
    if (heights_[node] <= kMaxHeight) return Status::OK();
    return Error(pos, StrCat("expression is nested too deeply (a chain of more than ", kMaxHeight,
                             " operators); for many alternatives use 'x in (a, b, ...)'"));
  }
  ExprType TypeOf(int32_t n) const { return out_.nodes_[n].type; }

  // ---- Grammar ----
  // True when the `if` token at index `at` starts the function form
  // `if(c, a, b)`: a '(' follows and the parenthesised group holds a comma of
  // its own. `if (x > 0) then a else b` is the keyword form.
  bool IfIsCall(size_t at) const {
    if (at + 1 >= tokens_.size() || tokens_[at + 1].kind != Tok::kLParen) return false;
    int nesting = 0;
    for (size_t k = at + 1; k < tokens_.size(); ++k) {
      Tok kind = tokens_[k].kind;
      if (kind == Tok::kLParen) ++nesting;
      if (kind == Tok::kRParen && --nesting == 0) return false;
      if (kind == Tok::kComma && nesting == 1) return true;
    }
    return true;  // unbalanced: let the call parser report it
  }

  Status ParseExpr(int32_t& out, int depth) {
    if (depth > kMaxDepth) return Error(Peek().pos, "expression is nested too deeply");
    if (Peek().kind == Tok::kIf && !IfIsCall(pos_)) {
      size_t pos = Next().pos;
      int32_t c, a, b;
      EDDY_RETURN_IF_ERROR(ParseExpr(c, depth + 1));
      EDDY_RETURN_IF_ERROR(Expect(Tok::kThen, "'then'"));
      EDDY_RETURN_IF_ERROR(ParseExpr(a, depth + 1));
      EDDY_RETURN_IF_ERROR(Expect(Tok::kElse, "'else'"));
      EDDY_RETURN_IF_ERROR(ParseExpr(b, depth + 1));
      return MakeIf(pos, c, a, b, out);
    }
    return ParseOr(out, depth);
  }

  Status ParseOr(int32_t& out, int depth) {
    EDDY_RETURN_IF_ERROR(ParseAnd(out, depth));
    while (Peek().kind == Tok::kOr) {
      size_t pos = Next().pos;
      int32_t rhs;
      EDDY_RETURN_IF_ERROR(ParseAnd(rhs, depth + 1));
      EDDY_RETURN_IF_ERROR(MakeLogical(Op::kOr, pos, out, rhs, out));
    }
    return Status::OK();
  }

  Status ParseAnd(int32_t& out, int depth) {
    EDDY_RETURN_IF_ERROR(ParseNot(out, depth));
    while (Peek().kind == Tok::kAnd) {
      size_t pos = Next().pos;
      int32_t rhs;
      EDDY_RETURN_IF_ERROR(ParseNot(rhs, depth + 1));
      EDDY_RETURN_IF_ERROR(MakeLogical(Op::kAnd, pos, out, rhs, out));
    }
    return Status::OK();
  }

  Status ParseNot(int32_t& out, int depth) {
    if (depth > kMaxDepth) return Error(Peek().pos, "expression is nested too deeply");
    if (Peek().kind == Tok::kNot) {
      size_t pos = Next().pos;
      int32_t operand;
      EDDY_RETURN_IF_ERROR(ParseNot(operand, depth + 1));
      ExprType t = TypeOf(operand);
      if (t != ExprType::kBool && t != ExprType::kNull) {
        return Error(pos, StrCat("'not' needs a bool, got ", ExprTypeName(t)));
      }
      Node n;
      n.op = Op::kNot;
      n.type = ExprType::kBool;
      n.a = operand;
      out = Add(std::move(n));
      return Status::OK();
    }
    return ParseComparison(out, depth);
  }

  Status ParseComparison(int32_t& out, int depth) {
    EDDY_RETURN_IF_ERROR(ParseAdditive(out, depth));
    Tok k = Peek().kind;
    if (k == Tok::kIn || (k == Tok::kNot && Peek(1).kind == Tok::kIn)) {
      size_t pos = Next().pos;
      bool negated = k == Tok::kNot;
      if (negated) Next();
      return ParseInList(pos, negated, out, depth);
    }
    Op op;
    switch (k) {
      case Tok::kEq:
        op = Op::kEq;
        break;
      case Tok::kNe:
        op = Op::kNe;
        break;
      case Tok::kLt:
        op = Op::kLt;
        break;
      case Tok::kLe:
        op = Op::kLe;
        break;
      case Tok::kGt:
        op = Op::kGt;
        break;
      case Tok::kGe:
        op = Op::kGe;
        break;
      default:
        return Status::OK();
    }
    const Token& optok = Next();
    size_t pos = optok.pos;
    std::string optext = optok.text;
    int32_t rhs;
    EDDY_RETURN_IF_ERROR(ParseAdditive(rhs, depth + 1));
    ExprType lt = TypeOf(out), rt = TypeOf(rhs);
    if (lt == ExprType::kNull || rt == ExprType::kNull) {
      return Error(pos, StrCat("comparing with null always gives null; use is_null(x) or "
                               "not is_null(x)"));
    }
    bool ok = (IsNumeric(lt) && IsNumeric(rt)) || lt == rt;
    if (!ok) {
      return Error(pos, StrCat("cannot compare ", ExprTypeName(lt), " with ", ExprTypeName(rt),
                               " using '", optext, "'"));
    }
    if (lt == ExprType::kBool && op != Op::kEq && op != Op::kNe) {
      return Error(pos, "bools can only be compared with == and !=");
    }
    Node n;
    n.op = op;
    n.type = ExprType::kBool;
    n.a = out;
    n.b = rhs;
    out = Add(std::move(n));
    if (Peek().kind >= Tok::kEq && Peek().kind <= Tok::kGe) {
      return Error(Peek().pos, "comparisons do not chain; combine them with 'and'");
    }
    return Status::OK();
  }

  Status ParseInList(size_t pos, bool negated, int32_t& out, int depth) {
    EDDY_RETURN_IF_ERROR(Expect(Tok::kLParen, "'(' to start the list after 'in'"));
    ExprType lt = TypeOf(out);
    std::vector<int32_t> items;
    do {
      const Token& t = Peek();
      int32_t item;
      EDDY_RETURN_IF_ERROR(ParseAdditive(item, depth + 1));
      ExprType it = TypeOf(item);
      if (it == ExprType::kNull) return Error(t.pos, "null cannot be in an 'in' list");
      if (!((IsNumeric(lt) && IsNumeric(it)) || lt == it || lt == ExprType::kNull)) {
        return Error(t.pos, StrCat("'in' list item is ", ExprTypeName(it), " but the value is ",
                                   ExprTypeName(lt)));
      }
      items.push_back(item);
    } while (Accept(Tok::kComma));
    EDDY_RETURN_IF_ERROR(Expect(Tok::kRParen, "',' or ')' in the 'in' list"));
    Node n;
    n.op = negated ? Op::kNotIn : Op::kIn;
    n.type = ExprType::kBool;
    n.a = out;
    n.first_arg = static_cast<int32_t>(out_.args_.size());
    n.num_args = static_cast<int32_t>(items.size());
    out_.args_.insert(out_.args_.end(), items.begin(), items.end());
    (void)pos;
    out = Add(std::move(n));
    return Status::OK();
  }

  Status ParseAdditive(int32_t& out, int depth) {
    EDDY_RETURN_IF_ERROR(ParseMultiplicative(out, depth));
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      const Token& t = Next();
      Op op = t.kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      int32_t rhs;
      EDDY_RETURN_IF_ERROR(ParseMultiplicative(rhs, depth + 1));
      EDDY_RETURN_IF_ERROR(MakeArith(op, t.pos, out, rhs, out));
    }
    return Status::OK();
  }

  Status ParseMultiplicative(int32_t& out, int depth) {
    EDDY_RETURN_IF_ERROR(ParseUnary(out, depth));
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash ||
           Peek().kind == Tok::kPercent) {
      const Token& t = Next();
      Op op = t.kind == Tok::kStar ? Op::kMul : t.kind == Tok::kSlash ? Op::kDiv : Op::kMod;
      int32_t rhs;
      EDDY_RETURN_IF_ERROR(ParseUnary(rhs, depth + 1));
      EDDY_RETURN_IF_ERROR(MakeArith(op, t.pos, out, rhs, out));
    }
    return Status::OK();
  }

  Status ParseUnary(int32_t& out, int depth) {
    if (depth > kMaxDepth) return Error(Peek().pos, "expression is nested too deeply");
    if (Peek().kind == Tok::kMinus) {
      size_t pos = Next().pos;
      int32_t operand;
      EDDY_RETURN_IF_ERROR(ParseUnary(operand, depth + 1));
      ExprType t = TypeOf(operand);
      if (!IsNumeric(t) && t != ExprType::kNull) {
        return Error(pos, StrCat("unary '-' needs a number, got ", ExprTypeName(t)));
      }
      Node n;
      n.op = Op::kNeg;
      n.type = t;
      n.a = operand;
      out = Add(std::move(n));
      return Status::OK();
    }
    if (Peek().kind == Tok::kPlus) {
      size_t pos = Next().pos;
      EDDY_RETURN_IF_ERROR(ParseUnary(out, depth + 1));
      ExprType t = TypeOf(out);
      if (!IsNumeric(t) && t != ExprType::kNull) {
        return Error(pos, StrCat("unary '+' needs a number, got ", ExprTypeName(t)));
      }
      return Status::OK();
    }
    return ParsePrimary(out, depth);
  }

  Status ParsePrimary(int32_t& out, int depth) {
    const Token t = Next();
    Node n;
    switch (t.kind) {
      case Tok::kInt:
        n.type = ExprType::kInt;
        n.literal = ExprValue::Int(t.i);
        out = Add(std::move(n));
        return Status::OK();
      case Tok::kDouble:
        n.type = ExprType::kDouble;
        n.literal = ExprValue::Double(t.d);
        out = Add(std::move(n));
        return Status::OK();
      case Tok::kString:
        n.type = ExprType::kString;
        n.literal = ExprValue::String({});
        n.str = t.text;
        out = Add(std::move(n));
        return Status::OK();
      case Tok::kTrue:
      case Tok::kFalse:
        n.type = ExprType::kBool;
        n.literal = ExprValue::Bool(t.kind == Tok::kTrue);
        out = Add(std::move(n));
        return Status::OK();
      case Tok::kNull:
        n.type = ExprType::kNull;
        out = Add(std::move(n));
        return Status::OK();
      case Tok::kLParen:
        EDDY_RETURN_IF_ERROR(ParseExpr(out, depth + 1));
        return Expect(Tok::kRParen, "')'");
      case Tok::kIf:
        if (IfIsCall(pos_ - 1)) return ParseCall(t, out, depth);
        return Error(t.pos,
                     "'if ... then ... else' inside a larger expression must be in parentheses, "
                     "like 1 + (if c then a else b)");
      case Tok::kIdent:
        if (Peek().kind == Tok::kLParen) return ParseCall(t, out, depth);
        return MakeVar(t, out);
      default:
        return Error(t.pos, StrCat("expected a value (number, string, name, function call or "
                                   "'('), got ",
                                   Describe(t)));
    }
  }

  Status MakeVar(const Token& t, int32_t& out) {
    for (size_t i = 0; i < vars_.size(); ++i) {
      if (vars_[i].name == t.text) {
        Node n;
        n.op = Op::kVar;
        n.type = vars_[i].type;
        n.var = static_cast<int32_t>(i);
        out_.referenced_.push_back(static_cast<int>(i));
        out = Add(std::move(n));
        return Status::OK();
      }
    }
    std::vector<std::string> names;
    for (const auto& v : vars_) names.push_back(v.name);
    std::string msg = StrCat("unknown name ", Quote(t.text));
    std::string suggestion = SuggestName(t.text, names);
    if (!suggestion.empty()) {
      StrAppend(msg, " (did you mean ", Quote(suggestion), "?)");
    } else if (!names.empty() && names.size() <= 20) {
      StrAppend(msg, "; known names: ", StrJoin(names, ", "));
    }
    return Error(t.pos, msg);
  }

  Status ParseCall(const Token& fn, int32_t& out, int depth) {
    Next();  // '('
    std::vector<int32_t> args;
    std::vector<size_t> arg_pos;
    if (Peek().kind != Tok::kRParen) {
      do {
        arg_pos.push_back(Peek().pos);
        int32_t a;
        EDDY_RETURN_IF_ERROR(ParseExpr(a, depth + 1));
        args.push_back(a);
      } while (Accept(Tok::kComma));
    }
    EDDY_RETURN_IF_ERROR(Expect(Tok::kRParen, "',' or ')' after a function argument"));
    const std::string& name = fn.text;
    auto arity = [&](size_t lo, size_t hi) -> Status {
      if (args.size() < lo || args.size() > hi) {
        std::string want = lo == hi         ? StrCat(lo)
                           : hi == SIZE_MAX ? StrCat("at least ", lo)
                                            : StrCat(lo, " to ", hi);
        bool one = lo == 1 && (hi == 1 || hi == SIZE_MAX);  // "1 argument", "at least 1 argument"
        return Error(fn.pos, StrCat(name, "() takes ", want, " argument", one ? "" : "s", ", got ",
                                    args.size()));
      }
      return Status::OK();
    };
    auto numeric_arg = [&](size_t i) -> Status {
      ExprType t = TypeOf(args[i]);
      if (!IsNumeric(t) && t != ExprType::kNull) {
        return Error(arg_pos[i], StrCat(name, "() needs a number, got ", ExprTypeName(t)));
      }
      return Status::OK();
    };
    Node n;
    if (name == "if") {
      EDDY_RETURN_IF_ERROR(arity(3, 3));
      return MakeIf(fn.pos, args[0], args[1], args[2], out);
    }
    if (name == "is_null") {
      EDDY_RETURN_IF_ERROR(arity(1, 1));
      n.op = Op::kIsNull;
      n.type = ExprType::kBool;
      n.a = args[0];
    } else if (name == "coalesce" || name == "min" || name == "max") {
      EDDY_RETURN_IF_ERROR(arity(name == "coalesce" ? 1 : 2, SIZE_MAX));
      ExprType t = ExprType::kNull;
      for (size_t i = 0; i < args.size(); ++i) {
        if (name != "coalesce") EDDY_RETURN_IF_ERROR(numeric_arg(i));
        auto unified = Unify(t, TypeOf(args[i]));
        if (!unified) {
          return Error(arg_pos[i], StrCat(name, "() arguments must have one type; got ",
                                          ExprTypeName(t), " and ", ExprTypeName(TypeOf(args[i]))));
        }
        t = *unified;
      }
      n.op = name == "coalesce" ? Op::kCoalesce : name == "min" ? Op::kMin : Op::kMax;
      n.type = t;
      n.first_arg = static_cast<int32_t>(out_.args_.size());
      n.num_args = static_cast<int32_t>(args.size());
      out_.args_.insert(out_.args_.end(), args.begin(), args.end());
    } else if (name == "abs") {
      EDDY_RETURN_IF_ERROR(arity(1, 1));
      EDDY_RETURN_IF_ERROR(numeric_arg(0));
      n.op = Op::kAbs;
      n.type = TypeOf(args[0]);
      n.a = args[0];
    } else if (name == "log" || name == "exp" || name == "sqrt") {
      EDDY_RETURN_IF_ERROR(arity(1, 1));
      EDDY_RETURN_IF_ERROR(numeric_arg(0));
      n.op = name == "log" ? Op::kLog : name == "exp" ? Op::kExp : Op::kSqrt;
      n.type = ExprType::kDouble;
      n.a = args[0];
    } else if (name == "pow") {
      EDDY_RETURN_IF_ERROR(arity(2, 2));
      EDDY_RETURN_IF_ERROR(numeric_arg(0));
      EDDY_RETURN_IF_ERROR(numeric_arg(1));
      n.op = Op::kPow;
      n.type = ExprType::kDouble;
      n.a = args[0];
      n.b = args[1];
    } else if (name == "clamp") {
      EDDY_RETURN_IF_ERROR(arity(3, 3));
      ExprType t = ExprType::kNull;
      for (size_t i = 0; i < 3; ++i) {
        EDDY_RETURN_IF_ERROR(numeric_arg(i));
        t = *Unify(t, TypeOf(args[i]));
      }
      n.op = Op::kClamp;
      n.type = t;
      n.a = args[0];
      n.b = args[1];
      n.c = args[2];
    } else {
      static const std::vector<std::string> kFunctions = {
          "abs", "clamp", "coalesce", "exp", "if", "is_null", "log", "max", "min", "pow", "sqrt"};
      std::string msg = StrCat("unknown function ", Quote(name));
      std::string suggestion = SuggestName(name, kFunctions);
      if (!suggestion.empty()) {
        StrAppend(msg, " (did you mean ", Quote(suggestion), "?)");
      } else {
        StrAppend(msg, "; functions are ", StrJoin(kFunctions, ", "));
      }
      return Error(fn.pos, msg);
    }
    out = Add(std::move(n));
    return Status::OK();
  }

  // The common type of two branches/arguments: numbers widen to double, null
  // fits anything.
  static std::optional<ExprType> Unify(ExprType a, ExprType b) {
    if (a == ExprType::kNull) return b;
    if (b == ExprType::kNull) return a;
    if (a == b) return a;
    if (IsNumeric(a) && IsNumeric(b)) return ExprType::kDouble;
    return std::nullopt;
  }

  Status MakeIf(size_t pos, int32_t c, int32_t a, int32_t b, int32_t& out) {
    ExprType ct = TypeOf(c);
    if (ct != ExprType::kBool && ct != ExprType::kNull) {
      return Error(pos, StrCat("the condition of 'if' must be a bool, got ", ExprTypeName(ct)));
    }
    auto t = Unify(TypeOf(a), TypeOf(b));
    if (!t) {
      return Error(pos, StrCat("the branches of 'if' have different types: ",
                               ExprTypeName(TypeOf(a)), " and ", ExprTypeName(TypeOf(b))));
    }
    Node n;
    n.op = Op::kIf;
    n.type = *t;
    n.a = c;
    n.b = a;
    n.c = b;
    out = Add(std::move(n));
    return Status::OK();
  }

  Status MakeLogical(Op op, size_t pos, int32_t lhs, int32_t rhs, int32_t& out) {
    for (int32_t x : {lhs, rhs}) {
      ExprType t = TypeOf(x);
      if (t != ExprType::kBool && t != ExprType::kNull) {
        return Error(pos, StrCat("'", op == Op::kAnd ? "and" : "or", "' needs bools, got ",
                                 ExprTypeName(t)));
      }
    }
    Node n;
    n.op = op;
    n.type = ExprType::kBool;
    n.a = lhs;
    n.b = rhs;
    out = Add(std::move(n));
    return CheckHeight(out, pos);
  }

  Status MakeArith(Op op, size_t pos, int32_t lhs, int32_t rhs, int32_t& out) {
    ExprType lt = TypeOf(lhs), rt = TypeOf(rhs);
    for (ExprType t : {lt, rt}) {
      if (!IsNumeric(t) && t != ExprType::kNull) {
        return Error(pos, StrCat("arithmetic needs numbers, got ", ExprTypeName(t)));
      }
    }
    Node n;
    n.op = op;
    if (op == Op::kDiv) {
      n.type = ExprType::kDouble;
    } else if (lt == ExprType::kInt && rt == ExprType::kInt) {
      n.type = ExprType::kInt;
    } else if (lt == ExprType::kNull && rt == ExprType::kNull) {
      n.type = ExprType::kNull;
    } else if ((lt == ExprType::kInt || lt == ExprType::kNull) &&
               (rt == ExprType::kInt || rt == ExprType::kNull)) {
      n.type = ExprType::kInt;
    } else {
      n.type = ExprType::kDouble;
    }
    n.a = lhs;
    n.b = rhs;
    out = Add(std::move(n));
    return CheckHeight(out, pos);
  }

  std::string_view text_;
  std::span<const ExprVariable> vars_;
  Expression& out_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<int> heights_;  // per node: operator levels below it (0 for a leaf)
};

Result<Expression> Expression::Compile(std::string_view text,
                                       std::span<const ExprVariable> variables) {
  Expression e;
  e.text_ = std::string(text);
  ExprParser parser(e.text_, variables, e);
  EDDY_RETURN_IF_ERROR(parser.Parse());
  return e;
}

ExprValue Expression::Evaluate(std::span<const ExprValue> values) const {
  ExprValue v = Eval(root_, values);
  // An int-typed expression may carry a double only via a null-typed path;
  // normalise so callers can trust result_type().
  if (!v.is_null() && result_type_ == ExprType::kDouble && v.type == ExprType::kInt) {
    return ExprValue::Double(static_cast<double>(v.i));
  }
  return v;
}

namespace {

ExprValue FiniteOrNull(double d) {
  return std::isfinite(d) ? ExprValue::Double(d) : ExprValue::Null();
}

// Three-way comparison of two non-null values of comparable types.
int Compare(const ExprValue& a, const ExprValue& b) {
  if (a.type == ExprType::kString) return a.s < b.s ? -1 : (a.s == b.s ? 0 : 1);
  if (a.type == ExprType::kBool) return static_cast<int>(a.b) - static_cast<int>(b.b);
  if (a.type == ExprType::kInt && b.type == ExprType::kInt) {
    return a.i < b.i ? -1 : (a.i == b.i ? 0 : 1);
  }
  double x = a.AsDouble(), y = b.AsDouble();
  return x < y ? -1 : (x == y ? 0 : 1);
}

}  // namespace

ExprValue Expression::Eval(int32_t idx, std::span<const ExprValue> values) const {
  const Node& n = nodes_[idx];
  switch (n.op) {
    case Op::kLiteral:
      if (n.type == ExprType::kString) return ExprValue::String(n.str);
      return n.literal;
    case Op::kVar: {
      EDDY_DCHECK(static_cast<size_t>(n.var) < values.size());
      const ExprValue& v = values[n.var];
      // A double variable holding an int (or vice versa) is normalised to the
      // declared type so arithmetic matches type checking.
      if (!v.is_null() && n.type == ExprType::kDouble && v.type == ExprType::kInt) {
        return ExprValue::Double(static_cast<double>(v.i));
      }
      return v;
    }
    case Op::kNeg: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      if (a.type == ExprType::kInt) {
        if (a.i == std::numeric_limits<int64_t>::min()) return ExprValue::Null();
        return ExprValue::Int(-a.i);
      }
      return ExprValue::Double(-a.d);
    }
    case Op::kNot: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      return ExprValue::Bool(!a.b);
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      ExprValue b = Eval(n.b, values);
      if (b.is_null()) return b;
      if (a.type == ExprType::kInt && b.type == ExprType::kInt && n.op != Op::kDiv) {
        int64_t r;
        switch (n.op) {
          case Op::kAdd:
            if (__builtin_add_overflow(a.i, b.i, &r)) return ExprValue::Null();
            return ExprValue::Int(r);
          case Op::kSub:
            if (__builtin_sub_overflow(a.i, b.i, &r)) return ExprValue::Null();
            return ExprValue::Int(r);
          case Op::kMul:
            if (__builtin_mul_overflow(a.i, b.i, &r)) return ExprValue::Null();
            return ExprValue::Int(r);
          default:  // kMod
            if (b.i == 0) return ExprValue::Null();
            // x % -1 is 0 for every x; computing INT64_MIN % -1 would trap.
            if (b.i == -1) return ExprValue::Int(0);
            return ExprValue::Int(a.i % b.i);
        }
      }
      double x = a.AsDouble(), y = b.AsDouble();
      switch (n.op) {
        case Op::kAdd:
          return FiniteOrNull(x + y);
        case Op::kSub:
          return FiniteOrNull(x - y);
        case Op::kMul:
          return FiniteOrNull(x * y);
        case Op::kDiv:
          return y == 0 ? ExprValue::Null() : FiniteOrNull(x / y);
        default:
          return y == 0 ? ExprValue::Null() : FiniteOrNull(std::fmod(x, y));
      }
    }
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      ExprValue b = Eval(n.b, values);
      if (b.is_null()) return b;
      int c = Compare(a, b);
      switch (n.op) {
        case Op::kEq:
          return ExprValue::Bool(c == 0);
        case Op::kNe:
          return ExprValue::Bool(c != 0);
        case Op::kLt:
          return ExprValue::Bool(c < 0);
        case Op::kLe:
          return ExprValue::Bool(c <= 0);
        case Op::kGt:
          return ExprValue::Bool(c > 0);
        default:
          return ExprValue::Bool(c >= 0);
      }
    }
    case Op::kAnd: {
      ExprValue a = Eval(n.a, values);
      if (a.type == ExprType::kBool && !a.b) return a;
      ExprValue b = Eval(n.b, values);
      if (b.type == ExprType::kBool && !b.b) return b;
      if (a.is_null() || b.is_null()) return ExprValue::Null();
      return ExprValue::Bool(true);
    }
    case Op::kOr: {
      ExprValue a = Eval(n.a, values);
      if (a.IsTrue()) return a;
      ExprValue b = Eval(n.b, values);
      if (b.IsTrue()) return b;
      if (a.is_null() || b.is_null()) return ExprValue::Null();
      return ExprValue::Bool(false);
    }
    case Op::kIf: {
      ExprValue c = Eval(n.a, values);
      ExprValue r = Eval(c.IsTrue() ? n.b : n.c, values);
      if (n.type == ExprType::kDouble && r.type == ExprType::kInt) {
        return ExprValue::Double(static_cast<double>(r.i));
      }
      return r;
    }
    case Op::kIn:
    case Op::kNotIn: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      bool found = false;
      for (int32_t k = 0; k < n.num_args && !found; ++k) {
        ExprValue item = Eval(args_[n.first_arg + k], values);
        if (!item.is_null() && Compare(a, item) == 0) found = true;
      }
      return ExprValue::Bool(n.op == Op::kIn ? found : !found);
    }
    case Op::kIsNull:
      return ExprValue::Bool(Eval(n.a, values).is_null());
    case Op::kCoalesce:
      for (int32_t k = 0; k < n.num_args; ++k) {
        ExprValue v = Eval(args_[n.first_arg + k], values);
        if (!v.is_null()) {
          if (n.type == ExprType::kDouble && v.type == ExprType::kInt) {
            return ExprValue::Double(static_cast<double>(v.i));
          }
          return v;
        }
      }
      return ExprValue::Null();
    case Op::kMin:
    case Op::kMax: {
      ExprValue best;
      for (int32_t k = 0; k < n.num_args; ++k) {
        ExprValue v = Eval(args_[n.first_arg + k], values);
        if (v.is_null()) continue;
        if (best.is_null() || (n.op == Op::kMin ? Compare(v, best) < 0 : Compare(v, best) > 0)) {
          best = v;
        }
      }
      if (!best.is_null() && n.type == ExprType::kDouble && best.type == ExprType::kInt) {
        return ExprValue::Double(static_cast<double>(best.i));
      }
      return best;
    }
    case Op::kAbs: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      if (a.type == ExprType::kInt) {
        if (a.i == std::numeric_limits<int64_t>::min()) return ExprValue::Null();
        return ExprValue::Int(a.i < 0 ? -a.i : a.i);
      }
      return ExprValue::Double(std::fabs(a.d));
    }
    case Op::kLog: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      double x = a.AsDouble();
      return x <= 0 ? ExprValue::Null() : FiniteOrNull(std::log(x));
    }
    case Op::kExp: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      return FiniteOrNull(std::exp(a.AsDouble()));
    }
    case Op::kSqrt: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      double x = a.AsDouble();
      return x < 0 ? ExprValue::Null() : FiniteOrNull(std::sqrt(x));
    }
    case Op::kPow: {
      ExprValue a = Eval(n.a, values);
      if (a.is_null()) return a;
      ExprValue b = Eval(n.b, values);
      if (b.is_null()) return b;
      return FiniteOrNull(std::pow(a.AsDouble(), b.AsDouble()));
    }
    case Op::kClamp: {
      ExprValue x = Eval(n.a, values);
      if (x.is_null()) return x;
      ExprValue lo = Eval(n.b, values);
      if (lo.is_null()) return lo;
      ExprValue hi = Eval(n.c, values);
      if (hi.is_null()) return hi;
      ExprValue r = Compare(x, lo) < 0 ? lo : (Compare(x, hi) > 0 ? hi : x);
      if (n.type == ExprType::kDouble && r.type == ExprType::kInt) {
        return ExprValue::Double(static_cast<double>(r.i));
      }
      return r;
    }
  }
  return ExprValue::Null();
}

}  // namespace eddy
