#include "scoring/input_mapper.h"

#include <cmath>
#include <limits>

#include "base/strings.h"

namespace eddy {

double ExprToInput(const ExprValue& v, const std::vector<std::string>* encode) {
  switch (v.type) {
    case ExprType::kNull:
      return std::numeric_limits<double>::quiet_NaN();
    case ExprType::kBool:
      return v.b ? 1.0 : 0.0;
    case ExprType::kInt:
    case ExprType::kDouble: {
      if (encode != nullptr) {
        std::string text;
        if (v.type == ExprType::kInt) {
          AppendInt(text, v.i);
        } else {
          AppendDouble(text, v.d);
        }
        for (size_t i = 0; i < encode->size(); ++i) {
          if ((*encode)[i] == text) return static_cast<double>(i);
        }
        return std::numeric_limits<double>::quiet_NaN();
      }
      return v.AsDouble();
    }
    case ExprType::kString:
      if (encode != nullptr) {
        for (size_t i = 0; i < encode->size(); ++i) {
          if ((*encode)[i] == v.s) return static_cast<double>(i);
        }
      }
      return std::numeric_limits<double>::quiet_NaN();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Result<InputMapper> InputMapper::Create(const ModelSpec& spec, std::vector<ExprVariable> vars) {
  InputMapper m;
  m.vars_ = std::move(vars);
  auto fail = [&](std::string_view msg) {
    return Status::InvalidArgument(StrCat(spec.where, ": model ", Quote(spec.name), ": ", msg));
  };
  for (const auto& [name, values] : spec.encode) m.encode_[name] = values;
  auto encode_of = [&](const std::string& name) -> const std::vector<std::string>* {
    auto it = m.encode_.find(name);
    return it == m.encode_.end() ? nullptr : &it->second;
  };
  auto add = [&](const std::string& name, Input in) {
    for (const auto& [n, v] : spec.defaults) {
      if (n == name) {
        in.fallback = v;
        in.has_default = true;
      }
    }
    in.encode = encode_of(name);
    m.names_.push_back(name);
    m.inputs_.push_back(std::move(in));
  };
  for (const auto& [name, text] : spec.inputs) {
    auto e = Expression::Compile(text, m.vars_);
    if (!e.ok()) return fail(StrCat("input ", Quote(name), ": ", e.status().message()));
    if (e->result_type() == ExprType::kString && encode_of(name) == nullptr) {
      return fail(StrCat("input ", Quote(name), " is a string; list its values under `encode`"));
    }
    Input in;
    in.expr.emplace(std::move(e).value());
    add(name, std::move(in));
  }
  for (size_t i = 0; i < m.vars_.size(); ++i) {
    const ExprVariable& v = m.vars_[i];
    if (m.Find(v.name) >= 0) continue;  // an explicit input of that name wins
    bool usable = v.type == ExprType::kInt || v.type == ExprType::kDouble ||
                  v.type == ExprType::kBool ||
                  (v.type == ExprType::kString && encode_of(v.name) != nullptr);
    if (!usable) continue;
    Input in;
    in.var = static_cast<int>(i);
    add(v.name, std::move(in));
  }
  for (const auto& [name, values] : spec.encode) {
    if (m.Find(name) < 0) {
      return fail(
          StrCat("`encode` names ", Quote(name), ", which is not a field, feature or input"));
    }
  }
  for (const auto& [name, v] : spec.defaults) {
    if (m.Find(name) < 0) {
      return fail(
          StrCat("`defaults` names ", Quote(name), ", which is not a field, feature or input"));
    }
  }
  return m;
}

int InputMapper::Find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int InputMapper::FindVariable(std::string_view name) const {
  for (size_t i = 0; i < vars_.size(); ++i) {
    if (vars_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void InputMapper::Map(std::span<const ExprValue> values, std::vector<double>& out,
                      std::vector<bool>& missing) const {
  out.resize(inputs_.size());
  missing.assign(inputs_.size(), false);
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const Input& in = inputs_[i];
    ExprValue v = in.expr ? in.expr->Evaluate(values) : values[static_cast<size_t>(in.var)];
    double x = ExprToInput(v, in.encode);
    if (std::isnan(x)) {
      missing[i] = true;
      if (in.has_default) x = in.fallback;
    }
    out[i] = x;
  }
}

}  // namespace eddy
