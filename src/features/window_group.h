// WindowGroup: aggregations over tumbling, hopping and session windows, one
// row per key and window.
//
//   tumbling  [start, start + size), start a multiple of size (epoch-aligned)
//   hopping   windows of `size` starting at every multiple of `slide`
//   session   events of one key closer than `gap` form one session
//             [first, last + gap); a late-but-allowed event that bridges two
//             sessions merges them
//
// A window emits its row when the source watermark reaches its end (emission
// 0). A late-but-allowed event (one the source did not reject as late) that
// falls in an already emitted window updates it and emits the updated row at
// once (emission 1, 2, ...). A window's state is kept until the watermark
// passes end + allowed_lateness, after which no event can change it. At the
// end of input the watermark is the end of time, so every window is emitted.
//
// One thread uses a group. Rows are delivered in a deterministic order.

#ifndef EDDY_FEATURES_WINDOW_GROUP_H_
#define EDDY_FEATURES_WINDOW_GROUP_H_

#include <map>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/time.h"
#include "base/value.h"
#include "config/feature_spec.h"
#include "config/pipeline.h"
#include "features/aggregates.h"
#include "features/feature_value.h"
#include "features/slot.h"
#include "ingest/schema.h"

namespace eddy {

struct WindowRow {
  std::string_view group;
  std::string_view key_json;  // the key as JSON
  EventTime start, end;
  const std::vector<std::string>* names;
  const std::vector<FeatureValue>* values;
  int emission = 0;  // 0 for the first row of this window, then 1, 2, ...
  // Sessions this row absorbed that had been emitted with other starts.
  std::vector<std::pair<EventTime, EventTime>> replaces;
};

class WindowSink {
 public:
  virtual ~WindowSink() = default;
  virtual void OnWindowRow(const WindowRow& row) = 0;
};

class WindowGroup {
 public:
  static Result<std::unique_ptr<WindowGroup>> Create(const FeatureGroupSpec& spec,
                                                     const SourceSpec& source,
                                                     const Schema& schema);
  ~WindowGroup();

  // Adds an event (key as encoded for lookup and as JSON for output).
  void OnEvent(std::string_view key, std::string_view key_json, EventTime t, const Row& row,
               WindowSink& sink);
  // Emits windows that the watermark has passed; frees those that can no
  // longer change.
  void OnWatermark(Watermark wm, WindowSink& sink);

  // Checkpoints: every open window with its state, exactly. Timers are
  // rebuilt from the windows on restore.
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& feature_names() const { return names_; }
  size_t open_windows() const;
  uint64_t updates() const { return updates_; }
  uint64_t rows() const { return rows_; }

 private:
  struct Agg {
    AggKind kind;
    int row_index;  // -1 = count of events
    FieldType type;
    double q;
    int k;
    Duration half_life;
  };
  // The accumulated state of one aggregation in one window.
  struct Acc {
    int64_t count = 0;
    Moments moments;
    bool has_extreme = false;
    double extreme = 0;
    std::unique_ptr<ValueCounts> counts;
    std::unique_ptr<QuantileSketch> sketch;
    DecayedSum decay;
    bool has_last = false;
    int64_t last_time = 0;
    uint64_t last_seq = 0;
    uint64_t last_slot = 0;
  };
  struct Instance {
    int64_t start = 0;
    int64_t last = 0;  // sessions: newest event time
    std::vector<Acc> accs;
    int emissions = 0;  // rows emitted so far
    bool fired = false;
    std::vector<std::pair<int64_t, int64_t>> replaces;  // emitted sessions absorbed
  };
  struct KeyState {
    std::string key_json;
    std::map<int64_t, Instance> windows;  // by start
  };

  WindowGroup() = default;
  int64_t EndOf(const Instance& w) const;
  Instance NewInstance(int64_t start) const;
  void Add(Instance& w, const Row& row, EventTime t, uint64_t seq);
  void MergeInto(Instance& dst, Instance& src);
  void Emit(const std::string& key, KeyState& ks, Instance& w, WindowSink& sink);
  void ReleaseAcc(Acc& a, const Agg& agg);
  void Schedule(const std::string& key, const Instance& w);

  std::string name_;
  WindowSpec window_;
  Duration allowed_lateness_;
  std::vector<Agg> aggs_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, KeyState, StringHash, std::equal_to<>> keys_;
  StringPool pool_;
  Watermark watermark_ = Watermark::Min();
  uint64_t next_seq_ = 0;
  uint64_t updates_ = 0;
  uint64_t rows_ = 0;
  // (time, key, start): fire at a window's end, free at end + allowed_lateness.
  using Timer = std::tuple<int64_t, std::string, int64_t>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<FeatureValue> values_;  // scratch for emitted rows
};

}  // namespace eddy

#endif  // EDDY_FEATURES_WINDOW_GROUP_H_
