#include "model/json_dom.h"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <new>

#include "base/strings.h"

namespace eddy::model_internal {

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

std::string_view JsonValue::TypeName(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kNumber:
      return "number";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "?";
}

// Builds JsonValues from Boost.JSON SAX events. Containers under
// construction live on a stack; a finished value is moved into its parent.
class JsonBuilder {
 public:
  constexpr static std::size_t max_object_size = std::size_t(-1);
  constexpr static std::size_t max_array_size = std::size_t(-1);
  constexpr static std::size_t max_key_size = std::size_t(-1);
  constexpr static std::size_t max_string_size = std::size_t(-1);

  using ec = boost::json::error_code;

  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }

  bool on_object_begin(ec&) {
    JsonValue v;
    v.type_ = JsonValue::Type::kObject;
    stack_.push_back(std::move(v));
    return true;
  }
  bool on_object_end(std::size_t, ec& e) { return Close(e); }
  bool on_array_begin(ec&) {
    JsonValue v;
    v.type_ = JsonValue::Type::kArray;
    v.number_array_ = true;
    v.is_integer_ = true;
    stack_.push_back(std::move(v));
    return true;
  }
  bool on_array_end(std::size_t, ec& e) { return Close(e); }

  bool on_key_part(std::string_view s, std::size_t, ec&) {
    key_.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, ec&) {
    key_.append(s);
    stack_.back().keys_.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_string_part(std::string_view s, std::size_t, ec&) {
    text_.append(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, ec& e) {
    text_.append(s);
    JsonValue v;
    v.type_ = JsonValue::Type::kString;
    v.str_ = std::move(text_);
    text_.clear();
    return Add(std::move(v), e);
  }
  bool on_number_part(std::string_view s, ec&) {
    text_.append(s);
    return true;
  }
  bool on_int64(int64_t, std::string_view s, ec& e) { return Number(s, e); }
  bool on_uint64(uint64_t, std::string_view s, ec& e) { return Number(s, e); }
  bool on_double(double, std::string_view s, ec& e) { return Number(s, e); }
  bool on_bool(bool b, ec& e) {
    JsonValue v;
    v.type_ = JsonValue::Type::kBool;
    v.bool_ = b;
    return Add(std::move(v), e);
  }
  bool on_null(ec& e) { return Add(JsonValue(), e); }
  bool on_comment_part(std::string_view, ec&) { return true; }
  bool on_comment(std::string_view, ec&) { return true; }

  JsonValue& root() { return root_; }
  void set_allow_nan_literals(bool v) { allow_nan_literals_ = v; }

  // Out-of-range number texts standing for NaN and Infinity.
  static constexpr std::string_view kNanSentinel = "9e999999";
  static constexpr std::string_view kInfSentinel = "8e999999";

 private:
  bool Number(std::string_view last, ec& e) {
    text_.append(last);
    double d = 0;
    const char* begin = text_.data();
    const char* end = begin + text_.size();
    auto r = std::from_chars(begin, end, d);
    // from_chars reports out-of-range for overflow; JSON has no infinities,
    // and a model with a threshold of 1e999 is broken. The sentinels that
    // ReplaceNanLiterals wrote are the exception.
    if (r.ec == std::errc::result_out_of_range && allow_nan_literals_) {
      const std::string_view t(text_);
      if (t == kNanSentinel) {
        d = std::numeric_limits<double>::quiet_NaN();
        r.ec = std::errc();
      } else if (t == kInfSentinel) {
        d = std::numeric_limits<double>::infinity();
        r.ec = std::errc();
      } else if (t == StrCat("-", kInfSentinel)) {
        d = -std::numeric_limits<double>::infinity();
        r.ec = std::errc();
      }
    }
    if (r.ec != std::errc() || r.ptr != end) {
      e = boost::json::error::not_number;
      return false;
    }
    bool integer = text_.find_first_of(".eE") == std::string::npos;
    text_.clear();
    JsonValue* parent = stack_.empty() ? nullptr : &stack_.back();
    if (parent != nullptr && parent->is_number_array()) {
      parent->numbers_.push_back(d);
      parent->is_integer_ = parent->is_integer_ && integer;
      return true;
    }
    JsonValue v;
    v.type_ = JsonValue::Type::kNumber;
    v.number_ = d;
    v.is_integer_ = integer;
    return Add(std::move(v), e);
  }

  // Adds a finished value to the container on top of the stack, or makes it
  // the root.
  bool Add(JsonValue v, ec&) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    JsonValue& parent = stack_.back();
    if (parent.is_number_array()) {
      // First non-number element: turn the numbers into JsonValues.
      parent.number_array_ = false;
      parent.items_.reserve(parent.numbers_.size() + 1);
      for (double d : parent.numbers_) {
        JsonValue n;
        n.type_ = JsonValue::Type::kNumber;
        n.number_ = d;
        // (A NaN or huge value must not reach an integer cast.)
        n.is_integer_ = std::isfinite(d) && d == std::trunc(d);
        parent.items_.push_back(std::move(n));
      }
      parent.numbers_.clear();
      parent.numbers_.shrink_to_fit();
    }
    parent.items_.push_back(std::move(v));
    return true;
  }

  bool Close(ec& e) {
    JsonValue v = std::move(stack_.back());
    stack_.pop_back();
    if (!v.is_number_array()) v.is_integer_ = false;
    return Add(std::move(v), e);
  }

  std::vector<JsonValue> stack_;
  JsonValue root_;
  std::string key_;
  std::string text_;
  bool allow_nan_literals_ = false;
};

// Rewrites bare NaN / Infinity tokens (outside strings) into sentinels that
// the JSON grammar accepts as numbers. Returns false when there are none.
bool ReplaceNanLiterals(std::string_view text, std::string& out) {
  if (text.find("NaN") == std::string_view::npos &&
      text.find("Infinity") == std::string_view::npos) {
    return false;
  }
  out.reserve(text.size() + 64);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == 'N' && text.substr(i, 3) == "NaN") {
      out.append(JsonBuilder::kNanSentinel);
      i += 2;
      continue;
    } else if (c == 'I' && text.substr(i, 8) == "Infinity") {
      out.append(JsonBuilder::kInfSentinel);
      i += 7;
      continue;
    }
    out.push_back(c);
  }
  return true;
}

Result<JsonValue> ParseJson(std::string_view text, size_t max_depth, bool allow_nan_literals) {
  try {
    std::string rewritten;
    if (allow_nan_literals && ReplaceNanLiterals(text, rewritten)) text = rewritten;
    boost::json::parse_options opt;
    opt.max_depth = max_depth;
    boost::json::basic_parser<JsonBuilder> p(opt);
    p.handler().set_allow_nan_literals(allow_nan_literals);
    boost::json::error_code ec;
    size_t n = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && n < text.size()) ec = boost::json::error::extra_data;
    if (ec) {
      return Status::InvalidArgument(StrCat("invalid JSON at byte ", n, ": ", ec.message()));
    }
    return std::move(p.handler().root());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory while parsing JSON");
  } catch (const std::exception& e) {
    return Status::Internal(StrCat("JSON parser failed: ", e.what()));
  }
}

}  // namespace eddy::model_internal
