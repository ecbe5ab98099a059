// Slots: how a field's value is kept in feature state. A slot is 8 bytes that
// identify the value exactly, given the field's type:
//   int        the int64
//   double     the double's bits (-0.0 normalised to 0.0)
//   bool       0 or 1
//   timestamp  microseconds since the epoch
//   string     an id from the group's StringPool
// Numeric aggregations read a slot as a double (timestamps as epoch seconds);
// count_distinct, top-k and last compare slots for identity.

#ifndef EDDY_FEATURES_SLOT_H_
#define EDDY_FEATURES_SLOT_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/coding.h"
#include "base/value.h"
#include "features/feature_value.h"
#include "ingest/schema.h"

namespace eddy {

// Interned strings with reference counts, so strings held by feature state are
// stored once and freed when the last window forgets them.
class StringPool {
 public:
  // Returns the id of `s`, adding a reference.
  uint64_t Intern(std::string_view s);
  void AddRef(uint64_t id) { ++entries_[id].refs; }
  void Release(uint64_t id);
  std::string_view Get(uint64_t id) const { return entries_[id].text; }
  size_t size() const { return index_.size(); }
  size_t bytes() const { return bytes_; }

  // Checkpoint image: every id keeps its number.
  void Save(std::string& out) const;
  bool Load(ByteReader& in);

 private:
  struct Entry {
    std::string text;
    int64_t refs = 0;
  };
  std::vector<Entry> entries_;
  std::vector<uint64_t> free_;
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> index_;
  size_t bytes_ = 0;
};

inline uint64_t DoubleBits(double d) {
  if (d == 0) d = 0.0;
  uint64_t u;
  std::memcpy(&u, &d, sizeof(u));
  return u;
}

inline double BitsDouble(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof(d));
  return d;
}

// Reads field `index` of `row` into a slot (strings are interned, adding a
// reference). REQUIRES: the value is not null.
inline uint64_t ToSlot(const Row& row, size_t index, StringPool& pool) {
  const Value& v = row[index];
  switch (v.kind()) {
    case Value::Kind::kBool:
      return v.bool_value() ? 1 : 0;
    case Value::Kind::kInt:
      return static_cast<uint64_t>(v.int_value());
    case Value::Kind::kDouble:
      return DoubleBits(v.double_value());
    case Value::Kind::kTimestamp:
      return static_cast<uint64_t>(v.timestamp_value().micros());
    case Value::Kind::kString:
      return pool.Intern(row.GetString(index));
    case Value::Kind::kNull:
      break;
  }
  return 0;
}

// A slot as a number, for numeric aggregations.
inline double SlotAsDouble(uint64_t slot, FieldType type) {
  switch (type) {
    case FieldType::kBool:
    case FieldType::kInt:
      return static_cast<double>(static_cast<int64_t>(slot));
    case FieldType::kDouble:
      return BitsDouble(slot);
    case FieldType::kTimestamp:
      return static_cast<double>(static_cast<int64_t>(slot)) / 1e6;
    case FieldType::kString:
      break;
  }
  return 0;
}

// A slot as a feature value of the field's own type (last value).
void SlotToFeature(uint64_t slot, FieldType type, const StringPool& pool, FeatureValue& out);

// A slot as text (top-k values are strings in outputs).
std::string SlotToString(uint64_t slot, FieldType type, const StringPool& pool);

// Orders slots of one type by their values (for top-k ties).
bool SlotLess(uint64_t a, uint64_t b, FieldType type, const StringPool& pool);

}  // namespace eddy

#endif  // EDDY_FEATURES_SLOT_H_
