// OnlineStore: the latest feature vector per (feature group, key).
//
// The feature engine writes (one thread); serving reads (many threads)
// concurrently with the writes. A read never sees a half-written vector.
//
// A Put only replaces the stored vector when its event time is at or after
// the stored one's: an out-of-order event (processed after a later one of the
// same key) must not turn the vector back to an earlier time. Such a Put is
// ignored and counted in Stats::out_of_order. Equal event times: the later Put
// wins.
//
// Implementations: OpenRocksDbStore (embedded, survives restart, with an
// in-memory cache of hot keys in front), OpenMemoryStore (tests, benchmarks).
// A Redis implementation for several instances sharing one store implements
// the same interface; nothing above the store changes.
// docs/formats/online-store.md describes the layout, write path, durability
// and cache.

#ifndef EDDY_STORE_ONLINE_STORE_H_
#define EDDY_STORE_ONLINE_STORE_H_

#include <cstdint>
#include <functional>
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

  // Replaces the vector of (group, key) unless the stored one has a later
  // event time (see above). May be buffered: visible to Get at once, durable
  // after Flush(). REQUIRES: called from the writer thread.
  virtual Status Put(std::string_view group, std::string_view key, const StoredVector& v) = 0;

  // The vector of (group, key), or nullopt when there is none. Thread-safe.
  virtual Result<std::optional<StoredVector>> Get(std::string_view group,
                                                  std::string_view key) const = 0;

  // Several keys of one group in one call; out[i] answers keys[i]. Thread-safe.
  // A key whose stored value fails to decode fails the whole call.
  virtual Result<std::vector<std::optional<StoredVector>>> MultiGet(
      std::string_view group, std::span<const std::string_view> keys) const = 0;

  // Calls fn(key, vector) for every vector of `group`, in key order
  // (bytewise, as std::string_view compares), and stops at the first error fn
  // returns, returning it. Sees every Put made before the call, flushed or
  // not. A Put running concurrently (on the writer thread) may or may not be
  // seen; each key still gets one whole vector. A stored value that fails to
  // decode stops the scan with kCorruption naming the group and key. The
  // views passed to fn are valid during the call only. Thread-safe; meant for
  // dumps and tests (it copies the group's unflushed vectors first), not for
  // the serving path.
  virtual Status Scan(
      std::string_view group,
      const std::function<Status(std::string_view key, const StoredVector&)>& fn) const = 0;

  // Makes every Put so far durable. REQUIRES: called from the writer thread.
  virtual Status Flush() = 0;

  // Writes a consistent copy of the store into `dir` (which must not exist),
  // for checkpoints. REQUIRES: called from the writer thread.
  virtual Status Checkpoint(const std::string& dir) = 0;

  struct Stats {
    uint64_t keys = 0;  // approximate
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;
    uint64_t puts = 0;
    uint64_t out_of_order = 0;  // Puts ignored: the stored vector was newer
    uint64_t cached = 0;        // vectors in the read cache (at most cache_entries)
    uint64_t buffered = 0;      // Puts not yet written to the backend
  };
  virtual Stats stats() const = 0;
};

struct RocksDbStoreOptions {
  // Keys kept in the in-memory cache in front of RocksDB (0 disables it).
  // Vectors written but not yet flushed are held besides these.
  size_t cache_entries = 1 << 20;
  // Written-but-unflushed vectors held in memory before Put writes them to
  // RocksDB on its own (in write batches, without a WAL: not yet durable).
  size_t write_buffer_entries = 1 << 17;
  // Create the database if missing.
  bool create_if_missing = true;
};

// Opens (or creates) an embedded store in directory `path`. One store may
// have the directory open at a time: a second one, in this process or
// another, gets kFailedPrecondition. Closing (destroying) the store flushes.
//
// Durability: writes bypass RocksDB's write-ahead log. What a Flush() or
// Checkpoint() has completed survives a crash; later Puts may be lost, and
// the engine restores them by restoring its last checkpoint and replaying
// the input from the checkpointed offsets.
Result<std::unique_ptr<OnlineStore>> OpenRocksDbStore(const std::string& path,
                                                      const RocksDbStoreOptions& options);

// Replaces the store at `path` with the checkpoint copy in `checkpoint_dir`
// (made by Checkpoint(); left unchanged). The checkpoint is copied and opened
// before the store is replaced, so a corrupt checkpoint is a kCorruption
// error that leaves the store as it was. REQUIRES: no store has `path` open
// (kFailedPrecondition otherwise).
Status RestoreRocksDbStore(const std::string& checkpoint_dir, const std::string& path);

// A store held in memory only. Flush() does nothing; Checkpoint(dir) writes
// a RocksDB store directory that OpenRocksDbStore and RestoreRocksDbStore
// read.
std::unique_ptr<OnlineStore> OpenMemoryStore();

}  // namespace eddy

#endif  // EDDY_STORE_ONLINE_STORE_H_
