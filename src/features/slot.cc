#include "features/slot.h"

#include "base/check.h"
#include "base/strings.h"

namespace eddy {

uint64_t StringPool::Intern(std::string_view s) {
  auto it = index_.find(s);
  if (it != index_.end()) {
    ++entries_[it->second].refs;
    return it->second;
  }
  uint64_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = entries_.size();
    entries_.emplace_back();
  }
  entries_[id].text.assign(s.data(), s.size());
  entries_[id].refs = 1;
  index_.emplace(entries_[id].text, id);
  bytes_ += s.size();
  return id;
}

void StringPool::Release(uint64_t id) {
  Entry& e = entries_[id];
  EDDY_DCHECK(e.refs > 0);
  if (--e.refs > 0) return;
  bytes_ -= e.text.size();
  index_.erase(e.text);
  std::string().swap(e.text);
  free_.push_back(id);
}

void SlotToFeature(uint64_t slot, FieldType type, const StringPool& pool, FeatureValue& out) {
  switch (type) {
    case FieldType::kBool:
      out.SetBool(slot != 0);
      return;
    case FieldType::kInt:
      out.SetInt(static_cast<int64_t>(slot));
      return;
    case FieldType::kDouble:
      out.SetDouble(BitsDouble(slot));
      return;
    case FieldType::kTimestamp: {
      std::string s;
      AppendIso8601(s, EventTime::FromMicros(static_cast<int64_t>(slot)));
      out.SetString(s);
      return;
    }
    case FieldType::kString:
      out.SetString(pool.Get(slot));
      return;
  }
}

std::string SlotToString(uint64_t slot, FieldType type, const StringPool& pool) {
  switch (type) {
    case FieldType::kBool:
      return slot ? "true" : "false";
    case FieldType::kInt:
      return StrCat(static_cast<int64_t>(slot));
    case FieldType::kDouble: {
      std::string s;
      AppendDouble(s, BitsDouble(slot));
      return s;
    }
    case FieldType::kTimestamp:
      return FormatIso8601(EventTime::FromMicros(static_cast<int64_t>(slot)));
    case FieldType::kString:
      return std::string(pool.Get(slot));
  }
  return "";
}

bool SlotLess(uint64_t a, uint64_t b, FieldType type, const StringPool& pool) {
  switch (type) {
    case FieldType::kBool:
    case FieldType::kInt:
    case FieldType::kTimestamp:
      return static_cast<int64_t>(a) < static_cast<int64_t>(b);
    case FieldType::kDouble:
      return BitsDouble(a) < BitsDouble(b);
    case FieldType::kString:
      return pool.Get(a) < pool.Get(b);
  }
  return a < b;
}

}  // namespace eddy
