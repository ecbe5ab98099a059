#include "ingest/schema.h"

#include <charconv>

#include "base/json_writer.h"
#include "base/strings.h"

namespace eddy {

Result<Schema> Schema::Create(const SourceSpec& spec) {
  Schema s;
  s.unknown_fields_ = spec.unknown_fields;
  for (const FieldSpec& f : spec.fields) {
    CompiledField c;
    c.spec = f;
    c.required = f.required;
    c.has_min = f.min.has_value();
    c.has_max = f.max.has_value();
    c.min = f.min.value_or(0);
    c.max = f.max.value_or(0);
    for (const std::string& a : f.allowed) {
      if (f.type == FieldType::kInt) {
        int64_t v = 0;
        auto r = std::from_chars(a.data(), a.data() + a.size(), v);
        if (r.ec != std::errc() || r.ptr != a.data() + a.size()) {
          return Status::InvalidArgument(
              StrCat(f.where.ToString(), ": allowed value ", Quote(a), " is not an int"));
        }
        c.allowed_ints.push_back(v);
      } else {
        c.allowed_strings.insert(a);
      }
    }
    s.fields_.push_back(std::move(c));
  }
  if (!spec.event_time_field.empty()) {
    s.event_time_index_ = spec.FieldIndex(spec.event_time_field);
    if (s.event_time_index_ < 0) {
      return Status::InvalidArgument(
          StrCat("event_time field ", Quote(spec.event_time_field), " is not in the schema"));
    }
    s.fields_[s.event_time_index_].required = true;
  }
  if (!spec.id_field.empty()) s.id_index_ = spec.FieldIndex(spec.id_field);
  for (const std::string& k : spec.key_fields) {
    int idx = spec.FieldIndex(k);
    if (idx < 0)
      return Status::InvalidArgument(StrCat("key field ", Quote(k), " is not in the schema"));
    s.key_indices_.push_back(idx);
    s.fields_[idx].required = true;
  }
  return s;
}

bool Schema::Check(const Row& row, DecodeError& err) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    const CompiledField& f = fields_[i];
    const Value& v = row[i];
    if (v.is_null()) {
      if (f.required) {
        std::string why =
            static_cast<int>(i) == event_time_index_ ? " (it is the source's event_time)" : "";
        err.Set("missing_required", f.spec.name,
                StrCat("required field ", Quote(f.spec.name), " is missing or null", why));
        return false;
      }
      continue;
    }
    if (f.has_min || f.has_max) {
      double x = v.AsDouble();
      if ((f.has_min && x < f.min) || (f.has_max && x > f.max)) {
        std::string shown;
        if (v.kind() == Value::Kind::kInt) {
          AppendInt(shown, v.int_value());
        } else {
          AppendDouble(shown, x);
        }
        std::string range = f.has_min && f.has_max ? StrCat("[", f.min, ", ", f.max, "]")
                            : f.has_min            ? StrCat(">= ", f.min)
                                                   : StrCat("<= ", f.max);
        err.Set("out_of_range", f.spec.name,
                StrCat("field ", Quote(f.spec.name), " is ", shown, ", outside ", range));
        return false;
      }
    }
    if (!f.allowed_ints.empty()) {
      int64_t x = v.int_value();
      bool ok = false;
      for (int64_t a : f.allowed_ints) ok |= a == x;
      if (!ok) {
        err.Set("not_allowed", f.spec.name,
                StrCat("field ", Quote(f.spec.name), " is ", x, ", not one of the allowed values"));
        return false;
      }
    } else if (!f.allowed_strings.empty()) {
      std::string_view s = row.GetString(i);
      if (f.allowed_strings.find(s) == f.allowed_strings.end()) {
        err.Set(
            "not_allowed", f.spec.name,
            StrCat("field ", Quote(f.spec.name), " is ", Quote(s), ", not one of ",
                   StrJoin(std::vector<std::string>(f.spec.allowed.begin(), f.spec.allowed.end()),
                           ", ")));
        return false;
      }
    }
  }
  return true;
}

void AppendValueJson(std::string& out, const Row& row, size_t i) {
  const Value& v = row[i];
  switch (v.kind()) {
    case Value::Kind::kNull:
      out.append("null");
      break;
    case Value::Kind::kBool:
      out.append(v.bool_value() ? "true" : "false");
      break;
    case Value::Kind::kInt:
      AppendInt(out, v.int_value());
      break;
    case Value::Kind::kDouble:
      AppendDouble(out, v.double_value());
      break;
    case Value::Kind::kString:
      AppendJsonString(out, row.GetString(i));
      break;
    case Value::Kind::kTimestamp:
      out.push_back('"');
      AppendIso8601(out, v.timestamp_value());
      out.push_back('"');
      break;
  }
}

}  // namespace eddy
