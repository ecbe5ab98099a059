// OnlineStore: the latest feature vector per (feature group, key).
//
// The feature engine writes (one thread); serving reads (many threads)
// concurrently with the writes. A read never sees a half-written vector.
//
// Implementations: OpenRocksDbStore (embedded, survives restart, with an
// in-memory cache of hot keys in front), OpenMemoryStore (tests, benchmarks).
// A Redis implementation for several instances sharing one store implements
// the same interface; nothing above the store changes.

#ifndef EDDY_STORE_ONLINE_STORE_H_
#define EDDY_STORE_ONLINE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eddy/status.h"
#include "store/stored_vector.h"

namespace eddy {

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // Replaces the vector of (group, key). May be buffered: visible to Get at
  // once, durable after Flush().
  virtual Status Put(std::string_view group, std::string_view key, const StoredVector& v) = 0;

  // The vector of (group, key), or nullopt when there is none. Thread-safe.
  virtual Result<std::optional<StoredVector>> Get(std::string_view group,
                                                  std::string_view key) const = 0;

  // Several keys of one group in one call; out[i] answers keys[i].
  virtual Result<std::vector<std::optional<StoredVector>>> MultiGet(
      std::string_view group, std::span<const std::string_view> keys) const = 0;

  // Makes every Put so far durable.
  virtual Status Flush() = 0;

  // Writes a consistent copy of the store into `dir` (which must not exist),
  // for checkpoints. REQUIRES: called from the writer thread.
  virtual Status Checkpoint(const std::string& dir) = 0;

  struct Stats {
    uint64_t keys = 0;          // approximate
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;
    uint64_t puts = 0;
  };
  virtual Stats stats() const = 0;
};

struct RocksDbStoreOptions {
  // Keys kept in the in-memory cache in front of RocksDB (0 disables it).
  size_t cache_entries = 1 << 20;
  // Create the database if missing.
  bool create_if_missing = true;
};

// Opens (or creates) an embedded store in directory `path`.
Result<std::unique_ptr<OnlineStore>> OpenRocksDbStore(const std::string& path,
                                                      const RocksDbStoreOptions& options);

// Replaces the store at `path` with the checkpoint copy in `checkpoint_dir`.
Status RestoreRocksDbStore(const std::string& checkpoint_dir, const std::string& path);

// A store held in memory only.
std::unique_ptr<OnlineStore> OpenMemoryStore();

}  // namespace eddy

#endif  // EDDY_STORE_ONLINE_STORE_H_
