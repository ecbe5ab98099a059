// The in-memory online store: the same semantics as the RocksDB store (latest
// vector per key, out-of-order Puts ignored, reads concurrent with the
// writer), kept in a sharded hash map. Nothing is durable; a checkpoint is
// written as a RocksDB store directory so that it can be restored into the
// embedded store.

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "store/online_store.h"
#include "store/store_key.h"

namespace eddy {
namespace {

constexpr size_t kShards = 16;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct Shard {
  mutable std::mutex mu;
  // Store key (store_key.h) -> vector. Guarded by mu.
  std::unordered_map<std::string, StoredVector, StringHash, std::equal_to<>> vectors;
};

class MemoryStore final : public OnlineStore {
 public:
  Status Put(std::string_view group, std::string_view key, const StoredVector& v) override {
    puts_.fetch_add(1, std::memory_order_relaxed);
    const std::string skey = EncodeStoreKey(group, key);
    Shard& s = ShardOf(skey);
    std::lock_guard lock(s.mu);
    auto it = s.vectors.find(skey);
    if (it == s.vectors.end()) {
      s.vectors.emplace(skey, v);
    } else if (v.event_time < it->second.event_time) {
      out_of_order_.fetch_add(1, std::memory_order_relaxed);
    } else {
      it->second = v;
    }
    return Status::OK();
  }

  Result<std::optional<StoredVector>> Get(std::string_view group,
                                          std::string_view key) const override {
    const std::string skey = EncodeStoreKey(group, key);
    const Shard& s = ShardOf(skey);
    std::lock_guard lock(s.mu);
    auto it = s.vectors.find(skey);
    if (it == s.vectors.end()) return std::optional<StoredVector>();
    return std::optional<StoredVector>(it->second);
  }

  Result<std::vector<std::optional<StoredVector>>> MultiGet(
      std::string_view group, std::span<const std::string_view> keys) const override {
    std::vector<std::optional<StoredVector>> out(keys.size());
    std::string skey;
    for (size_t i = 0; i < keys.size(); ++i) {
      skey.clear();
      AppendStoreKey(skey, group, keys[i]);
      const Shard& s = ShardOf(skey);
      std::lock_guard lock(s.mu);
      if (auto it = s.vectors.find(skey); it != s.vectors.end()) out[i] = it->second;
    }
    return out;
  }

  // Copies the group's vectors out under the shard locks, then calls fn in
  // key order without holding any.
  Status Scan(
      std::string_view group,
      const std::function<Status(std::string_view key, const StoredVector&)>& fn) const override {
    std::string prefix;
    AppendStoreKeyPrefix(prefix, group);
    std::vector<std::pair<std::string, StoredVector>> found;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (const auto& [skey, v] : s.vectors) {
        if (skey.starts_with(prefix)) found.emplace_back(skey.substr(prefix.size()), v);
      }
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [key, v] : found) EDDY_RETURN_IF_ERROR(fn(key, v));
    return Status::OK();
  }

  Status Flush() override { return Status::OK(); }

  // Writes every vector into a new RocksDB store at `dir`.
  Status Checkpoint(const std::string& dir) override {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      return Status::AlreadyExists(
          StrCat("cannot checkpoint the in-memory store into ", Quote(dir), ": it exists already"));
    }
    if (std::filesystem::path parent = std::filesystem::path(dir).parent_path(); !parent.empty()) {
      std::filesystem::create_directories(parent, ec);  // an error shows in the open
    }
    RocksDbStoreOptions options;
    options.cache_entries = 0;
    EDDY_ASSIGN_OR_RETURN(std::unique_ptr<OnlineStore> copy, OpenRocksDbStore(dir, options));
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (const auto& [skey, v] : s.vectors) {
        std::string_view group, key;
        if (!DecodeStoreKey(skey, group, key)) {
          return Status::Internal(StrCat("malformed key in the in-memory store: ", Quote(skey)));
        }
        EDDY_RETURN_IF_ERROR(copy->Put(group, key, v));
      }
    }
    return copy->Flush();
  }

  Stats stats() const override {
    Stats st;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      st.keys += s.vectors.size();
    }
    st.puts = puts_.load(std::memory_order_relaxed);
    st.out_of_order = out_of_order_.load(std::memory_order_relaxed);
    return st;
  }

 private:
  Shard& ShardOf(std::string_view skey) const {
    return shards_[std::hash<std::string_view>()(skey) % kShards];
  }

  mutable std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> puts_{0};
  std::atomic<uint64_t> out_of_order_{0};
};

}  // namespace

std::unique_ptr<OnlineStore> OpenMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace eddy
