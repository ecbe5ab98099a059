// FeatureEngine: every feature group of a pipeline, wired to its source.
//
// For each accepted event of a source it computes the source's per-event
// feature row, in declaration order: for each as-of group its aggregations,
// then the fields it joins from tables, then its derived expressions. It also
// feeds the source's emitted-window groups and the tables keyed on it.
// Watermark advances of a source fire its windows and let groups drop state.
//
// Derived expressions may reference the event's fields and any feature that
// comes before them in the row.
//
// One thread uses a FeatureEngine (the engine's loop).

#ifndef EDDY_FEATURES_FEATURE_ENGINE_H_
#define EDDY_FEATURES_FEATURE_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "config/feature_spec.h"
#include "config/pipeline.h"
#include "expr/expression.h"
#include "features/asof_group.h"
#include "features/feature_value.h"
#include "features/keyed_table.h"
#include "features/window_group.h"
#include "ingest/schema.h"

namespace eddy {

class FeatureEngine {
 public:
  // `schemas[i]` is the compiled schema of `spec.sources[i]`.
  static Result<std::unique_ptr<FeatureEngine>> Create(const PipelineSpec& spec,
                                                       const std::vector<const Schema*>& schemas);
  ~FeatureEngine();

  // The per-event feature names of source `s` (empty if it has no as-of group).
  const std::vector<std::string>& feature_names(size_t s) const { return sources_[s].names; }
  bool has_event_features(size_t s) const { return !sources_[s].names.empty(); }
  // The per-event features of source `s` as expression variables, aligned
  // with feature_names(s); `top_k` lists have type kNull (not usable).
  std::vector<ExprVariable> feature_variables(size_t s) const;

  // Processes an accepted event of source `s`: fills `values` (resized to
  // feature_names(s)) and feeds windows and tables; window rows go to `sink`.
  void OnEvent(size_t s, EventTime t, const Row& row, std::vector<FeatureValue>& values,
               WindowSink& sink);
  void OnWatermark(size_t s, Watermark wm, WindowSink& sink);

  // The per-event groups' parts of the row OnEvent just computed: which
  // group, where its features sit in the row (aggregations, joins and derived
  // features, in order) and the key it was computed for (encoded as the
  // online store and history key it). Groups whose key was null are absent.
  struct GroupSlice {
    size_t group;  // index into asof_groups()
    size_t offset;
    size_t count;
    std::string key;
  };
  const std::vector<GroupSlice>& last_slices() const { return slices_; }
  // Names of the features of per-event group `g`, in row order.
  std::vector<std::string> group_feature_names(size_t g) const;
  // Encodes key field values as OnEvent does (single field: its text;
  // several: length-prefixed parts). For serving requests.
  static std::string EncodeKeyParts(const std::vector<std::string>& parts);

  // ---- Serving (thread-safe: reads only the immutable plan) ----

  // The per-event groups of source `s`, in row order.
  struct GroupInfo {
    size_t group;          // index into asof_groups()
    size_t offset, count;  // where its features sit in the row
    std::vector<int> key;  // row indices of its key fields
  };
  std::vector<GroupInfo> group_infos(size_t s) const;

  // Re-evaluates the derived features of source `s` in `values` (a feature
  // row whose aggregations and joined fields are filled) from `fields` (one
  // value per schema field), in row order: what the features of an event
  // with these fields would be, given the stored aggregations.
  void RecomputeDerived(size_t s, std::span<const ExprValue> fields,
                        std::vector<FeatureValue>& values) const;

  // Checkpoints: every group's and table's state, and the table horizons.
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes);
  // What that state was computed for, one text line per group or table (its
  // key, the fields it keeps and their types, windows, aggregations): a
  // checkpoint keeps it, and a restore into a pipeline whose plan differs is
  // refused (RestoreState alone checks only counts).
  const std::string& state_plan() const { return state_plan_; }

  const std::vector<std::unique_ptr<WindowGroup>>& window_groups() const { return windows_; }
  const std::vector<std::unique_ptr<AsOfGroup>>& asof_groups() const { return asof_; }
  // The spec of window group i (its output).
  const FeatureGroupSpec& window_spec(size_t i) const { return window_specs_[i]; }

 private:
  struct Join {
    int table;                // index into tables_
    std::vector<int> on;      // event field indices
    std::vector<int> fields;  // table field indices
  };
  struct Derived {
    Expression expr;
    std::vector<int> vars;  // variable i: >= 0 row field, < 0 feature -(i+1)
  };
  struct AsOfRef {
    int group;             // index into asof_
    std::vector<int> key;  // row indices of the key fields
    std::vector<Join> joins;
    std::vector<Derived> derived;
    size_t offset;  // first feature of this group in the row
    size_t num_aggs;
  };
  struct KeyedRef {
    int index;  // into windows_ or tables_
    std::vector<int> key;
  };
  struct SourcePlan {
    std::vector<std::string> names;
    std::vector<ExprType> name_types;  // kNull for lists (not usable in expressions)
    std::vector<AsOfRef> asof;
    std::vector<KeyedRef> windows;
    std::vector<KeyedRef> tables;
    std::vector<int> joined_tables;  // tables this source's groups look up
    Duration allowed_lateness;
    const Schema* schema = nullptr;
  };

  FeatureEngine() = default;
  void EncodeKey(const Row& row, const std::vector<int>& fields, std::string& out) const;
  void EncodeKeyJson(const Row& row, const std::vector<int>& fields, std::string& out) const;

  std::vector<SourcePlan> sources_;
  std::vector<std::unique_ptr<AsOfGroup>> asof_;
  std::vector<std::unique_ptr<WindowGroup>> windows_;
  std::vector<FeatureGroupSpec> window_specs_;
  std::string state_plan_;
  std::vector<std::unique_ptr<KeyedTable>> tables_;
  // Per table, per source: the horizon that source's events allow.
  std::vector<std::vector<EventTime>> table_horizons_;
  std::string key_, key_json_;
  std::vector<GroupSlice> slices_;
  std::vector<ExprValue> expr_values_;
};

}  // namespace eddy

#endif  // EDDY_FEATURES_FEATURE_ENGINE_H_
