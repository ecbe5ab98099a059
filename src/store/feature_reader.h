// FeatureReader: reads from the online store with the group's TTL applied on
// every read (Feast does not; we do).
//
// A vector whose event time is more than the group's TTL before "now" is
// stale. The policy, per group with a per-request override, decides:
//   reject   the read fails (kFailedPrecondition, "stale")
//   default  the group's declared default values are served, flagged stale
//   flag     the stored values are served, flagged stale
// A key with no vector is "missing": served as defaults (with found = false)
// under `default`, and as a kNotFound error otherwise.
//
// Thread-safe: reads may run on any number of threads.

#ifndef EDDY_STORE_FEATURE_READER_H_
#define EDDY_STORE_FEATURE_READER_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "store/online_store.h"

namespace eddy {

enum class StalePolicy { kReject, kDefault, kFlag };

std::string_view StalePolicyName(StalePolicy p);

struct GroupReadSpec {
  std::string group;
  std::vector<std::string> names;        // feature names, in order
  Duration ttl = Duration::Infinite();   // Infinite() = never stale
  StalePolicy policy = StalePolicy::kFlag;
  std::vector<FeatureValue> defaults;    // one per name (null when not declared)
};

struct FeatureRead {
  bool found = false;   // a vector was stored for the key
  bool stale = false;   // older than the TTL (or missing and defaulted)
  bool defaulted = false;
  Duration age;         // now - event_time of the stored vector
  StoredVector vector;  // what is served (the stored or the default values)
};

class FeatureReader {
 public:
  // `store` and `clock` must outlive the reader.
  FeatureReader(const OnlineStore& store, const Clock& clock, std::vector<GroupReadSpec> groups);

  const GroupReadSpec* FindGroup(std::string_view group) const;

  Result<FeatureRead> Read(std::string_view group, std::string_view key,
                           std::optional<StalePolicy> policy = std::nullopt) const;
  // One result per key; a failing key fails only its own entry.
  Result<std::vector<Result<FeatureRead>>> ReadMany(
      std::string_view group, std::span<const std::string_view> keys,
      std::optional<StalePolicy> policy = std::nullopt) const;

 private:
  Result<FeatureRead> Apply(const GroupReadSpec& spec, std::optional<StoredVector> stored,
                            StalePolicy policy, std::string_view key) const;

  const OnlineStore& store_;
  const Clock& clock_;
  std::vector<GroupReadSpec> groups_;
};

}  // namespace eddy

#endif  // EDDY_STORE_FEATURE_READER_H_
