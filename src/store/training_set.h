// Point-in-time training sets from the offline history.
//
// Labels are rows of (key, timestamp, label, optional id), in JSON lines or
// CSV. For each label at time T and each requested feature group, the row gets
// the features of the newest history record of that key with
//   event_time <= T        (computed from events up to T)
//   available_at <= T      (Eddy had computed it by T)
//   T - event_time <= ttl  (not stale; the group's TTL)
// or nulls when there is none: never a value from after T. Ties on event time
// go to the record appended last. This is what the online store would have
// served at T (it keeps, per key, the vector with the newest event time).
//
// Memory: the requested groups' history is indexed in memory (per key, the
// records in event-time order).

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
  std::string id_field = "id";           // optional in the labels
  // Groups to include (all per-event groups of the history if empty), with
  // their TTLs (Infinite() = no TTL) in the same order.
  std::vector<std::string> groups;
  std::vector<Duration> ttls;
  std::string output_path;
  std::string output_format = "csv";  // or "jsonl"
};

struct TrainingSetStats {
  uint64_t labels = 0;
  uint64_t rows = 0;
  uint64_t bad_labels = 0;      // rows of the labels file that could not be read (skipped, reported)
  uint64_t feature_hits = 0;    // (label, group) pairs that found a vector
  uint64_t feature_misses = 0;  // ... that found none (or only stale ones)
  std::vector<std::string> bad_label_examples;  // the first few reasons, "file:line: why"
};

// Builds the training set. Bad label rows are skipped and counted (never
// silently): see TrainingSetStats.
Result<TrainingSetStats> BuildTrainingSet(const HistoryReader& history,
                                          const TrainingSetOptions& options);

}  // namespace eddy

#endif  // EDDY_STORE_TRAINING_SET_H_
