// FeatureReader: reads from the online store with the group's TTL applied on
// every read (Feast does not; we do).
//
// A vector is stale when its event time is more than the group's TTL before
// "now", where now is the reader's clock: processing time. So age = now -
// event_time compares the event time the values are as of with the
// machine's clock, as Feast's TTL does; a vector exactly TTL old is still
// fresh, one a microsecond older is stale, and a vector from the future (an
// event time ahead of the clock) is fresh. A pipeline replaying old events
// therefore writes vectors that read as stale: that is the truth about them
// at serving time. The policy, per group with a per-request override,
// decides:
//   reject   the read fails (kFailedPrecondition, "stale")
//   default  the group's declared default values are served, flagged stale
//   flag     the stored values are served, flagged stale
// A key with no vector is "missing": served as defaults (with found = false)
// under `default`, and as a kNotFound error otherwise. A stored vector whose
// length is not the group's number of features (the pipeline changed
// without its store) is a kFailedPrecondition error. An unknown group is a
// kInvalidArgument error.
//
// Everything a read needs from a group's spec (its lookup, its padded
// defaults) is prepared by the constructor; a read parses nothing.
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

// "reject", "default", "flag".
std::string_view StalePolicyName(StalePolicy p);
// The inverse of StalePolicyName (for per-request overrides); an unknown name
// is a kInvalidArgument error listing the valid ones.
Result<StalePolicy> ParseStalePolicy(std::string_view name);

struct GroupReadSpec {
  std::string group;
  std::vector<std::string> names;       // feature names, in order
  Duration ttl = Duration::Infinite();  // Infinite() = never stale
  StalePolicy policy = StalePolicy::kFlag;
  std::vector<FeatureValue> defaults;  // one per name (null when not declared)
};

struct FeatureRead {
  bool found = false;  // a vector was stored for the key
  bool stale = false;  // older than the TTL (or missing and defaulted)
  bool defaulted = false;
  Duration age;  // now - event_time of the stored vector; Infinite() if missing
  // What is served: the stored or the default values. Defaults carry the
  // stored vector's times when there is one, else EventTime::Min() and
  // processing time 0.
  StoredVector vector;
};

class FeatureReader {
 public:
  // `store` and `clock` must outlive the reader. REQUIRES: group names are
  // distinct (the config layer checks; a repeated name is ignored) and each
  // group declares at most one default per name (missing ones are null).
  FeatureReader(const OnlineStore& store, const Clock& clock, std::vector<GroupReadSpec> groups);

  // The spec of `group`, or null.
  const GroupReadSpec* FindGroup(std::string_view group) const;

  Result<FeatureRead> Read(std::string_view group, std::string_view key,
                           std::optional<StalePolicy> policy = std::nullopt) const;
  // One result per key; a failing key fails only its own entry.
  Result<std::vector<Result<FeatureRead>>> ReadMany(
      std::string_view group, std::span<const std::string_view> keys,
      std::optional<StalePolicy> policy = std::nullopt) const;

 private:
  Result<const GroupReadSpec*> Lookup(std::string_view group) const;
  Result<FeatureRead> Apply(const GroupReadSpec& spec, std::optional<StoredVector> stored,
                            StalePolicy policy, std::string_view key) const;

  const OnlineStore& store_;
  const Clock& clock_;
  std::vector<GroupReadSpec> groups_;     // defaults padded to names.size()
  std::vector<std::string> group_names_;  // for "did you mean"
  std::unordered_map<std::string_view, const GroupReadSpec*> by_name_;  // views into groups_
};

}  // namespace eddy

#endif  // EDDY_STORE_FEATURE_READER_H_
