#include "features/keyed_table.h"

#include <algorithm>

#include "base/strings.h"

namespace eddy {

void ValueToFeature(const Row& row, size_t index, FeatureValue& out) {
  const Value& v = row[index];
  switch (v.kind()) {
    case Value::Kind::kNull:
      out.SetNull();
      return;
    case Value::Kind::kBool:
      out.SetBool(v.bool_value());
      return;
    case Value::Kind::kInt:
      out.SetInt(v.int_value());
      return;
    case Value::Kind::kDouble:
      out.SetDouble(v.double_value());
      return;
    case Value::Kind::kString:
      out.SetString(row.GetString(index));
      return;
    case Value::Kind::kTimestamp:
      out.SetString(FormatIso8601(v.timestamp_value()));
      return;
  }
}

Result<std::unique_ptr<KeyedTable>> KeyedTable::Create(const FeatureGroupSpec& spec,
                                                       const SourceSpec& source,
                                                       const Schema& schema) {
  std::unique_ptr<KeyedTable> t(new KeyedTable());
  t->name_ = spec.name;
  t->key_arity_ = spec.key.empty() ? source.key_fields.size() : spec.key.size();
  if (t->key_arity_ == 0) {
    return Status::InvalidArgument(StrCat(spec.where, ": table ", Quote(spec.name),
                                          " needs a key (on the group or its source)"));
  }
  if (spec.table_fields.empty()) {
    return Status::InvalidArgument(
        StrCat(spec.where, ": table ", Quote(spec.name), " needs `fields` to keep"));
  }
  for (const std::string& f : spec.table_fields) {
    int idx = schema.Lookup(f);
    if (idx < 0) {
      return Status::InvalidArgument(StrCat(spec.where, ": table ", Quote(spec.name),
                                            ": unknown field ", Quote(f), " (not in the schema of ",
                                            Quote(source.name), ")"));
    }
    t->field_names_.push_back(f);
    t->row_indices_.push_back(idx);
    t->field_types_.push_back(schema.field(static_cast<size_t>(idx)).type);
  }
  return t;
}

int KeyedTable::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < field_names_.size(); ++i) {
    if (field_names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

void KeyedTable::OnEvent(std::string_view key, EventTime t, const Row& row) {
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), std::vector<Version>()).first;
  Version v;
  v.time = t.micros();
  v.values.resize(row_indices_.size());
  for (size_t i = 0; i < row_indices_.size(); ++i) {
    ValueToFeature(row, static_cast<size_t>(row_indices_[i]), v.values[i]);
  }
  auto& versions = it->second;
  // Insert after every version with time <= t (ties: later arrival wins).
  auto pos = std::upper_bound(versions.begin(), versions.end(), v.time,
                              [](int64_t time, const Version& x) { return time < x.time; });
  versions.insert(pos, std::move(v));
  // Keep the newest version at or before the horizon and all newer ones.
  auto keep = std::upper_bound(versions.begin(), versions.end(), horizon_.micros(),
                               [](int64_t time, const Version& x) { return time < x.time; });
  if (keep - versions.begin() > 1) versions.erase(versions.begin(), keep - 1);
}

void KeyedTable::Lookup(std::string_view key, EventTime t, std::span<const int> fields,
                        std::span<FeatureValue> out) const {
  auto it = keys_.find(key);
  const Version* found = nullptr;
  if (it != keys_.end()) {
    const auto& versions = it->second;
    auto pos = std::upper_bound(versions.begin(), versions.end(), t.micros(),
                                [](int64_t time, const Version& x) { return time < x.time; });
    if (pos != versions.begin()) found = &*(pos - 1);
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (found == nullptr) {
      out[i].SetNull();
    } else {
      out[i] = found->values[static_cast<size_t>(fields[i])];
    }
  }
}

}  // namespace eddy
