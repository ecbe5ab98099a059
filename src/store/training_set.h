// Point-in-time training sets from the offline history
// (docs/concepts/training-sets.md).
//
// Labels are rows of (key, timestamp, label, optional id), in JSON lines or
// CSV (with a header row). For each label at time T and each requested
// feature group, the row gets the features of the newest history record of
// that key with
//   event_time <= T        (computed from events up to T)
//   available_at <= T      (Eddy had computed it by T)
//   T - event_time <= ttl  (not stale; the group's TTL)
// or nulls when there is none: never a value from after T. "Newest" is the
// largest event time; ties on event time go to the record appended last. This
// is what the online store would have served at T (it keeps, per key, the
// vector with the newest event time; equal times: the later write).
//
// Timestamps: an ISO-8601 string with a UTC offset, or epoch milliseconds as
// a number (JSON number; CSV: an unquoted number). Keys: a string, or a JSON
// number taken as its text.
//
// Output (CSV with a header, or JSON lines), one row per good label, in label
// order: id (when the labels have ids: the CSV header has the id column, or
// the first JSON lines row that is an object has the id field), key,
// timestamp (ISO-8601, UTC), label, then each group's features in group
// order. Columns keep the labels' field names. A feature is named
// "<group>.<feature>" when another requested group has a feature of the same
// name or it equals a label field name. Labels are copied as they are (a CSV
// label that is an unquoted number, true or false is a number or boolean in
// JSON output).
//
// Bad label rows (not JSON / not an object / a malformed CSV row, no key, no
// or unparsable timestamp, no label field, an id when the first row had none)
// are skipped and counted with their "file:line: reason"; never silently.
// Blank lines are not rows.
//
// Memory: the requested groups' history is indexed in memory (per record
// about 40 bytes plus its encoded vector); labels are streamed. The output
// appears under output_path only when complete.

#ifndef EDDY_STORE_TRAINING_SET_H_
#define EDDY_STORE_TRAINING_SET_H_

#include <string>
#include <vector>

#include "base/time.h"
#include "eddy/status.h"
#include "store/history.h"

namespace eddy {

struct TrainingSetOptions {
  std::string labels_path;
  std::string labels_format = "jsonl";  // or "csv"
  std::string key_field = "key";
  std::string time_field = "timestamp";  // ISO-8601 with offset, or epoch ms as a number
  std::string label_field = "label";
  std::string id_field = "id";  // optional in the labels; "" = no ids
  // Groups to include, in output order (every group of the history if
  // empty), and their TTLs (Infinite() = no TTL) in the same order; no TTLs
  // means no TTL for any group.
  std::vector<std::string> groups;
  std::vector<Duration> ttls;
  // The labels' field holding each group's key, in `groups` order, for
  // groups keyed by something else than `key_field` (a card, a merchant);
  // empty entries (or no entries) mean `key_field`. A label without that
  // field gets nulls for the group.
  std::vector<std::string> group_key_fields;
  std::string output_path;
  std::string output_format = "csv";  // or "jsonl"
};

struct TrainingSetStats {
  uint64_t labels = 0;        // label rows read (good and bad)
  uint64_t rows = 0;          // rows written
  uint64_t bad_labels = 0;    // rows of the labels file that could not be read (skipped, reported)
  uint64_t feature_hits = 0;  // (label, group) pairs that found a vector
  uint64_t feature_misses = 0;                  // ... that found none (or only stale ones)
  std::vector<std::string> bad_label_examples;  // the first few reasons, "file:line: why"
};

// Builds the training set. Bad label rows are skipped and counted (never
// silently): see TrainingSetStats.
Result<TrainingSetStats> BuildTrainingSet(const HistoryReader& history,
                                          const TrainingSetOptions& options);

}  // namespace eddy

#endif  // EDDY_STORE_TRAINING_SET_H_
