// The feature sections of a pipeline file, as validated specs: feature groups
// (per-event as-of aggregations, emitted windows, keyed tables), their
// aggregations, derived expressions and enrichment joins. Semantics are in
// docs/concepts/features.md; options in docs/reference/pipeline.md.

#ifndef EDDY_CONFIG_FEATURE_SPEC_H_
#define EDDY_CONFIG_FEATURE_SPEC_H_

#include <string>
#include <vector>

#include "base/time.h"

namespace eddy {

struct ConfigLocation;  // config/pipeline.h

enum class AggKind {
  kCount,  // events (or non-null values of `field`)
  kSum,
  kMean,
  kMin,
  kMax,
  kVariance,       // sample variance; null with fewer than 2 values
  kStddev,         // sample standard deviation
  kCountDistinct,  // exact
  kQuantile,       // DDSketch, relative error <= 1%
  kLast,           // the latest non-null value
  kTopK,           // the k most frequent values
  kDecayedSum,     // sum of value * 2^(-(t - t_i) / half_life)
};

std::string_view AggKindName(AggKind kind);

enum class WindowKind {
  kAsOf,      // one row per event: aggregations over [t - window, t]
  kTumbling,  // one row per key and window [start, start + size)
  kHopping,   // windows of `size` starting every `slide`
  kSession,   // events closer than `gap` form one session
};

std::string_view WindowKindName(WindowKind kind);

struct AggregationSpec {
  std::string name;  // the feature's name
  AggKind kind = AggKind::kCount;
  std::string field;      // input field; empty for a count of events
  Duration window;        // as-of groups: the window length
  Duration granularity;   // zero = exact; else tiles of this size
  double quantile = 0.5;  // kQuantile
  int k = 0;              // kTopK
  Duration half_life;     // kDecayedSum
  std::string where;      // location in the pipeline file, for messages
};

struct DerivedSpec {
  std::string name;
  std::string expr;
  std::string where;
};

struct JoinSpec {
  std::string table;                // a table group
  std::vector<std::string> on;      // event fields giving the table's key, in order
  std::vector<std::string> fields;  // table fields to bring in
  std::string prefix;               // prepended to the joined fields' names
  std::string where;
};

struct WindowSpec {
  WindowKind kind = WindowKind::kAsOf;
  Duration size;   // tumbling, hopping
  Duration slide;  // hopping
  Duration gap;    // session
};

struct FeatureGroupSpec {
  std::string name;
  std::string source;
  std::vector<std::string> key;  // empty = the source's key
  WindowSpec window;
  std::vector<AggregationSpec> aggregations;
  std::vector<DerivedSpec> derived;
  std::vector<JoinSpec> joins;
  bool table = false;  // a keyed table of the latest `table_fields` per key
  std::vector<std::string> table_fields;
  std::string output;  // emitted-window groups: where rows go ("" = not written)
  std::string output_format = "jsonl";
  Duration ttl = Duration::Infinite();  // online freshness of per-event vectors
  std::string stale = "flag";           // reject | default | flag
  // Defaults under `stale: default`: (feature name, scalar text as written).
  std::vector<std::pair<std::string, std::string>> defaults;
  std::string where;
};

}  // namespace eddy

#endif  // EDDY_CONFIG_FEATURE_SPEC_H_
