// KeyMap<V>: string key -> V, for per-key state on the per-event path.
//
// Why not std::unordered_map<std::string, V>: on the per-event path its
// lookup is two or three dependent cache misses (the bucket array, the node
// *before* the bucket's first node, the node itself) and a 64-bit division,
// and every key is its own heap node. Profiles of the as-of path put 28% of
// its time there (BENCHMARKS.md, "As-of features"). This map is one
// open-addressing table of 8-byte cells (a 32-bit hash and a record index;
// linear probing, power-of-two size, at most half full, so a lookup reads one
// cache line of a table that stays in the last-level cache) over one vector
// of records holding the key and the value.
//
// A record keeps its index until it is erased, so an index can stand for a
// key while the key lives (an expiry queue holds indices); erased indices are
// reused. Growing the record vector moves values (V must be nothrow-movable),
// so references and pointers into values are invalidated by FindOrInsert;
// indices are not. Erasing never moves other records.
//
// Not thread-safe; one thread uses a map.

#ifndef EDDY_FEATURES_KEY_MAP_H_
#define EDDY_FEATURES_KEY_MAP_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/check.h"

namespace eddy {

// A fast, well-mixed 64-bit hash of a short string (keys are usually ids of
// a few to a few dozen bytes). Deterministic: no seed.
inline uint64_t HashKey(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  auto mix = [](uint64_t h) {  // murmur3's fmix64
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
  };
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = n * kMul;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ mix(w)) * kMul;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ mix(w ^ (uint64_t{n} << 56))) * kMul;
  }
  return mix(h);
}

template <typename V>
class KeyMap {
  static_assert(std::is_nothrow_move_constructible_v<V>);

 public:
  using Index = uint32_t;
  static constexpr Index kNone = UINT32_MAX;

  // The index of `key`, or kNone.
  Index Find(std::string_view key) const { return Find(key, Hash32(key)); }

  // The index of `key`, inserting a default-constructed value if absent
  // (`inserted` says which).
  Index FindOrInsert(std::string_view key, bool& inserted) {
    const uint32_t hash = Hash32(key);
    Index i = Find(key, hash);
    inserted = i == kNone;
    if (!inserted) return i;
    if (2 * (size_ + 1) > cells_.size()) Grow();
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
      Record& r = records_[i];
      r.key.assign(key.data(), key.size());
      r.hash = hash;
      r.live = true;
    } else {
      EDDY_CHECK(records_.size() < kNone) << "more than 2^32 - 1 keys";
      i = static_cast<Index>(records_.size());
      records_.push_back(Record{std::string(key), hash, true, V()});
    }
    Place(hash, i);
    ++size_;
    return i;
  }

  // Erases the record at `i` (which must be live): its value is destroyed
  // (replaced by a default-constructed one) and its index may be reused.
  void Erase(Index i) {
    Record& r = records_[i];
    EDDY_DCHECK(r.live);
    const size_t mask = cells_.size() - 1;
    size_t pos = r.hash & mask;
    while (cells_[pos].index != i) pos = (pos + 1) & mask;
    // Backward-shift deletion: no tombstones, probe runs stay short.
    for (size_t next = (pos + 1) & mask;; next = (next + 1) & mask) {
      const Cell c = cells_[next];
      if (c.index == kNone) break;
      const size_t home = c.hash & mask;
      // Move c into the hole unless its home lies cyclically in (pos, next].
      const bool stays = pos <= next ? (pos < home && home <= next) : (pos < home || home <= next);
      if (!stays) {
        cells_[pos] = c;
        pos = next;
      }
    }
    cells_[pos] = Cell{0, kNone};
    r.value = V();
    std::string().swap(r.key);
    r.live = false;
    free_.push_back(i);
    --size_;
  }

  V& value(Index i) { return records_[i].value; }
  const V& value(Index i) const { return records_[i].value; }
  std::string_view key(Index i) const { return records_[i].key; }
  bool live(Index i) const { return i < records_.size() && records_[i].live; }
  size_t size() const { return size_; }

  // Calls f(index) for every live record, in index order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < records_.size(); ++i) {
      if (records_[i].live) f(static_cast<Index>(i));
    }
  }

  void Clear() {
    cells_.clear();
    records_.clear();
    free_.clear();
    size_ = 0;
  }

 private:
  struct Cell {
    uint32_t hash;
    Index index;  // kNone = empty
  };
  struct Record {
    std::string key;
    uint32_t hash;
    bool live;
    V value;
  };

  static uint32_t Hash32(std::string_view key) { return static_cast<uint32_t>(HashKey(key)); }

  Index Find(std::string_view key, uint32_t hash) const {
    if (cells_.empty()) return kNone;
    const size_t mask = cells_.size() - 1;
    for (size_t pos = hash & mask;; pos = (pos + 1) & mask) {
      const Cell c = cells_[pos];
      if (c.index == kNone) return kNone;
      if (c.hash == hash && records_[c.index].key == key) return c.index;
    }
  }

  void Place(uint32_t hash, Index i) {
    const size_t mask = cells_.size() - 1;
    size_t pos = hash & mask;
    while (cells_[pos].index != kNone) pos = (pos + 1) & mask;
    cells_[pos] = Cell{hash, i};
  }

  void Grow() {
    std::vector<Cell> old = std::move(cells_);
    cells_.assign(old.empty() ? 16 : 2 * old.size(), Cell{0, kNone});
    for (const Cell& c : old) {
      if (c.index != kNone) Place(c.hash, c.index);
    }
  }

  std::vector<Cell> cells_;
  std::vector<Record> records_;
  std::vector<Index> free_;
  size_t size_ = 0;
};

}  // namespace eddy

#endif  // EDDY_FEATURES_KEY_MAP_H_
