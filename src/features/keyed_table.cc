#include "features/keyed_table.h"

#include <algorithm>

#include "base/coding.h"
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

void KeyedTable::SaveState(std::string& out) const {
  PutString(out, name_);
  PutVarint64(out, field_names_.size());
  PutSigned(out, horizon_.micros());
  std::vector<const std::pair<const std::string, std::vector<Version>>*> keys;
  for (const auto& kv : keys_) keys.push_back(&kv);
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->first < b->first; });
  PutVarint64(out, keys.size());
  for (const auto* kv : keys) {
    PutString(out, kv->first);
    PutVarint64(out, kv->second.size());
    for (const Version& v : kv->second) {
      PutSigned(out, v.time);
      for (const FeatureValue& f : v.values) f.Save(out);
    }
  }
}

Status KeyedTable::RestoreState(std::string_view bytes) {
  // ByteReader keeps a view of its description: it must outlive the reader.
  const std::string what = StrCat("checkpoint of table ", Quote(name_));
  ByteReader in(bytes, what);
  std::string_view name;
  uint64_t nfields, nkeys;
  int64_t horizon;
  if (!in.String(name) || !in.Varint64(nfields) || !in.Signed(horizon) || !in.Varint64(nkeys)) {
    return in.status();
  }
  if (name != name_ || nfields != field_names_.size()) {
    return Status::FailedPrecondition(
        StrCat("table ", Quote(name_), " changed since the checkpoint; run with --fresh"));
  }
  keys_.clear();
  for (uint64_t k = 0; k < nkeys; ++k) {
    std::string_view key;
    uint64_t nv;
    if (!in.String(key) || !in.Varint64(nv)) return in.status();
    if (nv > in.remaining()) return Status::Corruption("version count exceeds the checkpoint");
    std::vector<Version> versions(static_cast<size_t>(nv));
    for (Version& v : versions) {
      if (!in.Signed(v.time)) return in.status();
      v.values.resize(field_names_.size());
      for (FeatureValue& f : v.values) {
        if (!f.Load(in)) return in.status();
      }
    }
    keys_.emplace(std::string(key), std::move(versions));
  }
  if (!in.at_end()) return Status::Corruption("trailing bytes in a table checkpoint");
  horizon_ = EventTime::FromMicros(horizon);
  return Status::OK();
}

}  // namespace eddy
