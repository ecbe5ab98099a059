#include "store/feature_reader.h"

#include <utility>

#include "base/strings.h"

namespace eddy {

std::string_view StalePolicyName(StalePolicy p) {
  switch (p) {
    case StalePolicy::kReject:
      return "reject";
    case StalePolicy::kDefault:
      return "default";
    case StalePolicy::kFlag:
      return "flag";
  }
  return "unknown";
}

Result<StalePolicy> ParseStalePolicy(std::string_view name) {
  for (StalePolicy p : {StalePolicy::kReject, StalePolicy::kDefault, StalePolicy::kFlag}) {
    if (name == StalePolicyName(p)) return p;
  }
  return Status::InvalidArgument(
      StrCat("unknown stale policy ", Quote(name), "; expected reject, default or flag"));
}

FeatureReader::FeatureReader(const OnlineStore& store, const Clock& clock,
                             std::vector<GroupReadSpec> groups)
    : store_(store), clock_(clock), groups_(std::move(groups)) {
  group_names_.reserve(groups_.size());
  for (GroupReadSpec& g : groups_) {
    g.defaults.resize(g.names.size());
    group_names_.push_back(g.group);
  }
  // groups_ is not resized from here on, so the views and pointers hold.
  for (const GroupReadSpec& g : groups_) by_name_.emplace(g.group, &g);
}

const GroupReadSpec* FeatureReader::FindGroup(std::string_view group) const {
  auto it = by_name_.find(group);
  return it == by_name_.end() ? nullptr : it->second;
}

Result<const GroupReadSpec*> FeatureReader::Lookup(std::string_view group) const {
  if (const GroupReadSpec* spec = FindGroup(group)) return spec;
  std::string msg = StrCat("unknown feature group ", Quote(group));
  if (std::string near = SuggestName(group, group_names_); !near.empty()) {
    StrAppend(msg, " (did you mean ", Quote(near), "?)");
  } else if (group_names_.empty()) {
    StrAppend(msg, " (no groups are served)");
  }
  return Status::InvalidArgument(std::move(msg));
}

Result<FeatureRead> FeatureReader::Read(std::string_view group, std::string_view key,
                                        std::optional<StalePolicy> policy) const {
  EDDY_ASSIGN_OR_RETURN(const GroupReadSpec* spec, Lookup(group));
  EDDY_ASSIGN_OR_RETURN(std::optional<StoredVector> stored, store_.Get(group, key));
  return Apply(*spec, std::move(stored), policy.value_or(spec->policy), key);
}

Result<std::vector<Result<FeatureRead>>> FeatureReader::ReadMany(
    std::string_view group, std::span<const std::string_view> keys,
    std::optional<StalePolicy> policy) const {
  EDDY_ASSIGN_OR_RETURN(const GroupReadSpec* spec, Lookup(group));
  const StalePolicy p = policy.value_or(spec->policy);
  std::vector<Result<FeatureRead>> out;
  out.reserve(keys.size());
  Result<std::vector<std::optional<StoredVector>>> stored = store_.MultiGet(group, keys);
  if (stored.ok()) {
    for (size_t i = 0; i < keys.size(); ++i) {
      out.push_back(Apply(*spec, std::move((*stored)[i]), p, keys[i]));
    }
    return out;
  }
  if (stored.status().code() != StatusCode::kCorruption) return stored.status();
  // One undecodable vector fails the whole MultiGet; read key by key so that
  // it fails only its own entry.
  for (std::string_view key : keys) {
    Result<std::optional<StoredVector>> one = store_.Get(group, key);
    out.push_back(one.ok() ? Apply(*spec, std::move(*one), p, key) : one.status());
  }
  return out;
}

Result<FeatureRead> FeatureReader::Apply(const GroupReadSpec& spec,
                                         std::optional<StoredVector> stored, StalePolicy policy,
                                         std::string_view key) const {
  FeatureRead read;
  if (!stored) {
    if (policy != StalePolicy::kDefault) {
      return Status::NotFound(
          StrCat("no features for key ", Quote(key), " in feature group ", Quote(spec.group)));
    }
    read.stale = true;
    read.defaulted = true;
    read.age = Duration::Infinite();
    read.vector.event_time = EventTime::Min();
    read.vector.values = spec.defaults;
    return read;
  }
  if (stored->values.size() != spec.names.size()) {
    return Status::FailedPrecondition(
        StrCat("the stored vector of feature group ", Quote(spec.group), " key ", Quote(key),
               " has ", stored->values.size(), " values but the group has ", spec.names.size(),
               " features; was the pipeline changed without rebuilding its store?"));
  }
  read.found = true;
  // Processing time now against the event time of the values (see header).
  read.age = Duration::Micros(internal::SatSub(clock_.Now().micros(), stored->event_time.micros()));
  read.stale = !spec.ttl.is_infinite() && read.age > spec.ttl;
  read.vector = std::move(*stored);
  if (!read.stale) return read;
  switch (policy) {
    case StalePolicy::kReject:
      return Status::FailedPrecondition(StrCat(
          "the features of key ", Quote(key), " in feature group ", Quote(spec.group),
          " are stale: they are as of ", FormatIso8601(read.vector.event_time), ", ",
          FormatDuration(read.age), " ago, past the group's ttl of ", FormatDuration(spec.ttl)));
    case StalePolicy::kDefault:
      read.defaulted = true;
      read.vector.values = spec.defaults;
      break;
    case StalePolicy::kFlag:
      break;
  }
  return read;
}

}  // namespace eddy
