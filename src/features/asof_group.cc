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

// `t` aligned down to a multiple of `g` > 0, saturating at INT64_MIN.
int64_t AlignDown(int64_t t, int64_t g) {
  const int64_t q = FloorDiv(t, g);
  return q < INT64_MIN / g ? INT64_MIN : q * g;
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
      StateRef ref{StateKind::kCount, FieldType::kDouble, static_cast<int16_t>(slot), -1,
                   Duration::Zero()};
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
  for (size_t w = 0; w < g->windows_.size(); ++w) {
    WindowPlan& plan = g->windows_[w];
    for (StateRef& ref : plan.states) {
      if (ref.slot >= 0) ref.type = g->fields_[static_cast<size_t>(ref.slot)].type;
    }
    if (plan.granularity == Duration::Zero()) {
      plan.index = g->exact_windows_.size();
      plan.state_offset = g->num_states_;
      g->num_states_ += plan.states.size();
      g->exact_windows_.push_back(w);
    } else {
      plan.index = g->tiled_windows_.size();
      g->tiled_windows_.push_back(w);
    }
  }
  for (size_t i = 0; i < g->outputs_.size(); ++i) {
    WindowPlan& plan = g->windows_[static_cast<size_t>(g->outputs_[i].window)];
    plan.outputs.push_back(i);
    if (g->outputs_[i].kind == AggKind::kLast) plan.has_last = true;
  }
  for (const FieldRef& f : g->fields_) {
    if (f.type == FieldType::kString) g->has_string_fields_ = true;
  }
  g->stride_ = 2 + g->fields_.size();
  g->event_slots_.resize(g->fields_.size());
  g->tile_horizon_.assign(g->windows_.size(), INT64_MIN);
  for (size_t w : g->exact_windows_) {
    for (const StateRef& ref : g->windows_[w].states) g->scratch_.push_back(g->MakeState(ref));
  }
  // One deque per (min or max, field) over the exact windows: the longest
  // window's.
  g->exact_by_length_ = g->exact_windows_;
  std::stable_sort(g->exact_by_length_.begin(), g->exact_by_length_.end(), [&](size_t a, size_t b) {
    return g->windows_[a].length > g->windows_[b].length;
  });
  for (size_t i = 0; i < g->exact_by_length_.size(); ++i) {
    WindowPlan& plan = g->windows_[g->exact_by_length_[i]];
    for (StateRef& ref : plan.states) {
      if (ref.kind != StateKind::kMin && ref.kind != StateKind::kMax) continue;
      for (size_t j = 0; j < i && ref.owner < 0; ++j) {
        const WindowPlan& longer = g->windows_[g->exact_by_length_[j]];
        for (size_t k = 0; k < longer.states.size(); ++k) {
          const StateRef& other = longer.states[k];
          if (other.kind == ref.kind && other.slot == ref.slot && other.owner < 0) {
            ref.owner = static_cast<int32_t>(longer.state_offset + k);
            break;
          }
        }
      }
    }
  }

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
  for (size_t w : exact_windows_) {
    for (const StateRef& ref : windows_[w].states) ks.states.push_back(MakeState(ref));
  }
  if (exact_windows_.size() > kInlineFrontiers) {
    ks.more_frontiers.resize(exact_windows_.size() - kInlineFrontiers);
  }
  ks.tiled.resize(tiled_windows_.size());
  for (size_t w : tiled_windows_) {
    TiledWindow& tw = ks.tiled[windows_[w].index];
    for (const StateRef& ref : windows_[w].states) tw.states.push_back(MakeState(ref));
  }
}

size_t AsOfGroup::LowerBound(const Entries& e, size_t from, size_t to, int64_t t) const {
  while (from < to) {
    const size_t mid = from + (to - from) / 2;
    if (TimeOf(Entry(e, mid)) < t) {
      from = mid + 1;
    } else {
      to = mid;
    }
  }
  return from;
}

size_t AsOfGroup::UpperBound(const Entries& e, size_t from, size_t to, int64_t t) const {
  while (from < to) {
    const size_t mid = from + (to - from) / 2;
    if (TimeOf(Entry(e, mid)) <= t) {
      from = mid + 1;
    } else {
      to = mid;
    }
  }
  return from;
}

void AsOfGroup::WriteEntry(uint64_t* entry, EventTime t, uint64_t nulls) const {
  entry[0] = static_cast<uint64_t>(t.micros());
  entry[1] = nulls;
  for (size_t k = 0; k < fields_.size(); ++k) entry[2 + k] = event_slots_[k];
}

void AsOfGroup::AddToStates(std::span<State> states, std::span<const StateRef> refs,
                            const uint64_t* slots, uint64_t nulls, EventTime t, uint64_t seq,
                            Insert insert) {
  for (size_t i = 0; i < refs.size(); ++i) {
    const StateRef& ref = refs[i];
    if (ref.slot >= 0 && ((nulls >> ref.slot) & 1)) continue;
    if (ref.owner >= 0) continue;  // reads a longer window's deque
    State& s = states[i];
    switch (ref.kind) {
      case StateKind::kCount:
        ++*std::get_if<int64_t>(&s);
        break;
      case StateKind::kMoments:
        std::get_if<Moments>(&s)->Add(SlotAsDouble(slots[ref.slot], ref.type));
        break;
      case StateKind::kMin:
      case StateKind::kMax: {
        const double x = SlotAsDouble(slots[ref.slot], ref.type);
        auto& dq = *std::get_if<MonotonicDeque>(&s);
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
      case StateKind::kCounts:
        (*std::get_if<CountsPtr>(&s))->Add(slots[ref.slot]);
        break;
      case StateKind::kSketch:
        (*std::get_if<SketchPtr>(&s))->Add(SlotAsDouble(slots[ref.slot], ref.type));
        break;
      case StateKind::kDecay:
        std::get_if<DecayedSum>(&s)->Add(SlotAsDouble(slots[ref.slot], ref.type), t, ref.half_life);
        break;
    }
  }
}

void AsOfGroup::ApplyRange(State& s, const StateRef& ref, const Entries& e, size_t from, size_t to,
                           int sign) const {
  const size_t slot = static_cast<size_t>(ref.slot);
  auto present = [&](const uint64_t* entry) {
    return ref.slot < 0 || !((entry[1] >> ref.slot) & 1);
  };
  // Calls fn(entry) for each entry in [from, to) with a value in the slot.
  auto each = [&](auto&& fn) {
    for (size_t i = from; i < to; ++i) {
      const uint64_t* entry = Entry(e, i);
      if (present(entry)) fn(entry);
    }
  };
  auto x = [&](const uint64_t* entry) { return SlotAsDouble(entry[2 + slot], ref.type); };
  switch (ref.kind) {
    case StateKind::kCount: {
      int64_t n = 0;
      if (ref.slot < 0) {
        n = static_cast<int64_t>(to - from);
      } else {
        for (size_t i = from; i < to; ++i) n += present(Entry(e, i)) ? 1 : 0;
      }
      *std::get_if<int64_t>(&s) += sign * n;
      return;
    }
    case StateKind::kMoments: {
      Moments& m = *std::get_if<Moments>(&s);
      each([&](const uint64_t* en) { sign > 0 ? m.Add(x(en)) : m.Remove(x(en)); });
      return;
    }
    case StateKind::kCounts: {
      ValueCounts& c = **std::get_if<CountsPtr>(&s);
      each([&](const uint64_t* entry) {
        sign > 0 ? c.Add(entry[2 + slot]) : c.Remove(entry[2 + slot]);
      });
      return;
    }
    case StateKind::kSketch: {
      QuantileSketch& q = **std::get_if<SketchPtr>(&s);
      each([&](const uint64_t* en) { sign > 0 ? q.Add(x(en)) : q.Remove(x(en)); });
      return;
    }
    case StateKind::kDecay: {
      DecayedSum& d = *std::get_if<DecayedSum>(&s);
      each([&](const uint64_t* entry) {
        const EventTime ti = EventTime::FromMicros(TimeOf(entry));
        sign > 0 ? d.Add(x(entry), ti, ref.half_life) : d.Remove(x(entry), ti, ref.half_life);
      });
      return;
    }
    case StateKind::kMin:
    case StateKind::kMax:
      break;  // not invertible: see ScanExtreme
  }
  EDDY_DCHECK(false) << "ApplyRange on a min/max state";
}

void AsOfGroup::ScanExtreme(const StateRef& ref, const Entries& e, size_t from, size_t to,
                            std::optional<double>& best) const {
  const size_t slot = static_cast<size_t>(ref.slot);
  const bool is_max = ref.kind == StateKind::kMax;
  // Values are finite (the decoders reject NaN and infinities), so the
  // extreme is the same whichever order finds it.
  bool found = best.has_value();
  double b = found ? *best : 0;
  for (size_t i = from; i < to; ++i) {
    const uint64_t* entry = Entry(e, i);
    if ((entry[1] >> slot) & 1) continue;
    const double x = SlotAsDouble(entry[2 + slot], ref.type);
    if (!found || (is_max ? x > b : x < b)) {
      b = x;
      found = true;
    }
  }
  if (found) best = b;
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

bool AsOfGroup::BestOfFrontier(const KeyState& ks, const StateRef& ref, const State& s,
                               EventTime lo, EventTime& t, double& v) const {
  if (ref.owner >= 0) {
    return std::get_if<MonotonicDeque>(&ks.states[static_cast<size_t>(ref.owner)])
        ->BestFrom(lo, t, v);
  }
  const auto& dq = *std::get_if<MonotonicDeque>(&s);
  if (dq.empty()) return false;
  t = dq.best_time();
  v = *dq.best();
  return true;
}

void AsOfGroup::Extract(const OutputPlan& o, const State& s, EventTime t, FeatureValue& out) const {
  switch (o.kind) {
    case AggKind::kCount:
      out.SetInt(*std::get_if<int64_t>(&s));
      return;
    case AggKind::kSum:
      out.SetDouble(std::get_if<Moments>(&s)->sum());
      return;
    case AggKind::kMean: {
      auto m = std::get_if<Moments>(&s)->mean();
      m ? out.SetDouble(*m) : out.SetNull();
      return;
    }
    case AggKind::kVariance: {
      auto v = std::get_if<Moments>(&s)->variance();
      v ? out.SetDouble(*v) : out.SetNull();
      return;
    }
    case AggKind::kStddev: {
      auto v = std::get_if<Moments>(&s)->variance();
      v ? out.SetDouble(std::sqrt(*v)) : out.SetNull();
      return;
    }
    case AggKind::kMin:
    case AggKind::kMax: {
      auto b = std::get_if<MonotonicDeque>(&s)->best();
      b ? out.SetDouble(*b) : out.SetNull();
      return;
    }
    case AggKind::kCountDistinct:
      out.SetInt((*std::get_if<CountsPtr>(&s))->distinct());
      return;
    case AggKind::kTopK:
      TopK(**std::get_if<CountsPtr>(&s), o.k, fields_[o.slot].type, out);
      return;
    case AggKind::kQuantile: {
      auto q = (*std::get_if<SketchPtr>(&s))->Quantile(o.q);
      q ? out.SetDouble(*q) : out.SetNull();
      return;
    }
    case AggKind::kDecayedSum:
      out.SetDouble(std::get_if<DecayedSum>(&s)->ValueAt(t, o.half_life));
      return;
    case AggKind::kLast:
      break;
  }
  out.SetNull();
}

void AsOfGroup::ExtractLast(const OutputPlan& o, const KeyState& ks, size_t lo_idx, size_t hi_idx,
                            const uint64_t* new_slots, uint64_t new_nulls,
                            FeatureValue& out) const {
  const FieldType type = fields_[o.slot].type;
  if (new_slots != nullptr && !((new_nulls >> o.slot) & 1)) {
    SlotToFeature(new_slots[o.slot], type, pool_, out);
    return;
  }
  for (size_t i = hi_idx; i-- > lo_idx;) {
    const uint64_t* entry = Entry(ks.entries, i);
    if ((entry[1] >> o.slot) & 1) continue;
    SlotToFeature(entry[2 + static_cast<size_t>(o.slot)], type, pool_, out);
    return;
  }
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
  const int64_t start = AlignDown(t.micros(), g);
  auto& tiles = ks.tiled[plan.index].tiles;
  auto it = std::lower_bound(tiles.begin(), tiles.end(), start,
                             [](const Tile& tile, int64_t s) { return tile.start < s; });
  if (it == tiles.end() || it->start != start) {
    Tile tile;
    tile.start = start;
    tile.states.reserve(plan.states.size());
    for (const StateRef& ref : plan.states) tile.states.push_back(MakeState(ref));
    if (plan.has_last) tile.last.resize(fields_.size());
    it = tiles.insert(it, std::move(tile));
    ++total_tiles_;
  }
  AddToStates(it->states, plan.states, slots, nulls, t, seq, Insert::kTile);
  // Strings counted in tiles hold their own references.
  for (const StateRef& ref : plan.states) {
    if (ref.kind == StateKind::kCounts && fields_[ref.slot].type == FieldType::kString &&
        !((nulls >> ref.slot) & 1)) {
      pool_.AddRef(slots[ref.slot]);
    }
  }
  for (size_t i : plan.outputs) {
    const OutputPlan& o = outputs_[i];
    if (o.kind != AggKind::kLast) continue;
    size_t k = static_cast<size_t>(o.slot);
    if ((nulls >> k) & 1) continue;
    LastValue& last = it->last[k];
    if (t.micros() > last.time || (t.micros() == last.time && seq >= last.seq)) {
      if (last.time != INT64_MIN && fields_[k].type == FieldType::kString) {
        pool_.Release(last.slot);
      }
      if (fields_[k].type == FieldType::kString) pool_.AddRef(slots[k]);
      last = {t.micros(), seq, slots[k]};
    }
  }
}

void AsOfGroup::ComputeTiled(KeyState& ks, size_t w, EventTime t, std::span<FeatureValue> out) {
  const WindowPlan& plan = windows_[w];
  const int64_t g = plan.granularity.micros();
  const int64_t from = AlignDown((t - plan.length).micros(), g);
  tile_scratch_.clear();
  for (const StateRef& ref : plan.states) tile_scratch_.push_back(MakeState(ref));
  std::vector<LastValue>& last = tile_last_;
  last.assign(plan.has_last ? fields_.size() : 0, LastValue());
  for (const Tile& tile : ks.tiled[plan.index].tiles) {
    if (tile.start < from) continue;
    if (tile.start > t.micros()) break;
    for (size_t i = 0; i < plan.states.size(); ++i) {
      State& dst = tile_scratch_[i];
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
    for (size_t k = 0; k < tile.last.size(); ++k) {
      const LastValue& x = tile.last[k];
      if (x.time == INT64_MIN) continue;
      if (x.time > last[k].time || (x.time == last[k].time && x.seq > last[k].seq)) last[k] = x;
    }
  }
  for (size_t i : plan.outputs) {
    const OutputPlan& o = outputs_[i];
    if (o.kind == AggKind::kLast) {
      size_t k = static_cast<size_t>(o.slot);
      if (last[k].time == INT64_MIN) {
        out[i].SetNull();
      } else {
        SlotToFeature(last[k].slot, fields_[k].type, pool_, out[i]);
      }
      continue;
    }
    Extract(o, tile_scratch_[static_cast<size_t>(o.state)], t, out[i]);
  }
}

void AsOfGroup::OnTiled(KeyState& ks, size_t w, EventTime t, uint64_t seq, uint64_t nulls,
                        bool in_order, std::span<FeatureValue> out) {
  const WindowPlan& plan = windows_[w];
  TiledWindow& tw = ks.tiled[plan.index];
  const int64_t g = plan.granularity.micros();
  const int64_t tile = AlignDown(t.micros(), g);
  const int64_t from = AlignDown((t - plan.length).micros(), g);
  const uint64_t* slots = event_slots_.data();
  if (in_order) {
    // Take out the tiles that left the window.
    if (from > tw.from) {
      auto it = std::lower_bound(tw.tiles.begin(), tw.tiles.end(), tw.from,
                                 [](const Tile& x, int64_t s) { return x.start < s; });
      for (; it != tw.tiles.end() && it->start < from; ++it) {
        for (size_t i = 0; i < plan.states.size(); ++i) {
          State& s = tw.states[i];
          const State& src = it->states[i];
          switch (plan.states[i].kind) {
            case StateKind::kCount:
              *std::get_if<int64_t>(&s) -= *std::get_if<int64_t>(&src);
              break;
            case StateKind::kMoments:
              std::get_if<Moments>(&s)->Unmerge(*std::get_if<Moments>(&src));
              break;
            case StateKind::kMin:
            case StateKind::kMax:
              break;  // evicted by time below
            case StateKind::kCounts:
              (*std::get_if<CountsPtr>(&s))->Unmerge(**std::get_if<CountsPtr>(&src));
              break;
            case StateKind::kSketch:
              (*std::get_if<SketchPtr>(&s))->Unmerge(**std::get_if<SketchPtr>(&src));
              break;
            case StateKind::kDecay:
              std::get_if<DecayedSum>(&s)->Unmerge(*std::get_if<DecayedSum>(&src),
                                                   plan.states[i].half_life);
              break;
          }
        }
      }
      tw.from = from;
      // Tiles that left the running states may be unreachable already.
      if (!tw.tiles.empty() && tw.tiles.front().start < tile_horizon_[w]) DropTiles(tw, w);
    }
    for (size_t i = 0; i < plan.states.size(); ++i) {
      State& s = tw.states[i];
      if (auto* dq = std::get_if<MonotonicDeque>(&s)) {
        dq->EvictBefore(EventTime::FromMicros(from));
      } else if (auto* m = std::get_if<Moments>(&s); m && m->NeedsRebuild()) {
        RebuildTiled(tw, plan, i);  // from the tiles (the event joins below)
      }
    }
  }
  AddToTiles(ks, w, slots, nulls, t, seq);
  if (tile >= tw.from) {
    // The event joins the running states; min and max items stand for
    // their tile.
    const EventTime key = EventTime::FromMicros(tile);
    for (size_t i = 0; i < plan.states.size(); ++i) {
      const StateRef& ref = plan.states[i];
      if (ref.slot >= 0 && ((nulls >> ref.slot) & 1)) continue;
      State& s = tw.states[i];
      if (ref.kind == StateKind::kMin || ref.kind == StateKind::kMax) {
        const double x = SlotAsDouble(slots[ref.slot], ref.type);
        auto& dq = *std::get_if<MonotonicDeque>(&s);
        in_order ? dq.PushBackCollapsing(key, seq, x) : dq.InsertOutOfOrder(key, seq, x);
      } else {
        AddToStates({&s, 1}, {&ref, 1}, slots, nulls, t, seq, Insert::kInOrder);
      }
    }
  }
  // The running states cover tiles [tw.from, newest]: the event's window
  // when it starts there and its tile is the newest.
  if (!in_order && (from != tw.from || tile != AlignDown(ks.max_time.micros(), g))) {
    ComputeTiled(ks, w, t, out);
    return;
  }
  for (size_t i : plan.outputs) {
    const OutputPlan& o = outputs_[i];
    if (o.kind != AggKind::kLast) {
      Extract(o, tw.states[static_cast<size_t>(o.state)], t, out[i]);
      continue;
    }
    // The newest value is in the newest tile that has one.
    const size_t k = static_cast<size_t>(o.slot);
    out[i].SetNull();
    for (size_t j = tw.tiles.size(); j-- > 0;) {
      const Tile& x = tw.tiles[j];
      if (x.start > tile) continue;
      if (x.start < from) break;
      if (x.last[k].time == INT64_MIN) continue;
      SlotToFeature(x.last[k].slot, fields_[k].type, pool_, out[i]);
      break;
    }
  }
}

void AsOfGroup::RebuildTiled(TiledWindow& tw, const WindowPlan& plan, size_t state) const {
  const StateRef& ref = plan.states[state];
  State& s = tw.states[state];
  s = MakeState(ref);
  for (const Tile& tile : tw.tiles) {
    if (tile.start < tw.from) continue;
    const State& src = tile.states[state];
    switch (ref.kind) {
      case StateKind::kCount:
        *std::get_if<int64_t>(&s) += *std::get_if<int64_t>(&src);
        break;
      case StateKind::kMoments:
        std::get_if<Moments>(&s)->Merge(*std::get_if<Moments>(&src));
        break;
      case StateKind::kMin:
      case StateKind::kMax:
        if (auto b = std::get_if<MonotonicDeque>(&src)->best()) {
          std::get_if<MonotonicDeque>(&s)->PushBack(EventTime::FromMicros(tile.start), 0, *b);
        }
        break;
      case StateKind::kCounts:
        (*std::get_if<CountsPtr>(&s))->Merge(**std::get_if<CountsPtr>(&src));
        break;
      case StateKind::kSketch:
        (*std::get_if<SketchPtr>(&s))->Merge(**std::get_if<SketchPtr>(&src));
        break;
      case StateKind::kDecay:
        std::get_if<DecayedSum>(&s)->Merge(*std::get_if<DecayedSum>(&src), ref.half_life);
        break;
    }
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
  if (ks.oldest < horizon_.micros()) return true;
  for (size_t w : tiled_windows_) {
    const TiledWindow& tw = ks.tiled[windows_[w].index];
    if (!tw.tiles.empty() && tw.tiles.front().start < std::min(tile_horizon_[w], tw.from)) {
      return true;
    }
  }
  return false;
}

void AsOfGroup::DropUnreachable(KeyState& ks) {
  Entries& e = ks.entries;
  // Entries still in a frontier window stay until the key's next in-order
  // event removes them from its running states: removing them here instead
  // would change the order of adds and removes, and so the last bits of
  // sums, with the timing of watermarks.
  size_t limit = e.end;
  for (size_t x = 0; x < exact_windows_.size(); ++x) limit = std::min(limit, ks.frontier(x).lo);
  size_t drop_end = e.head;
  while (drop_end < limit && TimeOf(Entry(e, drop_end)) < horizon_.micros()) ++drop_end;
  if (drop_end > e.head) {
    if (has_string_fields_) {
      for (size_t i = e.head; i < drop_end; ++i) {
        const uint64_t* entry = Entry(e, i);
        ReleaseSlots(entry + 2, entry[1]);
      }
    }
    total_entries_ -= drop_end - e.head;
    e.head = drop_end;
    ks.oldest = e.size() > 0 ? TimeOf(Entry(e, e.head)) : INT64_MAX;
    // Compact when the dead prefix dominates.
    if (e.head > 64 && e.head * 2 > e.end) {
      const size_t h = e.head;
      e.words.erase(e.words.begin(), e.words.begin() + static_cast<ptrdiff_t>(h * stride_));
      e.head = 0;
      e.end -= h;
      for (size_t x = 0; x < exact_windows_.size(); ++x) ks.frontier(x).lo -= h;
    }
  }
  // Tiles no future window can reach: a future event has t - w >= horizon_,
  // so its window starts at or after tile_horizon_. Tiles in the running
  // states stay until the key's next in-order event takes them out (as
  // entries do).
  for (size_t w : tiled_windows_) DropTiles(ks.tiled[windows_[w].index], w);
}

void AsOfGroup::DropTiles(TiledWindow& tw, size_t w) {
  auto& tiles = tw.tiles;
  const int64_t limit = std::min(tile_horizon_[w], tw.from);
  size_t drop = 0;
  while (drop < tiles.size() && tiles[drop].start < limit) {
    for (size_t i = 0; i < windows_[w].states.size(); ++i) {
      ReleaseState(tiles[drop].states[i], windows_[w].states[i]);
    }
    for (size_t k = 0; k < tiles[drop].last.size(); ++k) {
      const LastValue& last = tiles[drop].last[k];
      if (last.time != INT64_MIN && fields_[k].type == FieldType::kString) pool_.Release(last.slot);
    }
    ++drop;
  }
  tiles.erase(tiles.begin(), tiles.begin() + static_cast<ptrdiff_t>(drop));
  total_tiles_ -= drop;
}

void AsOfGroup::ReleaseKey(KeyState& ks) {
  Entries& e = ks.entries;
  if (has_string_fields_) {
    for (size_t i = e.head; i < e.end; ++i) {
      const uint64_t* entry = Entry(e, i);
      ReleaseSlots(entry + 2, entry[1]);
    }
  }
  total_entries_ -= e.size();
  for (size_t w : tiled_windows_) {
    for (Tile& tile : ks.tiled[windows_[w].index].tiles) {
      for (size_t i = 0; i < windows_[w].states.size(); ++i) {
        ReleaseState(tile.states[i], windows_[w].states[i]);
      }
      for (size_t k = 0; k < tile.last.size(); ++k) {
        const LastValue& last = tile.last[k];
        if (last.time != INT64_MIN && fields_[k].type == FieldType::kString) {
          pool_.Release(last.slot);
        }
      }
    }
    total_tiles_ -= ks.tiled[windows_[w].index].tiles.size();
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

  bool inserted;
  const KeyIndex id = keys_.FindOrInsert(key, inserted);
  KeyState& ks = keys_.value(id);
  if (inserted) InitKey(ks);
  if (HasUnreachable(ks)) DropUnreachable(ks);

  const uint64_t seq = ks.next_seq++;
  const bool in_order = t >= ks.max_time;
  const bool has_exact = !exact_windows_.empty();
  if (has_exact) {
    if (in_order) {
      OnInOrder(ks, t, seq, nulls, out);
    } else {
      OnOutOfOrder(ks, t, seq, nulls, out);
    }
  }
  for (size_t w : tiled_windows_) OnTiled(ks, w, t, seq, nulls, in_order, out);
  if (has_exact) {
    ++total_entries_;
    peak_entries_ = std::max(peak_entries_, total_entries_);
  } else {
    ReleaseSlots(event_slots_.data(), nulls);
  }
  peak_keys_ = std::max(peak_keys_, keys_.size());
  if (t > ks.max_time) ks.max_time = t;
  if (!ks.expiry_queued) {
    expiry_.emplace(ks.max_time.micros(), id);
    ks.expiry_queued = true;
  }
}

void AsOfGroup::OnInOrder(KeyState& ks, EventTime t, uint64_t seq, uint64_t nulls,
                          std::span<FeatureValue> out) {
  Entries& e = ks.entries;
  if (e.words.capacity() == 0) e.words.reserve(4 * stride_);
  e.words.push_back(static_cast<uint64_t>(t.micros()));
  e.words.push_back(nulls);
  for (size_t k = 0; k < fields_.size(); ++k) e.words.push_back(event_slots_[k]);
  ++e.end;
  if (e.size() == 1) ks.oldest = t.micros();
  const size_t end = e.end;
  const uint64_t* slots = event_slots_.data();
  // Longest first: a deque shared by several windows is updated before the
  // shorter ones read it.
  for (size_t w : exact_by_length_) {
    const WindowPlan& plan = windows_[w];
    State* states = ks.states.data() + plan.state_offset;
    // Slide the frontier to [t - w, t]: expired entries leave first, so
    // that a state that empties restarts exactly fresh, then the event
    // joins.
    const int64_t lo_bound = (t - plan.length).micros();
    Frontier& f = ks.frontier(plan.index);
    const size_t old_lo = f.lo;
    EDDY_DCHECK(old_lo >= e.head && old_lo < end);
    size_t lo = old_lo;
    if (lo == end - 1) {
      f.lo_time = t.micros();  // the window held nothing before the event
    } else if (f.lo_time < lo_bound) {
      // Stops at the event (end - 1) at the latest: t >= lo_bound.
      do {
        ++lo;
      } while (TimeOf(Entry(e, lo)) < lo_bound);
      f.lo = lo;
      f.lo_time = TimeOf(Entry(e, lo));
    }
    for (size_t i = 0; i < plan.states.size(); ++i) {
      const StateRef& ref = plan.states[i];
      State& s = states[i];
      const bool present = ref.slot < 0 || !((nulls >> ref.slot) & 1);
      switch (ref.kind) {
        case StateKind::kCount: {
          if (lo > old_lo) ApplyRange(s, ref, e, old_lo, lo, -1);
          if (present) ++*std::get_if<int64_t>(&s);
          break;
        }
        case StateKind::kMoments: {
          Moments& m = *std::get_if<Moments>(&s);
          if (lo > old_lo) ApplyRange(s, ref, e, old_lo, lo, -1);
          if (m.NeedsRebuild()) {
            // Rounding has caught up with the variance (removals cancelled
            // most of it): recompute it from the window's entries (the event
            // itself, at end - 1, joins below).
            m = Moments();
            ApplyRange(s, ref, e, lo, end - 1, +1);
          }
          if (present) m.Add(SlotAsDouble(slots[ref.slot], ref.type));
          break;
        }
        case StateKind::kMin:
        case StateKind::kMax: {
          if (ref.owner >= 0) break;  // a longer window's deque
          auto& dq = *std::get_if<MonotonicDeque>(&s);
          dq.EvictBefore(EventTime::FromMicros(lo_bound));
          if (present) dq.PushBack(t, seq, SlotAsDouble(slots[ref.slot], ref.type));
          break;
        }
        case StateKind::kCounts:
          if (lo > old_lo) ApplyRange(s, ref, e, old_lo, lo, -1);
          if (present) (*std::get_if<CountsPtr>(&s))->Add(slots[ref.slot]);
          break;
        case StateKind::kSketch:
          if (lo > old_lo) ApplyRange(s, ref, e, old_lo, lo, -1);
          if (present) (*std::get_if<SketchPtr>(&s))->Add(SlotAsDouble(slots[ref.slot], ref.type));
          break;
        case StateKind::kDecay:
          if (lo > old_lo) ApplyRange(s, ref, e, old_lo, lo, -1);
          if (present) {
            std::get_if<DecayedSum>(&s)->Add(SlotAsDouble(slots[ref.slot], ref.type), t,
                                             ref.half_life);
          }
          break;
      }
    }
    for (size_t i : plan.outputs) {
      const OutputPlan& o = outputs_[i];
      // The common kinds inline; Extract has the rest.
      switch (o.kind) {
        case AggKind::kCount:
          out[i].SetInt(*std::get_if<int64_t>(&states[o.state]));
          break;
        case AggKind::kSum:
          out[i].SetDouble(std::get_if<Moments>(&states[o.state])->sum());
          break;
        case AggKind::kMin:
        case AggKind::kMax: {
          EventTime bt;
          double bv;
          if (BestOfFrontier(ks, plan.states[o.state], states[o.state],
                             EventTime::FromMicros(lo_bound), bt, bv)) {
            out[i].SetDouble(bv);
          } else {
            out[i].SetNull();
          }
          break;
        }
        case AggKind::kLast:
          ExtractLast(o, ks, lo, end, nullptr, 0, out[i]);
          break;
        default:
          Extract(o, states[o.state], t, out[i]);
          break;
      }
    }
  }
}

void AsOfGroup::OnOutOfOrder(KeyState& ks, EventTime t, uint64_t seq, uint64_t nulls,
                             std::span<FeatureValue> out) {
  ++out_of_order_;
  Entries& e = ks.entries;
  const size_t end = e.end;
  const size_t hi = UpperBound(e, e.head, end, t.micros());
  const uint64_t* slots = event_slots_.data();
  for (size_t w : exact_windows_) {
    const WindowPlan& plan = windows_[w];
    State* frontier = ks.states.data() + plan.state_offset;
    State* scratch = scratch_.data() + plan.state_offset;
    // The event's window is [lo, hi) plus the event; the frontier's running
    // states hold [flo, end), flo >= lo (the frontier starts later).
    const size_t lo = LowerBound(e, e.head, hi, (t - plan.length).micros());
    const size_t flo = ks.frontier(plan.index).lo;
    // From the frontier: take out (t, T] = [hi, end), add [t - w, T - w) =
    // [lo, flo). Chosen when that is less work than [lo, hi) from scratch;
    // the choice depends on the entries only (never on watermarks).
    const bool delta = hi >= flo && (end - hi) + (flo - lo) < hi - lo;
    in_place_.assign(plan.states.size(), 0);
    for (size_t i = 0; i < plan.states.size(); ++i) {
      const StateRef& ref = plan.states[i];
      const bool present = ref.slot < 0 || !((nulls >> ref.slot) & 1);
      State& s = scratch[i];
      switch (ref.kind) {
        case StateKind::kCount:
          if (delta) {
            *std::get_if<int64_t>(&s) = *std::get_if<int64_t>(&frontier[i]);
            ApplyRange(s, ref, e, hi, end, -1);
            ApplyRange(s, ref, e, lo, flo, +1);
          } else {
            *std::get_if<int64_t>(&s) = 0;
            ApplyRange(s, ref, e, lo, hi, +1);
          }
          if (present) ++*std::get_if<int64_t>(&s);
          break;
        case StateKind::kMoments: {
          Moments& m = *std::get_if<Moments>(&s);
          bool fresh = true;
          if (delta) {
            m = *std::get_if<Moments>(&frontier[i]);
            ApplyRange(s, ref, e, hi, end, -1);
            ApplyRange(s, ref, e, lo, flo, +1);
            // Removals may have cancelled most of the variance: then
            // compute it afresh, as the running state would be rebuilt.
            fresh = m.NeedsRebuild();
          }
          if (fresh) {
            m = Moments();
            ApplyRange(s, ref, e, lo, hi, +1);
          }
          if (present) m.Add(SlotAsDouble(slots[ref.slot], ref.type));
          break;
        }
        case StateKind::kMin:
        case StateKind::kMax: {
          // Exact whichever way it is found. The frontier's extreme covers
          // [flo, end); if it lies at or before t it is also the extreme of
          // [flo, hi).
          EventTime bt;
          double bv;
          const bool found =
              BestOfFrontier(ks, ref, frontier[i], ks.max_time - plan.length, bt, bv);
          std::optional<double> best;
          if (!found || bt <= t) {
            if (found) best = bv;
            ScanExtreme(ref, e, lo, std::min(flo, hi), best);
          } else {
            ScanExtreme(ref, e, lo, hi, best);
          }
          if (present) {
            const double x = SlotAsDouble(slots[ref.slot], ref.type);
            if (!best || (ref.kind == StateKind::kMax ? x > *best : x < *best)) best = x;
          }
          auto& dq = *std::get_if<MonotonicDeque>(&s);
          dq.Clear();
          if (best) dq.PushBack(t, 0, *best);
          break;
        }
        case StateKind::kCounts:
        case StateKind::kSketch:
          if (delta) {
            // Exact integer counts: computed in the frontier's own state,
            // and undone once extracted (no copy of a map or of bins).
            in_place_[i] = 1;
            State& f = frontier[i];
            ApplyRange(f, ref, e, lo, flo, +1);
            ApplyRange(f, ref, e, hi, end, -1);
            if (present) AddToStates({&f, 1}, {&ref, 1}, slots, nulls, t, seq, Insert::kInOrder);
          } else {
            if (ref.kind == StateKind::kCounts) {
              (*std::get_if<CountsPtr>(&s))->Clear();
            } else {
              (*std::get_if<SketchPtr>(&s))->Clear();
            }
            ApplyRange(s, ref, e, lo, hi, +1);
            if (present) AddToStates({&s, 1}, {&ref, 1}, slots, nulls, t, seq, Insert::kInOrder);
          }
          break;
        case StateKind::kDecay:
          // Always from scratch: taking out values later than t would leave
          // rounding residue of their (larger) weights.
          s = DecayedSum();
          ApplyRange(s, ref, e, lo, hi, +1);
          if (present) {
            std::get_if<DecayedSum>(&s)->Add(SlotAsDouble(slots[ref.slot], ref.type), t,
                                             ref.half_life);
          }
          break;
      }
    }
    for (size_t i : plan.outputs) {
      const OutputPlan& o = outputs_[i];
      if (o.kind == AggKind::kLast) {
        ExtractLast(o, ks, lo, hi, slots, nulls, out[i]);
      } else {
        const size_t si = static_cast<size_t>(o.state);
        Extract(o, in_place_[si] ? frontier[si] : scratch[si], t, out[i]);
      }
    }
    // Undo the in-place computations.
    for (size_t i = 0; i < plan.states.size(); ++i) {
      if (!in_place_[i]) continue;
      const StateRef& ref = plan.states[i];
      State& f = frontier[i];
      if (ref.slot < 0 || !((nulls >> ref.slot) & 1)) {
        if (ref.kind == StateKind::kCounts) {
          (*std::get_if<CountsPtr>(&f))->Remove(slots[ref.slot]);
        } else {
          (*std::get_if<SketchPtr>(&f))->Remove(SlotAsDouble(slots[ref.slot], ref.type));
        }
      }
      ApplyRange(f, ref, e, hi, end, +1);
      ApplyRange(f, ref, e, lo, flo, -1);
    }
  }
  // Insert the event in order and add it to the frontier windows it falls
  // in.
  e.words.insert(e.words.begin() + static_cast<ptrdiff_t>(hi * stride_), stride_, 0);
  WriteEntry(e.words.data() + hi * stride_, t, nulls);
  ++e.end;
  if (hi == e.head) ks.oldest = t.micros();
  for (size_t w : exact_windows_) {
    const WindowPlan& plan = windows_[w];
    Frontier& f = ks.frontier(plan.index);
    if (t < ks.max_time - plan.length) {
      if (hi <= f.lo) ++f.lo;
      continue;
    }
    if (hi < f.lo) ++f.lo;                   // cannot happen for in-window times; kept for safety
    if (hi == f.lo) f.lo_time = t.micros();  // the event is the window's first entry
    std::span<State> states(ks.states.data() + plan.state_offset, plan.states.size());
    AddToStates(states, plan.states, slots, nulls, t, seq, Insert::kOutOfOrder);
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
    const KeyIndex id = expiry_.top().second;
    expiry_.pop();
    EDDY_DCHECK(keys_.live(id));
    KeyState& ks = keys_.value(id);
    if (ks.max_time >= free_before_) {
      expiry_.emplace(ks.max_time.micros(), id);  // still alive
      continue;
    }
    // Nothing of this key can be seen again: release and free it.
    ReleaseKey(ks);
    keys_.Erase(id);
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
  std::vector<KeyIndex> keys;
  keys.reserve(keys_.size());
  keys_.ForEach([&](KeyIndex id) { keys.push_back(id); });
  std::sort(keys.begin(), keys.end(),
            [&](KeyIndex a, KeyIndex b) { return keys_.key(a) < keys_.key(b); });
  const size_t n = fields_.size();
  PutVarint64(out, keys.size());
  for (const KeyIndex id : keys) {
    const KeyState& ks = keys_.value(id);
    PutString(out, keys_.key(id));
    PutSigned(out, ks.max_time.micros());
    PutVarint64(out, ks.next_seq);
    out.push_back(ks.expiry_queued ? 1 : 0);
    const Entries& e = ks.entries;
    PutVarint64(out, e.size());
    for (size_t i = e.head; i < e.end; ++i) {
      const uint64_t* entry = Entry(e, i);
      PutSigned(out, TimeOf(entry));
      PutVarint64(out, entry[1]);
      for (size_t k = 0; k < n; ++k) PutVarint64(out, entry[2 + k]);
    }
    // One frontier start per window, relative to the first entry (0 for
    // tiled windows).
    PutVarint64(out, windows_.size());
    for (const WindowPlan& plan : windows_) {
      const size_t lo = plan.granularity == Duration::Zero() ? ks.frontier(plan.index).lo : 0;
      PutVarint64(out, lo < e.head ? 0 : lo - e.head);
    }
    PutVarint64(out, ks.states.size());
    for (size_t w : exact_windows_) {
      const WindowPlan& plan = windows_[w];
      for (size_t i = 0; i < plan.states.size(); ++i) {
        const StateRef& ref = plan.states[i];
        if (ref.owner < 0) {
          SaveStateValue(ks.states[plan.state_offset + i], out);
          continue;
        }
        // What this window's own deque would hold: the owner's items from
        // the window's start on.
        out.push_back(static_cast<char>(ks.states[plan.state_offset + i].index()));
        std::get_if<MonotonicDeque>(&ks.states[static_cast<size_t>(ref.owner)])
            ->SaveFrom(ks.max_time - plan.length, out);
      }
    }
    // Tiles per window (none for exact windows).
    PutVarint64(out, windows_.size());
    for (const WindowPlan& plan : windows_) {
      if (plan.granularity == Duration::Zero()) {
        PutVarint64(out, 0);
        continue;
      }
      const auto& tiles = ks.tiled[plan.index].tiles;
      PutVarint64(out, tiles.size());
      for (const Tile& tile : tiles) {
        PutSigned(out, tile.start);
        PutVarint64(out, tile.states.size());
        for (const State& s : tile.states) SaveStateValue(s, out);
        // One (time, seq, slot) per field, also when the window keeps none.
        PutVarint64(out, n);
        for (size_t k = 0; k < n; ++k) {
          const LastValue last = k < tile.last.size() ? tile.last[k] : LastValue();
          PutSigned(out, last.time);
          PutVarint64(out, last.seq);
          PutVarint64(out, last.slot);
        }
      }
    }
  }
  // Groups with tiled windows: their running states, key by key in the same
  // order. (Appended after the keys, so that an image without them, from
  // before running tiled states existed, still loads: see RestoreState.)
  if (tiled_windows_.empty()) return;
  for (const KeyIndex id : keys) {
    for (const TiledWindow& tw : keys_.value(id).tiled) {
      PutSigned(out, tw.from);
      for (const State& s : tw.states) SaveStateValue(s, out);
    }
  }
}

Status AsOfGroup::RestoreState(std::string_view bytes) {
  // ByteReader keeps a view of its description: it must outlive the reader.
  const std::string what = StrCat("checkpoint of feature group ", Quote(name_));
  ByteReader in(bytes, what);
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
  keys_.Clear();
  while (!expiry_.empty()) expiry_.pop();
  const size_t n = fields_.size();
  uint64_t nkeys;
  if (!in.Varint64(nkeys)) return in.status();
  std::vector<KeyIndex> restored;  // in image order
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
    bool inserted;
    const KeyIndex id = keys_.FindOrInsert(key, inserted);
    if (!inserted) return Status::Corruption("a key appears twice in the checkpoint");
    KeyState& ks = keys_.value(id);
    ks.max_time = EventTime::FromMicros(max_time);
    ks.next_seq = next_seq;
    ks.expiry_queued = queued != 0;
    Entries& e = ks.entries;
    e.words.reserve(static_cast<size_t>(size) * stride_);
    for (uint64_t i = 0; i < size; ++i) {
      int64_t t;
      uint64_t nulls;
      if (!in.Signed(t) || !in.Varint64(nulls)) return in.status();
      e.words.push_back(static_cast<uint64_t>(t));
      e.words.push_back(nulls);
      for (size_t k = 0; k < n; ++k) {
        uint64_t slot;
        if (!in.Varint64(slot)) return in.status();
        e.words.push_back(slot);
      }
    }
    e.end = static_cast<size_t>(size);
    ks.oldest = e.size() > 0 ? TimeOf(Entry(e, 0)) : INT64_MAX;
    uint64_t nlo, nstates, ntile_windows;
    if (!in.Varint64(nlo)) return in.status();
    if (nlo != windows_.size()) return Status::Corruption("frontier count does not match");
    if (exact_windows_.size() > kInlineFrontiers) {
      ks.more_frontiers.resize(exact_windows_.size() - kInlineFrontiers);
    }
    for (const WindowPlan& plan : windows_) {
      uint64_t lo;
      if (!in.Varint64(lo)) return in.status();
      if (lo > size) return Status::Corruption("frontier start past the entries");
      if (plan.granularity == Duration::Zero()) {
        Frontier& f = ks.frontier(plan.index);
        f.lo = static_cast<size_t>(lo);
        f.lo_time = f.lo < e.end ? TimeOf(Entry(e, f.lo)) : INT64_MAX;
      }
    }
    if (!in.Varint64(nstates)) return in.status();
    if (nstates != num_states_) return Status::Corruption("state count does not match");
    for (size_t w : exact_windows_) {
      for (const StateRef& ref : windows_[w].states) {
        State s;
        if (!LoadStateValue(s, ref, in)) return in.status();
        if (ref.owner >= 0) s = MakeState(ref);  // the owner's deque has its items
        ks.states.push_back(std::move(s));
      }
    }
    if (!in.Varint64(ntile_windows)) return in.status();
    if (ntile_windows != windows_.size()) return Status::Corruption("tile windows do not match");
    ks.tiled.resize(tiled_windows_.size());
    for (size_t w : tiled_windows_) {
      TiledWindow& tw = ks.tiled[windows_[w].index];
      for (const StateRef& ref : windows_[w].states) tw.states.push_back(MakeState(ref));
    }
    for (const WindowPlan& plan : windows_) {
      uint64_t count;
      if (!in.Varint64(count)) return in.status();
      if (count > in.remaining()) return Status::Corruption("tile count exceeds the checkpoint");
      if (plan.granularity == Duration::Zero()) {
        if (count != 0) return Status::Corruption("tiles for an exact window");
        continue;
      }
      for (uint64_t ti = 0; ti < count; ++ti) {
        Tile tile;
        uint64_t ns, nl;
        if (!in.Signed(tile.start) || !in.Varint64(ns)) return in.status();
        if (ns != plan.states.size()) return Status::Corruption("tile states do not match");
        for (const StateRef& ref : plan.states) {
          State s;
          if (!LoadStateValue(s, ref, in)) return in.status();
          tile.states.push_back(std::move(s));
        }
        if (!in.Varint64(nl)) return in.status();
        if (nl != n) return Status::Corruption("tile last values do not match");
        tile.last.resize(n);
        for (LastValue& last : tile.last) {
          if (!in.Signed(last.time) || !in.Varint64(last.seq) || !in.Varint64(last.slot)) {
            return in.status();
          }
        }
        if (!plan.has_last) tile.last.clear();  // none kept (all INT64_MIN)
        ks.tiled[plan.index].tiles.push_back(std::move(tile));
      }
    }
    if (ks.expiry_queued) expiry_.emplace(ks.max_time.micros(), id);
    restored.push_back(id);
  }
  if (!tiled_windows_.empty()) {
    if (in.at_end()) {
      // An image from before running tiled states: merge them from the
      // tiles of each key's newest window.
      for (const KeyIndex id : restored) {
        KeyState& ks = keys_.value(id);
        for (size_t w : tiled_windows_) {
          const WindowPlan& plan = windows_[w];
          TiledWindow& tw = ks.tiled[plan.index];
          tw.from = AlignDown((ks.max_time - plan.length).micros(), plan.granularity.micros());
          for (size_t i = 0; i < plan.states.size(); ++i) RebuildTiled(tw, plan, i);
        }
      }
    } else {
      for (const KeyIndex id : restored) {
        KeyState& ks = keys_.value(id);
        for (size_t w : tiled_windows_) {
          const WindowPlan& plan = windows_[w];
          TiledWindow& tw = ks.tiled[plan.index];
          if (!in.Signed(tw.from)) return in.status();
          for (size_t i = 0; i < plan.states.size(); ++i) {
            if (!LoadStateValue(tw.states[i], plan.states[i], in)) return in.status();
          }
        }
      }
    }
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
