// The embedded online store: RocksDB behind a sharded in-memory cache.
// docs/formats/online-store.md is the long form of this comment.
//
// Write path (the feature engine's thread, up to ~1M Puts/s): a Put encodes
// the vector, updates the key's cache entry and marks it dirty; nothing
// touches RocksDB unless the key is not cached (then its stored event time is
// read once, to keep an out-of-order Put from replacing a newer vector).
// Dirty entries are written to RocksDB when Flush() is called or when more
// than write_buffer_entries are dirty, in key order and in large batches, so
// a hot key updated a thousand times between writes costs one RocksDB write.
// Batches go without the write-ahead log: durability comes from Flush()
// (which also flushes the memtables to table files) and from checkpoints,
// and what a crash loses is restored by the engine's checkpoint + replay.
//
// Read path (any thread): the shard's cache under its mutex, then RocksDB,
// whose answer is put in the cache. The cache holds vectors encoded, as
// RocksDB does (~100 bytes for a typical vector, against ~1 KB decoded): a
// hit copies the bytes out under the lock, so a reader never sees a
// half-written vector, and decodes them outside it. Clean entries are
// evicted by CLOCK (second chance), at most cache_entries of them in all;
// dirty entries are pinned until written.
//
// Invariant: a key's cache entry, when there is one, holds its newest
// vector. Every Put goes through the cache, RocksDB is written only from
// dirty entries, and an entry becomes clean (evictable) only after it was
// written. So a reader that misses the cache may trust RocksDB; the one race
// left, a miss whose RocksDB answer is overtaken by a Put + write + eviction
// of the same key before the answer is cached, is caught by the per-slot
// eviction counters (see CacheShard::evictions).

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "base/strings.h"
#include "store/online_store.h"
#include "store/store_key.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;

constexpr size_t kShards = 64;      // power of two
constexpr size_t kEvictSlots = 64;  // per shard, see Shard::evictions
constexpr size_t kBlockCacheMb = 64;

bool IsLockError(const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  const std::string text = s.ToString();
  return text.find("While lock file") != std::string::npos ||
         text.find("lock hold by current process") != std::string::npos;
}

// A RocksDB status as an Eddy status whose message starts with `context`.
Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg = StrCat(context, ": ", s.ToString());
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  if (s.IsIOError()) return Status::IoError(std::move(msg));
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Unavailable(std::move(msg));
  return Status::Internal(std::move(msg));
}

rocksdb::Options DbOptions(bool create_if_missing) {
  rocksdb::Options o;
  o.create_if_missing = create_if_missing;
  // Bloom filters, hash index in data blocks and a block cache: point reads.
  o.OptimizeForPointLookup(kBlockCacheMb);
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 4;
  return o;
}

// Opens RocksDB at `path`, turning a held lock and a missing store into
// messages a user can act on.
Result<std::unique_ptr<rocksdb::DB>> OpenDb(const std::string& path, bool create_if_missing) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(DbOptions(create_if_missing), path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (s.ok()) return db;
  if (IsLockError(s)) {
    return Status::FailedPrecondition(
        StrCat("cannot open the online store at ", Quote(path),
               ": it is in use (another Eddy process, or another store in this process, has it "
               "open; RocksDB says: ",
               s.ToString(), ")"));
  }
  if (s.IsInvalidArgument() && s.ToString().find("does not exist") != std::string::npos) {
    return Status::NotFound(
        StrCat("no online store at ", Quote(path), " (and creating one was not asked for)"));
  }
  return FromRocks(s, StrCat("cannot open the online store at ", Quote(path)));
}

Status CloseDb(rocksdb::DB& db, std::string_view path) {
  return FromRocks(db.Close(), StrCat("closing the online store at ", Quote(path)));
}

// The fsync of a directory, so that renames in it are durable.
Status SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::IoError(StrCat("cannot open directory ", Quote(dir.string())));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IoError(StrCat("cannot sync directory ", Quote(dir.string())));
  return Status::OK();
}

// A store key with its hash, computed once per call: the top bits pick the
// shard, the next ones the eviction slot, the low ones the place in the
// shard's table.
struct HashedKey {
  std::string_view bytes;
  uint64_t hash;
  explicit HashedKey(std::string_view b) : bytes(b), hash(std::hash<std::string_view>()(b)) {}
  HashedKey(std::string_view b, uint64_t h) : bytes(b), hash(h) {}
  size_t shard() const { return (hash >> 58) & (kShards - 1); }
  size_t evict_slot() const { return (hash >> 52) & (kEvictSlots - 1); }
};

// One cached vector. Key and value share one heap block, so a lookup that
// finds the entry touches three cache lines: table slot, entry, data.
struct CacheEntry {
  uint64_t hash = 0;
  std::string data;  // the store key, then the encoded vector
  uint32_t key_size = 0;
  EventTime event_time;     // of the vector in value()
  bool used = false;        // false: on the free list
  bool dirty = false;       // newer than RocksDB; pinned until written
  bool referenced = false;  // the CLOCK bit: read since the hand last passed
  std::string_view key() const { return std::string_view(data).substr(0, key_size); }
  std::string_view value() const { return std::string_view(data).substr(key_size); }
  void SetValue(std::string_view v) {
    data.resize(key_size);
    data.append(v);
  }
};

// One slice of the cache: an open-addressing hash table (linear probing,
// backward-shift deletion) over a vector of entries, CLOCK eviction of clean
// entries, and the list of dirty ones. Not thread-safe: every call is made
// with `mu` held, which guards every field.
class CacheShard {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  mutable std::mutex mu;
  size_t capacity = 0;  // most clean entries kept
  // Evictions so far, per slot of the key hash. A reader that missed the
  // cache notes its key's counter before reading RocksDB and caches the
  // answer only if the counter has not moved: if it has, the key may have
  // been written and evicted meanwhile, and the answer may be older than
  // RocksDB now is.
  std::array<uint32_t, kEvictSlots> evictions{};
  uint64_t hits = 0;
  uint64_t misses = 0;
  std::vector<uint32_t> dirty;  // entries not yet written to RocksDB

  size_t clean_count() const { return clean_; }
  CacheEntry& at(uint32_t i) { return entries_[i]; }

  // The entry of `k`, or kNone.
  uint32_t Find(const HashedKey& k) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = k.hash & mask;; i = (i + 1) & mask) {
      const Slot s = slots_[i];
      if (s.entry == kNone) return kNone;
      if (s.hash32 == static_cast<uint32_t>(k.hash)) {
        const CacheEntry& e = entries_[s.entry];
        if (e.hash == k.hash && e.key() == k.bytes) return s.entry;
      }
    }
  }

  // Adds `k` (REQUIRES: not present) with value `value`; returns its entry.
  // A clean entry may evict others.
  uint32_t Insert(const HashedKey& k, EventTime event_time, std::string_view value, bool dirty) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    uint32_t idx;
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
    } else {
      idx = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
    }
    CacheEntry& e = entries_[idx];
    e.hash = k.hash;
    e.data.assign(k.bytes);
    e.key_size = static_cast<uint32_t>(k.bytes.size());
    e.SetValue(value);
    e.event_time = event_time;
    e.used = true;
    e.dirty = dirty;
    e.referenced = true;
    Place(idx);
    ++size_;
    if (dirty) {
      this->dirty.push_back(idx);
    } else {
      ++clean_;
      Evict();
    }
    return idx;
  }

  // Pins a clean entry until written. REQUIRES: entry `i` is clean.
  void MarkDirty(uint32_t i) {
    entries_[i].dirty = true;
    dirty.push_back(i);
    --clean_;
  }

  // After the dirty entries were written: they become clean (evictable).
  void MarkWritten() {
    for (uint32_t i : dirty) {
      entries_[i].dirty = false;
      ++clean_;
    }
    dirty.clear();
    Evict();
  }

 private:
  struct Slot {
    uint32_t entry = kNone;
    uint32_t hash32 = 0;  // low bits of the key hash: the home slot, a filter
  };

  void Place(uint32_t idx) {
    const size_t mask = slots_.size() - 1;
    const uint64_t hash = entries_[idx].hash;
    size_t i = hash & mask;
    while (slots_[i].entry != kNone) i = (i + 1) & mask;
    slots_[i] = Slot{idx, static_cast<uint32_t>(hash)};
  }

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(std::max<size_t>(16, old.size() * 2), Slot{});
    for (const Slot& s : old) {
      if (s.entry != kNone) Place(s.entry);
    }
  }

  // Removes entry `idx` from the table, shifting later entries of its probe
  // run back so that no lookup needs a tombstone.
  void Erase(uint32_t idx) {
    const size_t mask = slots_.size() - 1;
    size_t i = entries_[idx].hash & mask;
    while (slots_[i].entry != idx) i = (i + 1) & mask;
    slots_[i] = Slot{};
    for (size_t j = (i + 1) & mask; slots_[j].entry != kNone; j = (j + 1) & mask) {
      const size_t home = slots_[j].hash32 & mask;
      // The entry at j may move to the hole at i unless its home lies
      // cyclically in (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      slots_[j] = Slot{};
      i = j;
    }
    CacheEntry& e = entries_[idx];
    e.used = false;
    e.data.clear();
    e.data.shrink_to_fit();
    free_.push_back(idx);
    --size_;
  }

  // CLOCK: the hand skips free and dirty entries, gives referenced ones a
  // second chance, and evicts the first clean unreferenced one.
  void Evict() {
    while (clean_ > capacity) {
      if (hand_ >= entries_.size()) hand_ = 0;
      CacheEntry& e = entries_[hand_];
      const uint32_t i = static_cast<uint32_t>(hand_++);
      if (!e.used || e.dirty) continue;
      if (e.referenced) {
        e.referenced = false;
        continue;
      }
      ++evictions[HashedKey(e.key(), e.hash).evict_slot()];
      Erase(i);
      --clean_;
    }
  }

  std::vector<Slot> slots_;  // power-of-two size, at most half full
  std::vector<CacheEntry> entries_;
  std::vector<uint32_t> free_;
  size_t size_ = 0;   // used entries
  size_t clean_ = 0;  // used entries that are not dirty
  size_t hand_ = 0;   // CLOCK hand, an index into entries_
};

// A vector read from RocksDB: decoded (so checked) and as stored.
struct Loaded {
  StoredVector vector;
  std::string bytes;
};

class RocksDbStore final : public OnlineStore {
 public:
  RocksDbStore(std::string path, std::unique_ptr<rocksdb::DB> db,
               const RocksDbStoreOptions& options)
      : path_(std::move(path)), db_(std::move(db)), options_(options) {
    for (size_t i = 0; i < kShards; ++i) {
      shards_[i].capacity = options.cache_entries / kShards + (i < options.cache_entries % kShards);
    }
    write_options_.disableWAL = true;  // see the comment at the top
  }

  ~RocksDbStore() override {
    if (Status s = Flush(); !s.ok()) {
      EDDY_LOG(Error) << "online store at " << Quote(path_) << ": final flush failed, the "
                      << "last writes are lost: " << s.ToString();
    }
    if (Status s = CloseDb(*db_, path_); !s.ok()) {
      EDDY_LOG(Error) << s.ToString();
    }
  }

  Status Put(std::string_view group, std::string_view key, const StoredVector& v) override {
    puts_.fetch_add(1, std::memory_order_relaxed);
    // Encode before taking the lock.
    encoded_.clear();
    EncodeStoredVector(v, encoded_);
    put_key_.clear();
    AppendStoreKey(put_key_, group, key);
    const HashedKey hk(put_key_);
    CacheShard& s = shards_[hk.shard()];
    {
      std::unique_lock lock(s.mu);
      if (uint32_t i = s.Find(hk); i != CacheShard::kNone) {
        UpdateLocked(s, i, v.event_time);
        return MaybeWriteDirtyUnlocked(lock);
      }
    }
    // Not cached: RocksDB may hold a newer vector. Read it without the lock;
    // only this thread writes RocksDB, so the answer stays true.
    std::optional<Loaded> stored;
    {
      Result<std::optional<Loaded>> r = ReadDb(put_key_, group, key);
      if (r.ok()) {
        stored = std::move(*r);
      } else if (r.status().code() == StatusCode::kCorruption) {
        EDDY_LOG(Warn) << r.status().message() << "; the new vector replaces it";
      } else {
        return r.status();
      }
    }
    std::unique_lock lock(s.mu);
    // A reader may have cached the RocksDB vector meanwhile.
    if (uint32_t i = s.Find(hk); i != CacheShard::kNone) {
      UpdateLocked(s, i, v.event_time);
    } else if (stored && v.event_time < stored->vector.event_time) {
      out_of_order_.fetch_add(1, std::memory_order_relaxed);
      s.Insert(hk, stored->vector.event_time, stored->bytes, /*dirty=*/false);
    } else {
      if (!stored) new_keys_buffered_.fetch_add(1, std::memory_order_relaxed);
      s.Insert(hk, v.event_time, encoded_, /*dirty=*/true);
      dirty_count_.fetch_add(1, std::memory_order_relaxed);
    }
    return MaybeWriteDirtyUnlocked(lock);
  }

  Result<std::optional<StoredVector>> Get(std::string_view group,
                                          std::string_view key) const override {
    // Per-thread scratch: no allocation per read once warm.
    thread_local std::string skey;
    thread_local std::string bytes;
    skey.clear();
    AppendStoreKey(skey, group, key);
    const HashedKey hk(skey);
    CacheShard& s = shards_[hk.shard()];
    uint32_t evictions = 0;
    {
      std::lock_guard lock(s.mu);
      if (uint32_t i = s.Find(hk); i != CacheShard::kNone) {
        ++s.hits;
        bytes.assign(Touch(s, i));
      } else {
        ++s.misses;
        evictions = s.evictions[hk.evict_slot()];
        bytes.clear();
      }
    }
    // A hit decodes its copy of the bytes outside the lock.
    if (!bytes.empty()) return Answer(bytes, group, key);

    Result<std::optional<Loaded>> r = ReadDb(skey, group, key);
    if (!r.ok()) return r.status();
    if (!r->has_value()) return std::optional<StoredVector>();
    Loaded& loaded = **r;
    {
      std::lock_guard lock(s.mu);
      if (!CacheLoadedLocked(s, hk, evictions, loaded, bytes)) {
        return std::optional<StoredVector>(std::move(loaded.vector));
      }
    }
    return Answer(bytes, group, key);
  }

  Result<std::vector<std::optional<StoredVector>>> MultiGet(
      std::string_view group, std::span<const std::string_view> keys) const override {
    std::vector<std::optional<StoredVector>> out(keys.size());
    struct Miss {
      size_t index;
      std::string skey;
      uint64_t hash;
      uint32_t evictions;
    };
    std::vector<Miss> misses;
    thread_local std::string skey;
    thread_local std::string bytes;
    for (size_t i = 0; i < keys.size(); ++i) {
      skey.clear();
      AppendStoreKey(skey, group, keys[i]);
      const HashedKey hk(skey);
      CacheShard& s = shards_[hk.shard()];
      {
        std::lock_guard lock(s.mu);
        const uint32_t e = s.Find(hk);
        if (e == CacheShard::kNone) {
          ++s.misses;
          misses.push_back(Miss{i, skey, hk.hash, s.evictions[hk.evict_slot()]});
          continue;
        }
        ++s.hits;
        bytes.assign(Touch(s, e));
      }
      EDDY_ASSIGN_OR_RETURN(out[i], Answer(bytes, group, keys[i]));
    }
    if (misses.empty()) return out;

    std::vector<rocksdb::Slice> slices;
    slices.reserve(misses.size());
    for (const Miss& m : misses) slices.emplace_back(m.skey);
    std::vector<rocksdb::PinnableSlice> values(misses.size());
    std::vector<rocksdb::Status> statuses(misses.size());
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), misses.size(), slices.data(),
                  values.data(), statuses.data());
    for (size_t j = 0; j < misses.size(); ++j) {
      const Miss& m = misses[j];
      if (statuses[j].IsNotFound()) continue;
      if (!statuses[j].ok()) return FromRocks(statuses[j], ReadContext(group, keys[m.index]));
      EDDY_ASSIGN_OR_RETURN(Loaded loaded, Load(values[j], group, keys[m.index]));
      const HashedKey hk(m.skey, m.hash);
      CacheShard& s = shards_[hk.shard()];
      bool newer;
      {
        std::lock_guard lock(s.mu);
        newer = CacheLoadedLocked(s, hk, m.evictions, loaded, bytes);
      }
      if (newer) {
        EDDY_ASSIGN_OR_RETURN(out[m.index], Answer(bytes, group, keys[m.index]));
      } else {
        out[m.index] = std::move(loaded.vector);
      }
    }
    return out;
  }

  // Merges the group's dirty cache entries (newer than RocksDB, copied first)
  // into an iteration over RocksDB's range of the group. Clean cache entries
  // hold what RocksDB holds, so they need no look.
  Status Scan(
      std::string_view group,
      const std::function<Status(std::string_view key, const StoredVector&)>& fn) const override {
    std::string prefix;
    AppendStoreKeyPrefix(prefix, group);
    std::vector<std::pair<std::string, std::string>> dirty;  // entity key, encoded vector
    for (CacheShard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (uint32_t i : s.dirty) {
        const CacheEntry& e = s.at(i);
        if (e.key().starts_with(prefix)) {
          dirty.emplace_back(std::string(e.key().substr(prefix.size())), std::string(e.value()));
        }
      }
    }
    std::sort(dirty.begin(), dirty.end());
    auto emit = [&](std::string_view key, std::string_view bytes) -> Status {
      Result<StoredVector> v = DecodeStoredVector(bytes);
      if (!v.ok()) return CorruptValue(v.status(), group, key);
      return fn(key, *v);
    };
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    ro.fill_cache = false;  // a scan must not push hot blocks out
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    size_t d = 0;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      const std::string_view skey(it->key().data(), it->key().size());
      if (!skey.starts_with(prefix)) break;
      const std::string_view key = skey.substr(prefix.size());
      for (; d < dirty.size() && std::string_view(dirty[d].first) < key; ++d) {
        EDDY_RETURN_IF_ERROR(emit(dirty[d].first, dirty[d].second));
      }
      if (d < dirty.size() && std::string_view(dirty[d].first) == key) {
        EDDY_RETURN_IF_ERROR(emit(dirty[d].first, dirty[d].second));
        ++d;
        continue;
      }
      EDDY_RETURN_IF_ERROR(emit(key, std::string_view(it->value().data(), it->value().size())));
    }
    if (!it->status().ok()) {
      return FromRocks(it->status(),
                       StrCat("scanning feature group ", Quote(group), " in the online store"));
    }
    for (; d < dirty.size(); ++d) EDDY_RETURN_IF_ERROR(emit(dirty[d].first, dirty[d].second));
    return Status::OK();
  }

  Status Flush() override {
    EDDY_RETURN_IF_ERROR(WriteDirty());
    rocksdb::FlushOptions fo;
    fo.wait = true;
    return FromRocks(db_->Flush(fo), StrCat("flushing the online store at ", Quote(path_)));
  }

  Status Checkpoint(const std::string& dir) override {
    std::error_code ec;
    if (fs::exists(dir, ec)) {
      return Status::AlreadyExists(
          StrCat("cannot checkpoint the online store into ", Quote(dir), ": it exists already"));
    }
    if (fs::path parent = fs::path(dir).parent_path(); !parent.empty()) {
      fs::create_directories(parent, ec);  // an error shows in CreateCheckpoint
    }
    EDDY_RETURN_IF_ERROR(Flush());
    rocksdb::Checkpoint* raw = nullptr;
    const std::string context =
        StrCat("checkpointing the online store at ", Quote(path_), " into ", Quote(dir));
    EDDY_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), context));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    return FromRocks(checkpoint->CreateCheckpoint(dir), context);
  }

  Stats stats() const override {
    Stats st;
    uint64_t estimate = 0;
    db_->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &estimate);
    st.keys = estimate + new_keys_buffered_.load(std::memory_order_relaxed);
    st.puts = puts_.load(std::memory_order_relaxed);
    st.out_of_order = out_of_order_.load(std::memory_order_relaxed);
    st.buffered = dirty_count_.load(std::memory_order_relaxed);
    for (const CacheShard& s : shards_) {
      std::lock_guard lock(s.mu);
      st.cache_hits += s.hits;
      st.cache_misses += s.misses;
      st.cached += s.clean_count();
    }
    return st;
  }

 private:
  // Gives entry `i` the vector in encoded_, unless the entry's is newer.
  // REQUIRES: s.mu held.
  void UpdateLocked(CacheShard& s, uint32_t i, EventTime event_time) {
    CacheEntry& e = s.at(i);
    if (event_time < e.event_time) {
      out_of_order_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    e.event_time = event_time;
    e.SetValue(encoded_);  // reuses the entry's buffer
    if (!e.dirty) {
      s.MarkDirty(i);
      dirty_count_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // A cache hit: sets the CLOCK bit and returns the entry's bytes.
  // REQUIRES: s.mu held.
  static std::string_view Touch(CacheShard& s, uint32_t i) {
    CacheEntry& e = s.at(i);
    e.referenced = true;
    return e.value();
  }

  // After a miss read `loaded` from RocksDB: caches it when that is safe
  // (see CacheShard::evictions). Returns true, with the entry's bytes in
  // `newer`, when the key was cached meanwhile (by a Put or another reader:
  // at least as new as `loaded`, and what the reader should answer).
  // REQUIRES: s.mu held.
  static bool CacheLoadedLocked(CacheShard& s, const HashedKey& hk, uint32_t evictions,
                                const Loaded& loaded, std::string& newer) {
    if (uint32_t i = s.Find(hk); i != CacheShard::kNone) {
      newer.assign(Touch(s, i));
      return true;
    }
    if (s.capacity > 0 && s.evictions[hk.evict_slot()] == evictions) {
      s.Insert(hk, loaded.vector.event_time, loaded.bytes, /*dirty=*/false);
    }
    return false;
  }

  // Releases the shard lock, then writes the dirty entries if there are too
  // many.
  Status MaybeWriteDirtyUnlocked(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    if (dirty_count_.load(std::memory_order_relaxed) <= options_.write_buffer_entries) {
      return Status::OK();
    }
    return WriteDirty();
  }

  // Writes every dirty entry to RocksDB, then marks the entries clean. The
  // entries are copied out shard by shard and written in key order, in
  // batches: RocksDB's memtable inserts ordered keys faster than scattered
  // ones (~20% more Puts/s in store_bench). Only the writer thread changes
  // entries' values and the dirty lists, and eviction skips dirty entries,
  // so no lock is held while RocksDB writes.
  Status WriteDirty() {
    flat_.clear();
    spans_.clear();
    for (CacheShard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (uint32_t i : s.dirty) {
        const CacheEntry& e = s.at(i);
        spans_.push_back(Span{flat_.size(), e.key_size, e.data.size()});
        flat_.append(e.data);
      }
    }
    if (spans_.empty()) return Status::OK();
    auto key = [this](const Span& sp) {
      return std::string_view(flat_).substr(sp.offset, sp.key_size);
    };
    std::sort(spans_.begin(), spans_.end(),
              [&key](const Span& a, const Span& b) { return key(a) < key(b); });
    constexpr size_t kBatchEntries = 16384;
    for (size_t begin = 0; begin < spans_.size(); begin += kBatchEntries) {
      rocksdb::WriteBatch batch;
      const size_t end = std::min(spans_.size(), begin + kBatchEntries);
      for (size_t j = begin; j < end; ++j) {
        const Span& sp = spans_[j];
        batch.Put(key(sp),
                  std::string_view(flat_).substr(sp.offset + sp.key_size, sp.size - sp.key_size));
      }
      EDDY_RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, &batch),
                                     StrCat("writing to the online store at ", Quote(path_))));
    }
    for (CacheShard& s : shards_) {
      std::lock_guard lock(s.mu);
      dirty_count_.fetch_sub(s.dirty.size(), std::memory_order_relaxed);
      s.MarkWritten();
    }
    new_keys_buffered_.store(0, std::memory_order_relaxed);
    return Status::OK();
  }

  static std::string ReadContext(std::string_view group, std::string_view key) {
    return StrCat("reading feature group ", Quote(group), " key ", Quote(key),
                  " from the online store");
  }

  static Status CorruptValue(const Status& why, std::string_view group, std::string_view key) {
    return Status::Corruption(StrCat("the stored vector of feature group ", Quote(group), " key ",
                                     Quote(key), " is corrupt: ", why.message()));
  }

  // Decodes cached bytes (which were checked when they entered the cache).
  static Result<std::optional<StoredVector>> Answer(std::string_view bytes, std::string_view group,
                                                    std::string_view key) {
    Result<StoredVector> v = DecodeStoredVector(bytes);
    if (!v.ok()) return CorruptValue(v.status(), group, key);
    return std::optional<StoredVector>(std::move(*v));
  }

  static Result<Loaded> Load(const rocksdb::Slice& bytes, std::string_view group,
                             std::string_view key) {
    const std::string_view view(bytes.data(), bytes.size());
    Result<StoredVector> v = DecodeStoredVector(view);
    if (!v.ok()) return CorruptValue(v.status(), group, key);
    return Loaded{std::move(*v), std::string(view)};
  }

  Result<std::optional<Loaded>> ReadDb(const std::string& skey, std::string_view group,
                                       std::string_view key) const {
    rocksdb::PinnableSlice value;
    rocksdb::Status st = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), skey, &value);
    if (st.IsNotFound()) return std::optional<Loaded>();
    if (!st.ok()) return FromRocks(st, ReadContext(group, key));
    EDDY_ASSIGN_OR_RETURN(Loaded loaded, Load(value, group, key));
    return std::optional<Loaded>(std::move(loaded));
  }

  const std::string path_;
  const std::unique_ptr<rocksdb::DB> db_;
  const RocksDbStoreOptions options_;
  rocksdb::WriteOptions write_options_;
  mutable std::array<CacheShard, kShards> shards_;
  // The writer thread's scratch buffers.
  std::string encoded_;
  std::string put_key_;
  struct Span {  // one dirty entry copied into flat_: key, then value
    size_t offset;
    uint32_t key_size;
    size_t size;
  };
  std::string flat_;
  std::vector<Span> spans_;
  // Written by the writer thread only; atomics so that stats() may read them.
  std::atomic<uint64_t> puts_{0};
  std::atomic<uint64_t> out_of_order_{0};
  std::atomic<uint64_t> dirty_count_{0};
  std::atomic<uint64_t> new_keys_buffered_{0};  // dirty keys RocksDB does not hold yet
};

// Copies the files of checkpoint `from` into the new directory `to`. Table
// files never change once written, so they are hard-linked when the file
// system allows; the rest (MANIFEST, CURRENT, OPTIONS, ...) is copied.
Status CopyCheckpoint(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return Status::IoError(StrCat("cannot create ", Quote(to.string()), ": ", ec.message()));
  fs::directory_iterator it(from, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const bool regular = it->is_regular_file(ec);
    if (ec) break;
    if (!regular) continue;
    const fs::path& source = it->path();
    const fs::path target = to / source.filename();
    if (source.extension() == ".sst" && (fs::create_hard_link(source, target, ec), !ec)) continue;
    fs::copy_file(source, target, ec);
    if (ec) {
      return Status::IoError(StrCat("cannot copy ", Quote(source.string()), " to ",
                                    Quote(target.string()), ": ", ec.message()));
    }
  }
  if (ec) {
    return Status::IoError(StrCat("cannot list ", Quote(from.string()), ": ", ec.message()));
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<OnlineStore>> OpenRocksDbStore(const std::string& path,
                                                      const RocksDbStoreOptions& options) {
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenDb(path, options.create_if_missing));
  return std::unique_ptr<OnlineStore>(std::make_unique<RocksDbStore>(path, std::move(db), options));
}

Status RestoreRocksDbStore(const std::string& checkpoint_dir, const std::string& path) {
  std::error_code ec;
  const std::string context =
      StrCat("cannot restore the online store at ", Quote(path), " from ", Quote(checkpoint_dir));
  if (!fs::exists(fs::path(checkpoint_dir) / "CURRENT", ec)) {
    return Status::NotFound(StrCat(context, ": no store checkpoint there (CURRENT is missing)"));
  }
  // Opening the current store is the test that nobody has it open.
  if (fs::exists(path, ec)) {
    Result<std::unique_ptr<rocksdb::DB>> current = OpenDb(path, /*create_if_missing=*/false);
    if (current.ok()) {
      EDDY_RETURN_IF_ERROR(CloseDb(**current, path));
    } else if (current.status().code() == StatusCode::kFailedPrecondition) {
      return current.status().WithContext(context);
    }  // A store that does not open is replaced all the same.
  }
  fs::path target = fs::absolute(fs::path(path), ec).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "dir/" names "dir"
  const fs::path tmp = target.string() + ".restoring";
  const fs::path old = target.string() + ".replaced";
  fs::remove_all(tmp, ec);
  fs::create_directories(target.parent_path(), ec);
  EDDY_RETURN_IF_ERROR(CopyCheckpoint(checkpoint_dir, tmp).WithContext(context));
  // Open the copy before replacing anything: a corrupt checkpoint must leave
  // the store as it was.
  {
    Result<std::unique_ptr<rocksdb::DB>> copy = OpenDb(tmp.string(), /*create_if_missing=*/false);
    Status closed = copy.ok() ? CloseDb(**copy, tmp.string()) : copy.status();
    if (!closed.ok()) {
      fs::remove_all(tmp, ec);
      return Status::Corruption(
          StrCat(context, ": the checkpoint does not open: ", closed.message()));
    }
  }
  fs::remove_all(old, ec);
  if (fs::exists(target, ec)) {
    fs::rename(target, old, ec);
    if (ec) return Status::IoError(StrCat(context, ": cannot move the old store: ", ec.message()));
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    return Status::IoError(StrCat(context,
                                  ": cannot move the checkpoint copy into place (the "
                                  "old store is at ",
                                  Quote(old.string()), "): ", ec.message()));
  }
  EDDY_RETURN_IF_ERROR(SyncDir(target.parent_path()));
  fs::remove_all(old, ec);
  return Status::OK();
}

}  // namespace eddy
