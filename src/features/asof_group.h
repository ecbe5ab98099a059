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
//   - An event with t < T (out of order) is computed from the entries, then
//     inserted in order (and added to the running states when it falls in the
//     frontier window). Invertible states (count, moments, counts, sketch)
//     start from the frontier's and take out the entries in (t, T] and add
//     those in [t - w, T - w) when those are fewer than the entries in
//     [t - w, t]; otherwise, and for decayed sums, they are computed from
//     scratch over [t - w, t]. Min and max take the frontier's extreme when
//     its time is at most t and scan [t - w, T - w); else they scan
//     [t - w, t] (the values only). So an event late by less than the
//     window costs O(events in the disorder interval), not O(window). The
//     choice depends on the key's entries only, so results stay a function
//     of the event sequence; the two ways differ in the last bits of sums
//     and variances only (within the property test's tolerances).
// Min and max of one field over several exact windows share one deque, the
// longest window's: a shorter window's deque would hold exactly its items
// from the shorter window's start on.
// Aggregations with a `granularity` use tiles instead of entries: the window
// then starts at the granularity boundary at or before t - w, and the tile
// holding t may include events with a later time in the same tile; memory is
// O(w / granularity) per key instead of O(events). Their running states hold
// the tiles from the start of the newest event's window on: an event in order
// is added to them and tiles that left the window are taken out whole (min
// and max keep one deque item per tile); an out-of-order event whose window
// covers the same tiles reads them too, others merge their tiles afresh.
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
// Checkpoints (SaveState) write every key's entries and states in a format
// that predates the shared deques and tiled running states: a shorter
// window's deque is written as its own, and the running states of tiled
// windows are appended after the keys; an image without them (written before
// they existed) loads, and they are merged from the tiles.
//
// One thread uses a group.

#ifndef EDDY_FEATURES_ASOF_GROUP_H_
#define EDDY_FEATURES_ASOF_GROUP_H_

#include <array>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/time.h"
#include "base/value.h"
#include "config/feature_spec.h"
#include "config/pipeline.h"
#include "features/aggregates.h"
#include "features/feature_value.h"
#include "features/key_map.h"
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
  struct StateRef {  // 16 bytes
    StateKind kind;
    FieldType type = FieldType::kDouble;  // of the slot's field (when slot >= 0)
    int16_t slot;                         // field slot; -1 = every event (kCount)
    // Min and max of exact windows: the state of the group's longest exact
    // window with the same aggregation and field keeps the one deque they
    // all read (its items from a window's start on are exactly that
    // window's; see MonotonicDeque::BestFrom). -1: this state keeps its
    // own; else the index of the owner in KeyState::states, and this
    // state's own deque stays empty.
    int32_t owner = -1;
    Duration half_life;
  };
  struct WindowPlan {
    Duration length;
    Duration granularity;  // zero = exact
    std::vector<StateRef> states;
    std::vector<size_t> outputs;  // indices into outputs_ of this window's aggregations
    bool has_last = false;        // some output is kLast
    // Exact windows: index among them and offset of their states in
    // KeyState::states. Tiled windows: index into KeyState::tiled.
    size_t index = 0;
    size_t state_offset = 0;
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

  // Entries of one key in (event time, arrival) order, one record of
  // `stride_` words each: the event time, the null bits (bit k set = slot k
  // is null), then one slot per field. One buffer (rather than one per
  // column) so that appending, expiring or reading an entry touches one
  // cache line.
  struct Entries {
    std::vector<uint64_t> words;
    size_t head = 0;  // first live entry
    size_t end = 0;   // one past the last entry; words.size() == end * stride_
    size_t size() const { return end - head; }
  };

  // The newest non-null value of a field in a tile (kLast over tiles).
  struct LastValue {
    int64_t time = INT64_MIN;  // INT64_MIN: none
    uint64_t seq = 0;
    uint64_t slot = 0;
  };
  struct Tile {
    int64_t start;
    std::vector<State> states;
    std::vector<LastValue> last;  // per field; empty unless the window has a `last`
  };

  // One tiled window of one key.
  struct TiledWindow {
    std::vector<Tile> tiles;  // by start
    // Running states over every tile with start >= `from` (the start of the
    // window of the key's newest event): events are added one by one as they
    // come, tiles taken out whole when they leave the window.
    int64_t from = INT64_MIN;
    std::vector<State> states;
  };

  static constexpr size_t kInlineFrontiers = 3;
  // Where an exact window's running states start in the key's entries.
  struct Frontier {
    size_t lo = 0;                // absolute index of the first entry in the window
    int64_t lo_time = INT64_MAX;  // its time (INT64_MAX: no entry), so that an event
                                  // that expires nothing does not touch the buffer
  };

  struct KeyState {
    Entries entries;
    EventTime max_time = EventTime::Min();
    uint64_t next_seq = 0;
    // Time of the oldest live entry (INT64_MAX: none), so that the check for
    // unreachable entries does not touch the buffer.
    int64_t oldest = INT64_MAX;
    // Per exact window (WindowPlan::index): the first kInlineFrontiers in
    // the key's record, so that the per-event path reads them with the rest
    // of it (most groups have a few windows), the others in `more_frontiers`.
    std::array<Frontier, kInlineFrontiers> frontiers;
    std::vector<Frontier> more_frontiers;
    Frontier& frontier(size_t i) {
      return i < kInlineFrontiers ? frontiers[i] : more_frontiers[i - kInlineFrontiers];
    }
    const Frontier& frontier(size_t i) const {
      return i < kInlineFrontiers ? frontiers[i] : more_frontiers[i - kInlineFrontiers];
    }
    std::vector<State> states;       // per exact window, flattened (WindowPlan::state_offset)
    std::vector<TiledWindow> tiled;  // per tiled window (WindowPlan::index)
    bool expiry_queued = false;
  };
  using KeyIndex = KeyMap<KeyState>::Index;

  AsOfGroup() = default;
  State MakeState(const StateRef& ref) const;
  static void SaveStateValue(const State& s, std::string& out);
  bool LoadStateValue(State& s, const StateRef& ref, ByteReader& in) const;
  void InitKey(KeyState& ks) const;

  // Entry records.
  const uint64_t* Entry(const Entries& e, size_t i) const { return e.words.data() + i * stride_; }
  static int64_t TimeOf(const uint64_t* entry) { return static_cast<int64_t>(entry[0]); }
  // First entry in [from, to) with time >= t (lower) or > t (upper).
  size_t LowerBound(const Entries& e, size_t from, size_t to, int64_t t) const;
  size_t UpperBound(const Entries& e, size_t from, size_t to, int64_t t) const;
  void WriteEntry(uint64_t* entry, EventTime t, uint64_t nulls) const;

  // The two per-event paths over exact windows (see the header comment).
  void OnInOrder(KeyState& ks, EventTime t, uint64_t seq, uint64_t nulls,
                 std::span<FeatureValue> out);
  void OnOutOfOrder(KeyState& ks, EventTime t, uint64_t seq, uint64_t nulls,
                    std::span<FeatureValue> out);

  // How an entry reaches min/max states: appended (newest), inserted (out of
  // order), or folded into a tile (which keeps only its extreme).
  enum class Insert : uint8_t { kInOrder, kOutOfOrder, kTile };
  void AddToStates(std::span<State> states, std::span<const StateRef> refs, const uint64_t* slots,
                   uint64_t nulls, EventTime t, uint64_t seq, Insert insert);
  // Adds (sign +1) or removes (-1) entries [from, to) to/from one invertible
  // state (count, moments, counts, sketch, decayed sum).
  void ApplyRange(State& s, const StateRef& ref, const Entries& e, size_t from, size_t to,
                  int sign) const;
  // Min or max of the slot over entries [from, to) folded into `best`.
  void ScanExtreme(const StateRef& ref, const Entries& e, size_t from, size_t to,
                   std::optional<double>& best) const;
  // The extreme of an exact window's min or max state `s` over the
  // frontier's items with time >= `lo` (its own deque, or its owner's).
  bool BestOfFrontier(const KeyState& ks, const StateRef& ref, const State& s, EventTime lo,
                      EventTime& t, double& v) const;
  void Extract(const OutputPlan& o, const State& s, EventTime t, FeatureValue& out) const;
  void ExtractLast(const OutputPlan& o, const KeyState& ks, size_t lo_idx, size_t hi_idx,
                   const uint64_t* new_slots, uint64_t new_nulls, FeatureValue& out) const;
  void TopK(const ValueCounts& counts, int k, FieldType type, FeatureValue& out) const;
  // A tiled window's part of OnEvent: adds the event, computes its outputs.
  void OnTiled(KeyState& ks, size_t w, EventTime t, uint64_t seq, uint64_t nulls, bool in_order,
               std::span<FeatureValue> out);
  void AddToTiles(KeyState& ks, size_t w, const uint64_t* slots, uint64_t nulls, EventTime t,
                  uint64_t seq);
  // Merges the tiles of [t - w, t] afresh (an out-of-order event whose window
  // covers other tiles than the running states).
  void ComputeTiled(KeyState& ks, size_t w, EventTime t, std::span<FeatureValue> out);
  // The running states of a tiled window from its tiles (checkpoints without
  // them; moments whose rounding caught up).
  void RebuildTiled(TiledWindow& tw, const WindowPlan& plan, size_t state) const;
  // Drops entries older than `horizon_` that no running state holds, and
  // tiles older than each window's tile horizon.
  void DropUnreachable(KeyState& ks);
  void DropTiles(TiledWindow& tw, size_t w);
  bool HasUnreachable(const KeyState& ks) const;
  // Releases everything a key holds, before it is freed.
  void ReleaseKey(KeyState& ks);
  void ReleaseSlots(const uint64_t* slots, uint64_t nulls);
  void ReleaseState(State& s, const StateRef& ref);

  std::string name_;
  std::vector<FieldRef> fields_;  // slot k reads fields_[k]
  size_t stride_ = 2;             // words per entry: time, nulls, one per field
  bool has_string_fields_ = false;
  std::vector<WindowPlan> windows_;
  std::vector<size_t> exact_windows_;    // indices into windows_ of exact windows
  std::vector<size_t> exact_by_length_;  // the same, longest first (owners of deques first)
  std::vector<size_t> tiled_windows_;    // and of tiled ones
  size_t num_states_ = 0;                // states of exact windows, per key
  std::vector<OutputPlan> outputs_;
  Duration max_window_;
  Duration allowed_lateness_;

  KeyMap<KeyState> keys_;
  StringPool pool_;
  EventTime horizon_ = EventTime::Min();
  // Per window: for tiled ones the start of the oldest tile a future event
  // can reach (horizon_ aligned down to the granularity); else horizon_.
  std::vector<int64_t> tile_horizon_;
  // A key whose newest event is older than this has nothing reachable.
  EventTime free_before_ = EventTime::Min();
  // (newest event time, key): when a key may be freed. A live key is queued
  // at most once (KeyState::expiry_queued), and keys are freed only from
  // here, so an index in the queue always names a live key.
  using Expiry = std::pair<int64_t, KeyIndex>;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiry_;

  // Scratch: the out-of-order path's states (flattened like
  // KeyState::states), tiles' merged states, the event's slots.
  std::vector<State> scratch_;
  std::vector<uint8_t> in_place_;  // per state of a window: computed in the frontier's state
  std::vector<State> tile_scratch_;
  std::vector<LastValue> tile_last_;
  std::vector<uint64_t> event_slots_;
  uint64_t nulls_skipped_ = 0;
  size_t total_entries_ = 0;
  size_t total_tiles_ = 0;
  size_t peak_keys_ = 0, peak_entries_ = 0;
  uint64_t out_of_order_ = 0;
};

}  // namespace eddy

#endif  // EDDY_FEATURES_ASOF_GROUP_H_
