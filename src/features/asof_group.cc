#include "features/asof_group.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "base/coding.h"
#include "base/strings.h"

namespace eddy {
namespace {

bool IsNumericAgg(AggKind k) {
  switch (k) {
    case AggKind::kSum:
    case AggKind::kMean:
    case AggKind::kMin:
    case AggKind::kMax:
    case AggKind::kVariance:
    case AggKind::kStddev:
    case AggKind::kQuantile:
    case AggKind::kDecayedSum:
      return true;
    default:
      return false;
  }
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

AsOfGroup::~AsOfGroup() = default;

Result<std::unique_ptr<AsOfGroup>> AsOfGroup::Create(const FeatureGroupSpec& spec,
                                                     const SourceSpec& source,
                                                     const Schema& schema) {
  std::unique_ptr<AsOfGroup> g(new AsOfGroup());
  g->name_ = spec.name;
  g->allowed_lateness_ = source.watermark.allowed_lateness;
  for (const AggregationSpec& a : spec.aggregations) {
    auto fail = [&](std::string_view msg) {
      return Status::InvalidArgument(StrCat(a.where, ": feature group ", Quote(spec.name),
                                            ", aggregation ", Quote(a.name), ": ", msg));
    };
    if (a.window <= Duration::Zero()) return fail("needs a positive window (e.g. window: 1h)");
    if (a.granularity < Duration::Zero() || a.granularity > a.window) {
      return fail("granularity must be positive and no longer than the window");
    }
    int slot = -1;
    if (!a.field.empty()) {
      int idx = schema.Lookup(a.field);
      if (idx < 0) {
        return fail(StrCat("unknown field ", Quote(a.field), " (not in the schema of source ",
                           Quote(source.name), ")"));
      }
      FieldType type = schema.field(static_cast<size_t>(idx)).type;
      if (IsNumericAgg(a.kind) && type == FieldType::kString) {
        return fail(StrCat(AggKindName(a.kind), " needs a numeric field; ", Quote(a.field),
                           " is a string"));
      }
      for (size_t k = 0; k < g->fields_.size(); ++k) {
        if (g->fields_[k].row_index == idx) slot = static_cast<int>(k);
      }
      if (slot < 0) {
        if (g->fields_.size() >= 64) return fail("a feature group may read at most 64 fields");
        g->fields_.push_back({idx, type});
        slot = static_cast<int>(g->fields_.size() - 1);
      }
    } else if (a.kind != AggKind::kCount) {
      return fail(StrCat(AggKindName(a.kind), " needs a field"));
    }
    // The window (length, granularity) the aggregation belongs to.
    int w = -1;
    for (size_t i = 0; i < g->windows_.size(); ++i) {
      if (g->windows_[i].length == a.window && g->windows_[i].granularity == a.granularity) {
        w = static_cast<int>(i);
      }
    }
    if (w < 0) {
      g->windows_.push_back({a.window, a.granularity, {}});
      w = static_cast<int>(g->windows_.size() - 1);
    }
    OutputPlan o{a.kind, w, -1, slot, a.quantile, a.k, a.half_life};
    if (a.kind != AggKind::kLast) {
      StateRef ref{StateKind::kCount, slot, Duration::Zero()};
      switch (a.kind) {
        case AggKind::kCount:
          ref.kind = StateKind::kCount;
          break;
        case AggKind::kSum:
        case AggKind::kMean:
        case AggKind::kVariance:
        case AggKind::kStddev:
          ref.kind = StateKind::kMoments;
          break;
        case AggKind::kMin:
          ref.kind = StateKind::kMin;
          break;
        case AggKind::kMax:
          ref.kind = StateKind::kMax;
          break;
        case AggKind::kCountDistinct:
        case AggKind::kTopK:
          ref.kind = StateKind::kCounts;
          break;
        case AggKind::kQuantile:
          ref.kind = StateKind::kSketch;
          break;
        case AggKind::kDecayedSum:
          ref.kind = StateKind::kDecay;
          ref.half_life = a.half_life;
          break;
        case AggKind::kLast:
          break;
      }
      auto& states = g->windows_[static_cast<size_t>(w)].states;
      for (size_t i = 0; i < states.size(); ++i) {
        if (states[i].kind == ref.kind && states[i].slot == ref.slot &&
            states[i].half_life == ref.half_life) {
          o.state = static_cast<int>(i);
        }
      }
      if (o.state < 0) {
        states.push_back(ref);
        o.state = static_cast<int>(states.size() - 1);
      }
    }
    g->outputs_.push_back(o);
    g->max_window_ = std::max(g->max_window_, a.window);
  }
  size_t exact = 0;
  for (const WindowPlan& w : g->windows_) {
    if (w.granularity == Duration::Zero()) {
      g->exact_index_.push_back(exact++);
      g->state_offset_.push_back(g->num_states_);
      g->num_states_ += w.states.size();
    } else {
      g->exact_index_.push_back(SIZE_MAX);
      g->state_offset_.push_back(SIZE_MAX);
    }
  }
  g->event_slots_.resize(g->fields_.size());
  g->tile_horizon_.assign(g->windows_.size(), INT64_MIN);
  g->has_exact_ = exact > 0;
  return g;
}

AsOfGroup::State AsOfGroup::MakeState(const StateRef& ref) const {
  switch (ref.kind) {
    case StateKind::kCount:
      return int64_t{0};
    case StateKind::kMoments:
      return Moments();
    case StateKind::kMin:
      return MonotonicDeque(false);
    case StateKind::kMax:
      return MonotonicDeque(true);
    case StateKind::kCounts:
      return std::make_unique<ValueCounts>();
    case StateKind::kSketch:
      return std::make_unique<QuantileSketch>();
    case StateKind::kDecay:
      return DecayedSum();
  }
  return int64_t{0};
}

void AsOfGroup::InitKey(KeyState& ks) const {
  ks.states.reserve(num_states_);
  for (size_t w = 0; w < windows_.size(); ++w) {
    if (exact_index_[w] == SIZE_MAX) continue;
    for (const StateRef& ref : windows_[w].states) ks.states.push_back(MakeState(ref));
  }
  ks.lo.assign(windows_.size(), 0);
  ks.tiles.resize(windows_.size());
}

void AsOfGroup::ApplyEntry(std::span<State> states, const std::vector<StateRef>& refs,
                           const uint64_t* slots, uint64_t nulls, EventTime t, uint64_t seq,
                           int sign, Insert insert) {
  for (size_t i = 0; i < refs.size(); ++i) {
    const StateRef& ref = refs[i];
    if (ref.slot >= 0 && ((nulls >> ref.slot) & 1)) continue;
    State& s = states[i];
    switch (ref.kind) {
      case StateKind::kCount:
        std::get<int64_t>(s) += sign;
        break;
      case StateKind::kMoments: {
        double x = SlotAsDouble(slots[ref.slot], fields_[ref.slot].type);
        if (sign > 0) {
          std::get<Moments>(s).Add(x);
        } else {
          std::get<Moments>(s).Remove(x);
        }
        break;
      }
      case StateKind::kMin:
      case StateKind::kMax: {
        if (sign < 0) break;  // removal is by time (EvictBefore)
        double x = SlotAsDouble(slots[ref.slot], fields_[ref.slot].type);
        auto& dq = std::get<MonotonicDeque>(s);
        switch (insert) {
          case Insert::kInOrder:
            dq.PushBack(t, seq, x);
            break;
          case Insert::kOutOfOrder:
            dq.InsertOutOfOrder(t, seq, x);
            break;
          case Insert::kTile: {
            // A tile is never evicted from: its extreme is all it needs (a
            // deque would keep every item of a run of decreasing maxima).
            auto best = dq.best();
            if (!best || (ref.kind == StateKind::kMax ? x > *best : x < *best)) {
              dq.Clear();
              dq.PushBack(t, seq, x);
            }
            break;
          }
        }
        break;
      }
      case StateKind::kCounts: {
        auto& c = *std::get<CountsPtr>(s);
        if (sign > 0) {
          c.Add(slots[ref.slot]);
        } else {
          c.Remove(slots[ref.slot]);
        }
        break;
      }
      case StateKind::kSketch: {
        double x = SlotAsDouble(slots[ref.slot], fields_[ref.slot].type);
        if (sign > 0) {
          std::get<SketchPtr>(s)->Add(x);
        } else {
          std::get<SketchPtr>(s)->Remove(x);
        }
        break;
      }
      case StateKind::kDecay: {
        double x = SlotAsDouble(slots[ref.slot], fields_[ref.slot].type);
        if (sign > 0) {
          std::get<DecayedSum>(s).Add(x, t, ref.half_life);
        } else {
          std::get<DecayedSum>(s).Remove(x, t, ref.half_life);
        }
        break;
      }
    }
  }
}

void AsOfGroup::TopK(const ValueCounts& counts, int k, FieldType type, FeatureValue& out) const {
  std::vector<std::pair<uint64_t, int64_t>> items(counts.counts().begin(), counts.counts().end());
  auto better = [&](const std::pair<uint64_t, int64_t>& a, const std::pair<uint64_t, int64_t>& b) {
    if (a.second != b.second) return a.second > b.second;
    return SlotLess(a.first, b.first, type, pool_);
  };
  size_t n = std::min<size_t>(static_cast<size_t>(k), items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<ptrdiff_t>(n), items.end(), better);
  auto& list = out.SetList();
  for (size_t i = 0; i < n; ++i) list.push_back(SlotToString(items[i].first, type, pool_));
}

void AsOfGroup::Extract(const OutputPlan& o, std::span<const State> states, EventTime t,
                        FeatureValue& out) const {
  const State& s = states[static_cast<size_t>(o.state)];
  switch (o.kind) {
    case AggKind::kCount:
      out.SetInt(std::get<int64_t>(s));
      return;
    case AggKind::kSum:
      out.SetDouble(std::get<Moments>(s).sum());
      return;
    case AggKind::kMean: {
      auto m = std::get<Moments>(s).mean();
      m ? out.SetDouble(*m) : out.SetNull();
      return;
    }
    case AggKind::kVariance: {
      auto v = std::get<Moments>(s).variance();
      v ? out.SetDouble(*v) : out.SetNull();
      return;
    }
    case AggKind::kStddev: {
      auto v = std::get<Moments>(s).variance();
      v ? out.SetDouble(std::sqrt(*v)) : out.SetNull();
      return;
    }
    case AggKind::kMin:
    case AggKind::kMax: {
      auto b = std::get<MonotonicDeque>(s).best();
      b ? out.SetDouble(*b) : out.SetNull();
      return;
    }
    case AggKind::kCountDistinct:
      out.SetInt(std::get<CountsPtr>(s)->distinct());
      return;
    case AggKind::kTopK:
      TopK(*std::get<CountsPtr>(s), o.k, fields_[o.slot].type, out);
      return;
    case AggKind::kQuantile: {
      auto q = std::get<SketchPtr>(s)->Quantile(o.q);
      q ? out.SetDouble(*q) : out.SetNull();
      return;
    }
    case AggKind::kDecayedSum:
      out.SetDouble(std::get<DecayedSum>(s).ValueAt(t, o.half_life));
      return;
    case AggKind::kLast:
      break;
  }
  out.SetNull();
}

void AsOfGroup::ExtractLast(const OutputPlan& o, const KeyState& ks, size_t lo_idx, size_t hi_idx,
                            const uint64_t* new_slots, uint64_t new_nulls, EventTime t,
                            FeatureValue& out) const {
  const size_t n = fields_.size();
  const FieldType type = fields_[o.slot].type;
  if (new_slots != nullptr && !((new_nulls >> o.slot) & 1)) {
    SlotToFeature(new_slots[o.slot], type, pool_, out);
    return;
  }
  for (size_t i = hi_idx; i-- > lo_idx;) {
    if ((ks.entries.nulls[i] >> o.slot) & 1) continue;
    SlotToFeature(ks.entries.slots[i * n + static_cast<size_t>(o.slot)], type, pool_, out);
    return;
  }
  (void)t;
  out.SetNull();
}

void AsOfGroup::ReleaseSlots(const uint64_t* slots, uint64_t nulls) {
  for (size_t k = 0; k < fields_.size(); ++k) {
    if (fields_[k].type == FieldType::kString && !((nulls >> k) & 1)) pool_.Release(slots[k]);
  }
}

void AsOfGroup::AddToTiles(KeyState& ks, size_t w, const uint64_t* slots, uint64_t nulls,
                           EventTime t, uint64_t seq) {
  const WindowPlan& plan = windows_[w];
  const int64_t g = plan.granularity.micros();
  const int64_t start = FloorDiv(t.micros(), g) * g;
  auto& tiles = ks.tiles[w];
  auto it = std::lower_bound(tiles.begin(), tiles.end(), start,
                             [](const Tile& tile, int64_t s) { return tile.start < s; });
  if (it == tiles.end() || it->start != start) {
    Tile tile;
    tile.start = start;
    for (const StateRef& ref : plan.states) tile.states.push_back(MakeState(ref));
    tile.last_time.assign(fields_.size(), INT64_MIN);
    tile.last_seq.assign(fields_.size(), 0);
    tile.last_slot.assign(fields_.size(), 0);
    it = tiles.insert(it, std::move(tile));
    ++total_tiles_;
  }
  ApplyEntry(it->states, plan.states, slots, nulls, t, seq, +1, Insert::kTile);
  // Strings counted in tiles hold their own references.
  for (const StateRef& ref : plan.states) {
    if (ref.kind == StateKind::kCounts && fields_[ref.slot].type == FieldType::kString &&
        !((nulls >> ref.slot) & 1)) {
      pool_.AddRef(slots[ref.slot]);
    }
  }
  for (const OutputPlan& o : outputs_) {
    if (o.kind != AggKind::kLast || o.window != static_cast<int>(w)) continue;
    size_t k = static_cast<size_t>(o.slot);
    if ((nulls >> k) & 1) continue;
    if (t.micros() > it->last_time[k] ||
        (t.micros() == it->last_time[k] && seq >= it->last_seq[k])) {
      if (it->last_time[k] != INT64_MIN && fields_[k].type == FieldType::kString) {
        pool_.Release(it->last_slot[k]);
      }
      if (fields_[k].type == FieldType::kString) pool_.AddRef(slots[k]);
      it->last_time[k] = t.micros();
      it->last_seq[k] = seq;
      it->last_slot[k] = slots[k];
    }
  }
}

void AsOfGroup::ComputeTiled(KeyState& ks, size_t w, EventTime t, std::span<FeatureValue> out) {
  const WindowPlan& plan = windows_[w];
  const int64_t g = plan.granularity.micros();
  const int64_t from = FloorDiv((t - plan.length).micros(), g) * g;
  scratch_.clear();
  for (const StateRef& ref : plan.states) scratch_.push_back(MakeState(ref));
  std::vector<int64_t> last_time(fields_.size(), INT64_MIN);
  std::vector<uint64_t> last_seq(fields_.size(), 0), last_slot(fields_.size(), 0);
  for (const Tile& tile : ks.tiles[w]) {
    if (tile.start < from) continue;
    if (tile.start > t.micros()) break;
    for (size_t i = 0; i < plan.states.size(); ++i) {
      State& dst = scratch_[i];
      const State& src = tile.states[i];
      switch (plan.states[i].kind) {
        case StateKind::kCount:
          std::get<int64_t>(dst) += std::get<int64_t>(src);
          break;
        case StateKind::kMoments:
          std::get<Moments>(dst).Merge(std::get<Moments>(src));
          break;
        case StateKind::kMin:
        case StateKind::kMax: {
          auto b = std::get<MonotonicDeque>(src).best();
          if (b) std::get<MonotonicDeque>(dst).PushBack(EventTime::FromMicros(tile.start), 0, *b);
          break;
        }
        case StateKind::kCounts:
          std::get<CountsPtr>(dst)->Merge(*std::get<CountsPtr>(src));
          break;
        case StateKind::kSketch:
          std::get<SketchPtr>(dst)->Merge(*std::get<SketchPtr>(src));
          break;
        case StateKind::kDecay:
          std::get<DecayedSum>(dst).Merge(std::get<DecayedSum>(src), plan.states[i].half_life);
          break;
      }
    }
    for (size_t k = 0; k < fields_.size(); ++k) {
      if (tile.last_time[k] == INT64_MIN) continue;
      if (tile.last_time[k] > last_time[k] ||
          (tile.last_time[k] == last_time[k] && tile.last_seq[k] > last_seq[k])) {
        last_time[k] = tile.last_time[k];
        last_seq[k] = tile.last_seq[k];
        last_slot[k] = tile.last_slot[k];
      }
    }
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const OutputPlan& o = outputs_[i];
    if (o.window != static_cast<int>(w)) continue;
    if (o.kind == AggKind::kLast) {
      size_t k = static_cast<size_t>(o.slot);
      if (last_time[k] == INT64_MIN) {
        out[i].SetNull();
      } else {
        SlotToFeature(last_slot[k], fields_[k].type, pool_, out[i]);
      }
      continue;
    }
    Extract(o, scratch_, t, out[i]);
  }
}

void AsOfGroup::ReleaseState(State& s, const StateRef& ref) {
  if (ref.kind == StateKind::kCounts && fields_[ref.slot].type == FieldType::kString) {
    for (const auto& [id, n] : std::get<CountsPtr>(s)->counts()) {
      for (int64_t i = 0; i < n; ++i) pool_.Release(id);
    }
  }
}

bool AsOfGroup::HasUnreachable(const KeyState& ks) const {
  const Entries& e = ks.entries;
  if (e.size() > 0 && e.times[e.head] < horizon_.micros()) return true;
  for (size_t w = 0; w < windows_.size(); ++w) {
    const auto& tiles = ks.tiles[w];
    if (!tiles.empty() && tiles.front().start < tile_horizon_[w]) return true;
  }
  return false;
}

void AsOfGroup::DropUnreachable(KeyState& ks) {
  Entries& e = ks.entries;
  const size_t n = fields_.size();
  // Entries still in a frontier window stay until the key's next in-order
  // event removes them from its running states: removing them here instead
  // would change the order of adds and removes, and so the last bits of
  // sums, with the timing of watermarks.
  size_t limit = e.times.size();
  for (size_t w = 0; w < windows_.size(); ++w) {
    if (exact_index_[w] != SIZE_MAX) limit = std::min(limit, ks.lo[w]);
  }
  size_t drop_end = e.head;
  while (drop_end < limit && e.times[drop_end] < horizon_.micros()) ++drop_end;
  if (drop_end > e.head) {
    for (size_t i = e.head; i < drop_end; ++i) ReleaseSlots(e.slots.data() + i * n, e.nulls[i]);
    total_entries_ -= drop_end - e.head;
    e.head = drop_end;
    // Compact when the dead prefix dominates.
    if (e.head > 64 && e.head * 2 > e.times.size()) {
      size_t h = e.head;
      e.times.erase(e.times.begin(), e.times.begin() + static_cast<ptrdiff_t>(h));
      e.nulls.erase(e.nulls.begin(), e.nulls.begin() + static_cast<ptrdiff_t>(h));
      e.slots.erase(e.slots.begin(), e.slots.begin() + static_cast<ptrdiff_t>(h * n));
      e.head = 0;
      for (size_t w = 0; w < windows_.size(); ++w) {
        if (exact_index_[w] != SIZE_MAX) ks.lo[w] -= h;
      }
    }
  }
  // Tiles no future window can reach: a future event has t - w >= horizon_,
  // so its window starts at or after tile_horizon_.
  for (size_t w = 0; w < windows_.size(); ++w) {
    if (exact_index_[w] != SIZE_MAX) continue;
    auto& tiles = ks.tiles[w];
    size_t drop = 0;
    while (drop < tiles.size() && tiles[drop].start < tile_horizon_[w]) {
      for (size_t i = 0; i < windows_[w].states.size(); ++i) {
        ReleaseState(tiles[drop].states[i], windows_[w].states[i]);
      }
      for (size_t k = 0; k < fields_.size(); ++k) {
        if (tiles[drop].last_time[k] != INT64_MIN && fields_[k].type == FieldType::kString) {
          pool_.Release(tiles[drop].last_slot[k]);
        }
      }
      ++drop;
    }
    tiles.erase(tiles.begin(), tiles.begin() + static_cast<ptrdiff_t>(drop));
    total_tiles_ -= drop;
  }
}

void AsOfGroup::ReleaseKey(KeyState& ks) {
  Entries& e = ks.entries;
  const size_t n = fields_.size();
  for (size_t i = e.head; i < e.times.size(); ++i) ReleaseSlots(e.slots.data() + i * n, e.nulls[i]);
  total_entries_ -= e.size();
  for (size_t w = 0; w < windows_.size(); ++w) {
    for (Tile& tile : ks.tiles[w]) {
      for (size_t i = 0; i < windows_[w].states.size(); ++i) {
        ReleaseState(tile.states[i], windows_[w].states[i]);
      }
      for (size_t k = 0; k < fields_.size(); ++k) {
        if (tile.last_time[k] != INT64_MIN && fields_[k].type == FieldType::kString) {
          pool_.Release(tile.last_slot[k]);
        }
      }
    }
    total_tiles_ -= ks.tiles[w].size();
  }
}

void AsOfGroup::OnEvent(std::string_view key, EventTime t, const Row& row,
                        std::span<FeatureValue> out) {
  EDDY_DCHECK(out.size() == outputs_.size());
  const size_t n = fields_.size();
  uint64_t nulls = 0;
  for (size_t k = 0; k < n; ++k) {
    size_t idx = static_cast<size_t>(fields_[k].row_index);
    if (row[idx].is_null()) {
      nulls |= uint64_t{1} << k;
      event_slots_[k] = 0;
    } else {
      event_slots_[k] = ToSlot(row, idx, pool_);
    }
  }
  if (nulls != 0) {
    for (const OutputPlan& o : outputs_) {
      if (o.slot >= 0 && ((nulls >> o.slot) & 1)) ++nulls_skipped_;
    }
  }

  auto it = keys_.find(key);
  if (it == keys_.end()) {
    it = keys_.emplace(std::string(key), KeyState()).first;
    InitKey(it->second);
  }
  KeyState& ks = it->second;
  Entries& e = ks.entries;
  if (HasUnreachable(ks)) DropUnreachable(ks);

  const bool in_order = t >= ks.max_time;
  const uint64_t seq = ks.next_seq++;
  const bool has_exact = has_exact_;
  if (has_exact) {
    if (in_order) {
      e.times.push_back(t.micros());
      e.nulls.push_back(nulls);
      e.slots.insert(e.slots.end(), event_slots_.begin(), event_slots_.end());
      const size_t end = e.times.size();
      for (size_t w = 0; w < windows_.size(); ++w) {
        if (exact_index_[w] == SIZE_MAX) continue;
        const WindowPlan& plan = windows_[w];
        std::span<State> states(ks.states.data() + state_offset_[w], plan.states.size());
        // Slide the frontier to [t - w, t]: expired entries leave first, so
        // that a state that empties restarts exactly fresh, then the event
        // joins.
        const int64_t lo_bound = (t - plan.length).micros();
        size_t& lo = ks.lo[w];
        EDDY_DCHECK(lo >= e.head);
        while (lo < end && e.times[lo] < lo_bound) {
          ApplyEntry(states, plan.states, e.slots.data() + lo * n, e.nulls[lo],
                     EventTime::FromMicros(e.times[lo]), 0, -1, Insert::kInOrder);
          ++lo;
        }
        for (size_t i = 0; i < plan.states.size(); ++i) {
          if (auto* dq = std::get_if<MonotonicDeque>(&states[i])) {
            dq->EvictBefore(EventTime::FromMicros(lo_bound));
          } else if (auto* m = std::get_if<Moments>(&states[i]); m && m->NeedsRebuild()) {
            // Rounding has caught up with the variance (removals cancelled
            // most of it): recompute it from the window's entries (the event
            // itself, at end - 1, joins below).
            const int slot = plan.states[i].slot;
            *m = Moments();
            for (size_t j = lo; j + 1 < end; ++j) {
              if ((e.nulls[j] >> slot) & 1) continue;
              m->Add(SlotAsDouble(e.slots[j * n + static_cast<size_t>(slot)], fields_[slot].type));
            }
          }
        }
        ApplyEntry(states, plan.states, event_slots_.data(), nulls, t, seq, +1, Insert::kInOrder);
        for (size_t i = 0; i < outputs_.size(); ++i) {
          const OutputPlan& o = outputs_[i];
          if (o.window != static_cast<int>(w)) continue;
          if (o.kind == AggKind::kLast) {
            ExtractLast(o, ks, lo, end, nullptr, 0, t, out[i]);
          } else {
            Extract(o, states, t, out[i]);
          }
        }
      }
    } else {
      ++out_of_order_;
      auto tbegin = e.times.begin() + static_cast<ptrdiff_t>(e.head);
      const size_t hi = static_cast<size_t>(std::upper_bound(tbegin, e.times.end(), t.micros()) -
                                            e.times.begin());
      for (size_t w = 0; w < windows_.size(); ++w) {
        if (exact_index_[w] == SIZE_MAX) continue;
        const WindowPlan& plan = windows_[w];
        const int64_t lo_bound = (t - plan.length).micros();
        const size_t lo = static_cast<size_t>(
            std::lower_bound(tbegin, e.times.begin() + static_cast<ptrdiff_t>(hi), lo_bound) -
            e.times.begin());
        scratch_.clear();
        for (const StateRef& ref : plan.states) scratch_.push_back(MakeState(ref));
        for (size_t i = lo; i < hi; ++i) {
          ApplyEntry(scratch_, plan.states, e.slots.data() + i * n, e.nulls[i],
                     EventTime::FromMicros(e.times[i]), i, +1, Insert::kInOrder);
        }
        ApplyEntry(scratch_, plan.states, event_slots_.data(), nulls, t, hi, +1, Insert::kInOrder);
        for (size_t i = 0; i < outputs_.size(); ++i) {
          const OutputPlan& o = outputs_[i];
          if (o.window != static_cast<int>(w)) continue;
          if (o.kind == AggKind::kLast) {
            ExtractLast(o, ks, lo, hi, event_slots_.data(), nulls, t, out[i]);
          } else {
            Extract(o, scratch_, t, out[i]);
          }
        }
      }
      // Insert the event in order and add it to the frontier windows it
      // falls in.
      e.times.insert(e.times.begin() + static_cast<ptrdiff_t>(hi), t.micros());
      e.nulls.insert(e.nulls.begin() + static_cast<ptrdiff_t>(hi), nulls);
      e.slots.insert(e.slots.begin() + static_cast<ptrdiff_t>(hi * n), event_slots_.begin(),
                     event_slots_.end());
      for (size_t w = 0; w < windows_.size(); ++w) {
        if (exact_index_[w] == SIZE_MAX) continue;
        const WindowPlan& plan = windows_[w];
        if (t < ks.max_time - plan.length) {
          if (hi <= ks.lo[w]) ++ks.lo[w];
          continue;
        }
        if (hi < ks.lo[w]) ++ks.lo[w];  // cannot happen for in-window times; kept for safety
        std::span<State> states(ks.states.data() + state_offset_[w], plan.states.size());
        ApplyEntry(states, plan.states, event_slots_.data(), nulls, t, seq, +1,
                   Insert::kOutOfOrder);
      }
    }
  }
  for (size_t w = 0; w < windows_.size(); ++w) {
    if (exact_index_[w] != SIZE_MAX) continue;
    AddToTiles(ks, w, event_slots_.data(), nulls, t, seq);
    ComputeTiled(ks, w, t, out);
  }
  if (has_exact) {
    ++total_entries_;
    peak_entries_ = std::max(peak_entries_, total_entries_);
  } else {
    ReleaseSlots(event_slots_.data(), nulls);
  }
  peak_keys_ = std::max(peak_keys_, keys_.size());
  if (t > ks.max_time) ks.max_time = t;
  if (!ks.expiry_queued) {
    expiry_.emplace(ks.max_time.micros(), std::string(key));
    ks.expiry_queued = true;
  }
}

void AsOfGroup::OnWatermark(Watermark wm) {
  EventTime horizon =
      wm.is_end_of_time() ? EventTime::Max() : wm.time() - allowed_lateness_ - max_window_;
  if (horizon <= horizon_) return;
  horizon_ = horizon;
  free_before_ = horizon_;
  for (size_t w = 0; w < windows_.size(); ++w) {
    const int64_t g = windows_[w].granularity.micros();
    if (g == 0 || horizon_ == EventTime::Max()) {
      tile_horizon_[w] = horizon_.micros();
    } else {
      // Aligned down, saturating (the horizon may be near EventTime::Min()).
      const int64_t q = FloorDiv(horizon_.micros(), g);
      tile_horizon_[w] = q < INT64_MIN / g ? INT64_MIN : q * g;
    }
    free_before_ = std::min(free_before_, EventTime::FromMicros(tile_horizon_[w]));
  }
  while (!expiry_.empty() && expiry_.top().first < free_before_.micros()) {
    std::string key = expiry_.top().second;
    expiry_.pop();
    auto it = keys_.find(key);
    if (it == keys_.end()) continue;
    KeyState& ks = it->second;
    if (ks.max_time >= free_before_) {
      expiry_.emplace(ks.max_time.micros(), std::move(key));  // still alive
      continue;
    }
    // Nothing of this key can be seen again: release and free it.
    ReleaseKey(ks);
    keys_.erase(it);
  }
}

AsOfGroup::Stats AsOfGroup::stats() const {
  Stats s;
  s.keys = keys_.size();
  s.entries = total_entries_;
  s.peak_keys = peak_keys_;
  s.peak_entries = peak_entries_;
  s.strings = pool_.size();
  s.nulls_skipped = nulls_skipped_;
  s.out_of_order = out_of_order_;
  s.tiles = total_tiles_;
  return s;
}

// ---- Checkpoints ----

void AsOfGroup::SaveStateValue(const State& s, std::string& out) {
  out.push_back(static_cast<char>(s.index()));
  switch (s.index()) {
    case 0:
      PutSigned(out, std::get<int64_t>(s));
      break;
    case 1:
      std::get<Moments>(s).Save(out);
      break;
    case 2:
      std::get<MonotonicDeque>(s).Save(out);
      break;
    case 3:
      std::get<CountsPtr>(s)->Save(out);
      break;
    case 4:
      std::get<SketchPtr>(s)->Save(out);
      break;
    case 5:
      std::get<DecayedSum>(s).Save(out);
      break;
  }
}

bool AsOfGroup::LoadStateValue(State& s, const StateRef& ref, ByteReader& in) const {
  uint8_t index;
  if (!in.Byte(index)) return false;
  s = MakeState(ref);
  if (index != s.index()) {
    in.Fail("aggregate state of another kind");
    return false;
  }
  switch (index) {
    case 0:
      return in.Signed(std::get<int64_t>(s));
    case 1:
      return std::get<Moments>(s).Load(in);
    case 2:
      return std::get<MonotonicDeque>(s).Load(in);
    case 3:
      return std::get<CountsPtr>(s)->Load(in);
    case 4:
      return std::get<SketchPtr>(s)->Load(in);
    case 5:
      return std::get<DecayedSum>(s).Load(in);
  }
  return false;
}

void AsOfGroup::SaveState(std::string& out) const {
  PutString(out, name_);
  PutVarint64(out, fields_.size());
  PutVarint64(out, windows_.size());
  PutSigned(out, horizon_.micros());
  PutSigned(out, free_before_.micros());
  PutVarint64(out, tile_horizon_.size());
  for (int64_t t : tile_horizon_) PutSigned(out, t);
  for (uint64_t v : {nulls_skipped_, uint64_t{total_entries_}, uint64_t{total_tiles_},
                     uint64_t{peak_keys_}, uint64_t{peak_entries_}, out_of_order_}) {
    PutVarint64(out, v);
  }
  pool_.Save(out);
  // Keys in sorted order: the image depends on the state only.
  std::vector<const std::pair<const std::string, KeyState>*> keys;
  for (const auto& kv : keys_) keys.push_back(&kv);
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->first < b->first; });
  const size_t n = fields_.size();
  PutVarint64(out, keys.size());
  for (const auto* kv : keys) {
    const KeyState& ks = kv->second;
    PutString(out, kv->first);
    PutSigned(out, ks.max_time.micros());
    PutVarint64(out, ks.next_seq);
    out.push_back(ks.expiry_queued ? 1 : 0);
    const Entries& e = ks.entries;
    PutVarint64(out, e.size());
    for (size_t i = e.head; i < e.times.size(); ++i) {
      PutSigned(out, e.times[i]);
      PutVarint64(out, e.nulls[i]);
      for (size_t k = 0; k < n; ++k) PutVarint64(out, e.slots[i * n + k]);
    }
    PutVarint64(out, ks.lo.size());
    for (size_t lo : ks.lo) PutVarint64(out, lo < e.head ? 0 : lo - e.head);
    PutVarint64(out, ks.states.size());
    for (const State& s : ks.states) SaveStateValue(s, out);
    PutVarint64(out, ks.tiles.size());
    for (const auto& tiles : ks.tiles) {
      PutVarint64(out, tiles.size());
      for (const Tile& tile : tiles) {
        PutSigned(out, tile.start);
        PutVarint64(out, tile.states.size());
        for (const State& s : tile.states) SaveStateValue(s, out);
        PutVarint64(out, tile.last_time.size());
        for (size_t k = 0; k < tile.last_time.size(); ++k) {
          PutSigned(out, tile.last_time[k]);
          PutVarint64(out, tile.last_seq[k]);
          PutVarint64(out, tile.last_slot[k]);
        }
      }
    }
  }
}

Status AsOfGroup::RestoreState(std::string_view bytes) {
  ByteReader in(bytes, StrCat("checkpoint of feature group ", Quote(name_)));
  std::string_view name;
  uint64_t nfields, nwindows;
  if (!in.String(name) || !in.Varint64(nfields) || !in.Varint64(nwindows)) return in.status();
  if (name != name_ || nfields != fields_.size() || nwindows != windows_.size()) {
    return Status::FailedPrecondition(
        StrCat("feature group ", Quote(name_), " changed since the checkpoint; run with --fresh"));
  }
  int64_t horizon, free_before;
  uint64_t ntiles;
  if (!in.Signed(horizon) || !in.Signed(free_before) || !in.Varint64(ntiles)) return in.status();
  if (ntiles != tile_horizon_.size()) return Status::Corruption("tile horizons do not match");
  for (int64_t& t : tile_horizon_) {
    if (!in.Signed(t)) return in.status();
  }
  uint64_t counters[6];
  for (uint64_t& c : counters) {
    if (!in.Varint64(c)) return in.status();
  }
  if (!pool_.Load(in)) return in.status();
  keys_.clear();
  while (!expiry_.empty()) expiry_.pop();
  const size_t n = fields_.size();
  uint64_t nkeys;
  if (!in.Varint64(nkeys)) return in.status();
  for (uint64_t ki = 0; ki < nkeys; ++ki) {
    std::string_view key;
    int64_t max_time;
    uint64_t next_seq, size;
    uint8_t queued;
    if (!in.String(key) || !in.Signed(max_time) || !in.Varint64(next_seq) || !in.Byte(queued) ||
        !in.Varint64(size)) {
      return in.status();
    }
    if (size > in.remaining()) return Status::Corruption("entry count exceeds the checkpoint");
    KeyState ks;
    ks.max_time = EventTime::FromMicros(max_time);
    ks.next_seq = next_seq;
    ks.expiry_queued = queued != 0;
    Entries& e = ks.entries;
    for (uint64_t i = 0; i < size; ++i) {
      int64_t t;
      uint64_t nulls;
      if (!in.Signed(t) || !in.Varint64(nulls)) return in.status();
      e.times.push_back(t);
      e.nulls.push_back(nulls);
      for (size_t k = 0; k < n; ++k) {
        uint64_t slot;
        if (!in.Varint64(slot)) return in.status();
        e.slots.push_back(slot);
      }
    }
    uint64_t nlo, nstates, ntile_windows;
    if (!in.Varint64(nlo)) return in.status();
    if (nlo != windows_.size()) return Status::Corruption("frontier count does not match");
    for (uint64_t i = 0; i < nlo; ++i) {
      uint64_t lo;
      if (!in.Varint64(lo)) return in.status();
      ks.lo.push_back(static_cast<size_t>(lo));
    }
    if (!in.Varint64(nstates)) return in.status();
    if (nstates != num_states_) return Status::Corruption("state count does not match");
    for (size_t w = 0; w < windows_.size(); ++w) {
      if (exact_index_[w] == SIZE_MAX) continue;
      for (const StateRef& ref : windows_[w].states) {
        State s;
        if (!LoadStateValue(s, ref, in)) return in.status();
        ks.states.push_back(std::move(s));
      }
    }
    if (!in.Varint64(ntile_windows)) return in.status();
    if (ntile_windows != windows_.size()) return Status::Corruption("tile windows do not match");
    ks.tiles.resize(windows_.size());
    for (size_t w = 0; w < windows_.size(); ++w) {
      uint64_t count;
      if (!in.Varint64(count)) return in.status();
      if (count > in.remaining()) return Status::Corruption("tile count exceeds the checkpoint");
      for (uint64_t ti = 0; ti < count; ++ti) {
        Tile tile;
        uint64_t ns, nl;
        if (!in.Signed(tile.start) || !in.Varint64(ns)) return in.status();
        if (ns != windows_[w].states.size()) return Status::Corruption("tile states do not match");
        for (const StateRef& ref : windows_[w].states) {
          State s;
          if (!LoadStateValue(s, ref, in)) return in.status();
          tile.states.push_back(std::move(s));
        }
        if (!in.Varint64(nl)) return in.status();
        if (nl != n) return Status::Corruption("tile last values do not match");
        tile.last_time.resize(n);
        tile.last_seq.resize(n);
        tile.last_slot.resize(n);
        for (size_t k = 0; k < n; ++k) {
          if (!in.Signed(tile.last_time[k]) || !in.Varint64(tile.last_seq[k]) ||
              !in.Varint64(tile.last_slot[k])) {
            return in.status();
          }
        }
        ks.tiles[w].push_back(std::move(tile));
      }
    }
    if (ks.expiry_queued) expiry_.emplace(ks.max_time.micros(), std::string(key));
    keys_.emplace(std::string(key), std::move(ks));
  }
  if (!in.at_end()) return Status::Corruption("trailing bytes in a feature group checkpoint");
  horizon_ = EventTime::FromMicros(horizon);
  free_before_ = EventTime::FromMicros(free_before);
  nulls_skipped_ = counters[0];
  total_entries_ = static_cast<size_t>(counters[1]);
  total_tiles_ = static_cast<size_t>(counters[2]);
  peak_keys_ = static_cast<size_t>(counters[3]);
  peak_entries_ = static_cast<size_t>(counters[4]);
  out_of_order_ = counters[5];
  return Status::OK();
}

}  // namespace eddy
