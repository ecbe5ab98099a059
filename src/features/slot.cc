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

void StringPool::Save(std::string& out) const {
  PutVarint64(out, entries_.size());
  for (const Entry& e : entries_) {
    PutString(out, e.text);
    PutSigned(out, e.refs);
  }
  PutVarint64(out, free_.size());
  for (uint64_t id : free_) PutVarint64(out, id);
}

bool StringPool::Load(ByteReader& in) {
  uint64_t n;
  if (!in.Varint64(n)) return false;
  if (n > in.remaining()) {
    in.Fail("string pool size exceeds the input");
    return false;
  }
  entries_.assign(static_cast<size_t>(n), Entry());
  index_.clear();
  bytes_ = 0;
  for (Entry& e : entries_) {
    std::string_view text;
    if (!in.String(text) || !in.Signed(e.refs)) return false;
    e.text.assign(text);
    if (e.refs > 0) {
      index_.emplace(e.text, static_cast<uint64_t>(&e - entries_.data()));
      bytes_ += e.text.size();
    }
  }
  uint64_t nf;
  if (!in.Varint64(nf)) return false;
  if (nf > in.remaining()) {
    in.Fail("string pool free list exceeds the input");
    return false;
  }
  free_.clear();
  for (uint64_t i = 0; i < nf; ++i) {
    uint64_t id;
    if (!in.Varint64(id)) return false;
    if (id >= entries_.size()) {
      in.Fail("string pool free id out of range");
      return false;
    }
    free_.push_back(id);
  }
  return true;
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
