// AsOfGroup: per-event ("as-of") window aggregations of one feature group.
//
// For each event e with key k and event time t, an aggregation over window w
// covers the events of k that were accepted before e, or e itself, with event
// time in [t - w, t] (both ends included). An event that arrived earlier but
// has a later event time than t is not counted: exactly what a model could
// know when e happened, and what replay reproduces.
//
// State per key: the key's events in event-time order (the entries; shared by
// every window of the group) and, per window, running aggregate states over
// the "frontier" window [T - w, T], T being the newest event time of the key.
//   - An event with t >= T (the common case) is added to the running states;
//     entries that fell out of [t - w, t] are removed from them. O(1) amortised
//     per aggregation.
//   - An event with t < T (out of order) is computed from scratch over the
//     entries in [t - w, t], then inserted in order (and added to the running
//     states when it falls in the frontier window). O(events in window).
// Aggregations with a `granularity` use tiles instead of entries: the window
// then starts at the granularity boundary at or before t - w, and the tile
// holding t may include events with a later time in the same tile; memory is
// O(w / granularity) per key instead of O(events).
//
// Memory is bounded by the watermark: no event older than
// watermark - allowed_lateness can be accepted any more, so entries older than
// that minus the longest window (once no running state holds them) and tiles
// no future window can reach are dropped, and a key with nothing reachable
// left is freed. Dropping never changes a result, not even in the last bit:
// running states see the same adds and removes in the same order whether or
// when watermarks arrive, and a state that empties is exactly a fresh one. So
// results do not depend on where watermarks moved (which, with idleness,
// depends on processing time): replay gives live's values bit for bit.
//
// One thread uses a group.

#ifndef EDDY_FEATURES_ASOF_GROUP_H_
#define EDDY_FEATURES_ASOF_GROUP_H_

#include <memory>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
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

class AsOfGroup {
 public:
  // Plans the group's aggregations against the source schema.
  static Result<std::unique_ptr<AsOfGroup>> Create(const FeatureGroupSpec& spec,
                                                   const SourceSpec& source, const Schema& schema);
  ~AsOfGroup();

  // Computes the group's aggregations as of event (`key`, `t`, `row`) into
  // `out` (one value per aggregation, in declared order), then adds the event
  // to the key's state.
  void OnEvent(std::string_view key, EventTime t, const Row& row, std::span<FeatureValue> out);

  // The source watermark advanced: drop state no future event can see.
  void OnWatermark(Watermark wm);

  size_t num_outputs() const { return outputs_.size(); }

  // Checkpoints: an exact image of every key's state, so that a restored
  // group computes bit-identical features. RestoreState requires a group
  // planned from the same spec.
  void SaveState(std::string& out) const;
  Status RestoreState(std::string_view bytes);
  const std::string& name() const { return name_; }

  struct Stats {
    size_t keys = 0;
    size_t entries = 0;          // buffered events over all keys
    size_t peak_keys = 0;        // the most keys held at once
    size_t peak_entries = 0;     // the most buffered events at once
    size_t strings = 0;          // interned distinct strings
    uint64_t nulls_skipped = 0;  // inputs that were null, over all aggregations
    uint64_t out_of_order = 0;   // events computed by the out-of-order path
    size_t tiles = 0;            // tiles held over all keys and tiled windows
  };
  Stats stats() const;

 private:
  enum class StateKind : uint8_t { kCount, kMoments, kMin, kMax, kCounts, kSketch, kDecay };
  struct StateRef {
    StateKind kind;
    int slot;  // field slot; -1 = every event (kCount)
    Duration half_life;
  };
  struct WindowPlan {
    Duration length;
    Duration granularity;  // zero = exact
    std::vector<StateRef> states;
  };
  struct OutputPlan {
    AggKind kind;
    int window;  // index into windows_
    int state;   // index into the window's states; -1 for kLast
    int slot;    // -1 for a count of events
    double q;
    int k;
    Duration half_life;
  };
  struct FieldRef {
    int row_index;
    FieldType type;
  };

  using CountsPtr = std::unique_ptr<ValueCounts>;
  using SketchPtr = std::unique_ptr<QuantileSketch>;
  // One aggregate state. Heavy kinds live behind a pointer to keep per-key
  // state small.
  using State = std::variant<int64_t, Moments, MonotonicDeque, CountsPtr, SketchPtr, DecayedSum>;

  // Entries of one key in (event time, arrival) order.
  struct Entries {
    std::vector<int64_t> times;
    std::vector<uint64_t> nulls;  // bit k set = slot k is null
    std::vector<uint64_t> slots;  // stride = number of slots
    size_t head = 0;              // first live entry
    size_t size() const { return times.size() - head; }
  };

  struct Tile {
    int64_t start;
    std::vector<State> states;
    // For kLast over tiles: newest (time, seq, slot, null) per slot.
    std::vector<int64_t> last_time;
    std::vector<uint64_t> last_seq;
    std::vector<uint64_t> last_slot;
  };

  struct KeyState {
    Entries entries;
    EventTime max_time = EventTime::Min();
    uint64_t next_seq = 0;
    std::vector<size_t> lo;     // per exact window: absolute index of the frontier's first entry
    std::vector<State> states;  // per exact window, flattened (see state_offset_)
    std::vector<std::vector<Tile>> tiles;  // per window (empty for exact ones)
    bool expiry_queued = false;
  };

  AsOfGroup() = default;
  State MakeState(const StateRef& ref) const;
  static void SaveStateValue(const State& s, std::string& out);
  bool LoadStateValue(State& s, const StateRef& ref, ByteReader& in) const;
  void InitKey(KeyState& ks) const;
  // How an entry reaches min/max states: appended (newest), inserted (out of
  // order), or folded into a tile (which keeps only its extreme).
  enum class Insert : uint8_t { kInOrder, kOutOfOrder, kTile };
  void ApplyEntry(std::span<State> states, const std::vector<StateRef>& refs, const uint64_t* slots,
                  uint64_t nulls, EventTime t, uint64_t seq, int sign, Insert insert);
  void Extract(const OutputPlan& o, std::span<const State> states, EventTime t,
               FeatureValue& out) const;
  void ExtractLast(const OutputPlan& o, const KeyState& ks, size_t lo_idx, size_t hi_idx,
                   const uint64_t* new_slots, uint64_t new_nulls, EventTime t,
                   FeatureValue& out) const;
  void TopK(const ValueCounts& counts, int k, FieldType type, FeatureValue& out) const;
  void AddToTiles(KeyState& ks, size_t w, const uint64_t* slots, uint64_t nulls, EventTime t,
                  uint64_t seq);
  void ComputeTiled(KeyState& ks, size_t w, EventTime t, std::span<FeatureValue> out);
  // Drops entries older than `horizon_` that no running state holds, and
  // tiles older than each window's tile horizon.
  void DropUnreachable(KeyState& ks);
  bool HasUnreachable(const KeyState& ks) const;
  // Releases everything a key holds, before it is freed.
  void ReleaseKey(KeyState& ks);
  void ReleaseSlots(const uint64_t* slots, uint64_t nulls);
  void ReleaseState(State& s, const StateRef& ref);
  size_t ExactWindowIndex(size_t w) const { return exact_index_[w]; }

  std::string name_;
  std::vector<FieldRef> fields_;  // slot k reads fields_[k]
  std::vector<WindowPlan> windows_;
  std::vector<size_t> exact_index_;   // window -> index among exact windows (or SIZE_MAX)
  std::vector<size_t> state_offset_;  // exact window -> offset into KeyState::states
  size_t num_states_ = 0;
  bool has_exact_ = false;  // some window keeps entries
  std::vector<OutputPlan> outputs_;
  Duration max_window_;
  Duration allowed_lateness_;

  std::unordered_map<std::string, KeyState, StringHash, std::equal_to<>> keys_;
  StringPool pool_;
  EventTime horizon_ = EventTime::Min();
  // Per window: for tiled ones the start of the oldest tile a future event
  // can reach (horizon_ aligned down to the granularity); else horizon_.
  std::vector<int64_t> tile_horizon_;
  // A key whose newest event is older than this has nothing reachable.
  EventTime free_before_ = EventTime::Min();
  // (newest event time + longest window, key): when a key may be freed.
  using Expiry = std::pair<int64_t, std::string>;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiry_;

  // Scratch for the out-of-order path and slot extraction.
  std::vector<State> scratch_;
  std::vector<uint64_t> event_slots_;
  uint64_t nulls_skipped_ = 0;
  size_t total_entries_ = 0;
  size_t total_tiles_ = 0;
  size_t peak_keys_ = 0, peak_entries_ = 0;
  uint64_t out_of_order_ = 0;
  std::vector<uint64_t> null_skips_per_output_;
};

}  // namespace eddy

#endif  // EDDY_FEATURES_ASOF_GROUP_H_
