// KeyedTable: a table of the latest values of some fields per key, kept with
// their event times, that events of other sources are enriched from "as of"
// their own event time (profiles, account attributes).
//
// A lookup at time t returns the newest version of the key with event time
// <= t among the table records received so far (ties: the later arrival).
// Records of the table source that arrive after an event are not seen by it,
// even if their event time is earlier: that is what was known when the event
// was processed, and replay in the same order sees the same.
//
// Old versions are pruned: for each key the newest version at or before the
// horizon (the oldest event time any future event can have) is kept, with
// every newer one.

#ifndef EDDY_FEATURES_KEYED_TABLE_H_
#define EDDY_FEATURES_KEYED_TABLE_H_

#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/time.h"
#include "base/value.h"
#include "config/feature_spec.h"
#include "config/pipeline.h"
#include "features/feature_value.h"
#include "ingest/schema.h"

namespace eddy {

class KeyedTable {
 public:
  static Result<std::unique_ptr<KeyedTable>> Create(const FeatureGroupSpec& spec,
                                                    const SourceSpec& source, const Schema& schema);

  void OnEvent(std::string_view key, EventTime t, const Row& row);
  // Fills out[i] with table field `fields[i]` as of `t` (null when the key has
  // no version at or before t). `fields` index into field_names().
  void Lookup(std::string_view key, EventTime t, std::span<const int> fields,
              std::span<FeatureValue> out) const;
  // The oldest event time any future lookup can have. Versions no lookup can
  // reach are dropped when their key is next updated.
  void SetHorizon(EventTime horizon) {
    if (horizon > horizon_) horizon_ = horizon;
  }

  // Checkpoints: every version of every key.
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& field_names() const { return field_names_; }
  // Index of a table field, or -1.
  int FieldIndex(std::string_view name) const;
  FieldType field_type(size_t i) const { return field_types_[i]; }
  size_t key_arity() const { return key_arity_; }
  size_t num_keys() const { return keys_.size(); }

 private:
  struct Version {
    int64_t time;
    std::vector<FeatureValue> values;
  };
  std::string name_;
  std::vector<std::string> field_names_;
  std::vector<int> row_indices_;
  std::vector<FieldType> field_types_;
  size_t key_arity_ = 0;
  EventTime horizon_ = EventTime::Min();
  std::unordered_map<std::string, std::vector<Version>, StringHash, std::equal_to<>> keys_;
};

// Converts a row value to a feature value of the same type.
void ValueToFeature(const Row& row, size_t index, FeatureValue& out);

}  // namespace eddy

#endif  // EDDY_FEATURES_KEYED_TABLE_H_
