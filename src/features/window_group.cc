#include "features/window_group.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "base/coding.h"
#include "base/strings.h"

namespace eddy {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

WindowGroup::~WindowGroup() = default;

Result<std::unique_ptr<WindowGroup>> WindowGroup::Create(const FeatureGroupSpec& spec,
                                                         const SourceSpec& source,
                                                         const Schema& schema) {
  std::unique_ptr<WindowGroup> g(new WindowGroup());
  g->name_ = spec.name;
  g->window_ = spec.window;
  g->allowed_lateness_ = source.watermark.allowed_lateness;
  auto group_error = [&](std::string_view msg) {
    return Status::InvalidArgument(
        StrCat(spec.where, ": feature group ", Quote(spec.name), ": ", msg));
  };
  switch (spec.window.kind) {
    case WindowKind::kTumbling:
      if (spec.window.size <= Duration::Zero())
        return group_error("a tumbling window needs a positive size");
      break;
    case WindowKind::kHopping:
      if (spec.window.size <= Duration::Zero() || spec.window.slide <= Duration::Zero()) {
        return group_error("a hopping window needs a positive size and slide");
      }
      if (spec.window.slide > spec.window.size) {
        return group_error(
            "a hopping window's slide must not exceed its size (events between "
            "windows would be lost)");
      }
      break;
    case WindowKind::kSession:
      if (spec.window.gap <= Duration::Zero())
        return group_error("a session window needs a positive gap");
      break;
    case WindowKind::kAsOf:
      return group_error("not an emitted-window group");
  }
  for (const AggregationSpec& a : spec.aggregations) {
    auto fail = [&](std::string_view msg) {
      return Status::InvalidArgument(StrCat(a.where, ": feature group ", Quote(spec.name),
                                            ", aggregation ", Quote(a.name), ": ", msg));
    };
    if (a.window != Duration::Zero() || a.granularity != Duration::Zero()) {
      return fail(
          "aggregations of a windowed group take the group's window; remove "
          "`window`/`granularity` here");
    }
    Agg agg{a.kind, -1, FieldType::kString, a.quantile, a.k, a.half_life};
    if (!a.field.empty()) {
      int idx = schema.Lookup(a.field);
      if (idx < 0) {
        return fail(StrCat("unknown field ", Quote(a.field), " (not in the schema of source ",
                           Quote(source.name), ")"));
      }
      agg.row_index = idx;
      agg.type = schema.field(static_cast<size_t>(idx)).type;
      bool numeric = a.kind == AggKind::kSum || a.kind == AggKind::kMean ||
                     a.kind == AggKind::kMin || a.kind == AggKind::kMax ||
                     a.kind == AggKind::kVariance || a.kind == AggKind::kStddev ||
                     a.kind == AggKind::kQuantile || a.kind == AggKind::kDecayedSum;
      if (numeric && agg.type == FieldType::kString) {
        return fail(StrCat(AggKindName(a.kind), " needs a numeric field; ", Quote(a.field),
                           " is a string"));
      }
    } else if (a.kind != AggKind::kCount) {
      return fail(StrCat(AggKindName(a.kind), " needs a field"));
    }
    g->aggs_.push_back(agg);
    g->names_.push_back(a.name);
  }
  g->values_.resize(g->aggs_.size());
  return g;
}

int64_t WindowGroup::EndOf(const Instance& w) const {
  switch (window_.kind) {
    case WindowKind::kTumbling:
    case WindowKind::kHopping:
      return w.start + window_.size.micros();
    case WindowKind::kSession:
      return w.last + window_.gap.micros();
    case WindowKind::kAsOf:
      break;
  }
  return w.start;
}

WindowGroup::Instance WindowGroup::NewInstance(int64_t start) const {
  Instance w;
  w.start = start;
  w.last = start;
  w.accs.resize(aggs_.size());
  for (size_t i = 0; i < aggs_.size(); ++i) {
    if (aggs_[i].kind == AggKind::kCountDistinct || aggs_[i].kind == AggKind::kTopK) {
      w.accs[i].counts = std::make_unique<ValueCounts>();
    } else if (aggs_[i].kind == AggKind::kQuantile) {
      w.accs[i].sketch = std::make_unique<QuantileSketch>();
    }
  }
  return w;
}

void WindowGroup::Add(Instance& w, const Row& row, EventTime t, uint64_t seq) {
  for (size_t i = 0; i < aggs_.size(); ++i) {
    const Agg& agg = aggs_[i];
    Acc& a = w.accs[i];
    if (agg.row_index >= 0 && row[static_cast<size_t>(agg.row_index)].is_null()) continue;
    const size_t idx = static_cast<size_t>(agg.row_index);
    switch (agg.kind) {
      case AggKind::kCount:
        ++a.count;
        break;
      case AggKind::kSum:
      case AggKind::kMean:
      case AggKind::kVariance:
      case AggKind::kStddev:
        a.moments.Add(row[idx].AsDouble());
        break;
      case AggKind::kMin:
      case AggKind::kMax: {
        double x = row[idx].AsDouble();
        bool better = agg.kind == AggKind::kMin ? x < a.extreme : x > a.extreme;
        if (!a.has_extreme || better) {
          a.extreme = x;
          a.has_extreme = true;
        }
        break;
      }
      case AggKind::kCountDistinct:
      case AggKind::kTopK:
        a.counts->Add(ToSlot(row, idx, pool_));
        break;
      case AggKind::kQuantile:
        a.sketch->Add(row[idx].AsDouble());
        break;
      case AggKind::kDecayedSum:
        a.decay.Add(row[idx].AsDouble(), t, agg.half_life);
        break;
      case AggKind::kLast:
        if (!a.has_last || t.micros() > a.last_time ||
            (t.micros() == a.last_time && seq > a.last_seq)) {
          if (a.has_last && agg.type == FieldType::kString) pool_.Release(a.last_slot);
          a.last_slot = ToSlot(row, idx, pool_);
          a.last_time = t.micros();
          a.last_seq = seq;
          a.has_last = true;
        }
        break;
    }
  }
  if (t.micros() > w.last) w.last = t.micros();
}

void WindowGroup::MergeInto(Instance& dst, Instance& src) {
  for (size_t i = 0; i < aggs_.size(); ++i) {
    const Agg& agg = aggs_[i];
    Acc& d = dst.accs[i];
    Acc& s = src.accs[i];
    d.count += s.count;
    d.moments.Merge(s.moments);
    if (s.has_extreme) {
      bool better = agg.kind == AggKind::kMin ? s.extreme < d.extreme : s.extreme > d.extreme;
      if (!d.has_extreme || better) {
        d.extreme = s.extreme;
        d.has_extreme = true;
      }
    }
    if (d.counts && s.counts) {
      d.counts->Merge(*s.counts);  // string references move with the counts
      s.counts = std::make_unique<ValueCounts>();
    }
    if (d.sketch && s.sketch) d.sketch->Merge(*s.sketch);
    if (agg.kind == AggKind::kDecayedSum) d.decay.Merge(s.decay, agg.half_life);
    if (s.has_last) {
      if (!d.has_last || s.last_time > d.last_time ||
          (s.last_time == d.last_time && s.last_seq > d.last_seq)) {
        if (d.has_last && agg.type == FieldType::kString) pool_.Release(d.last_slot);
        d.last_time = s.last_time;
        d.last_seq = s.last_seq;
        d.last_slot = s.last_slot;
        d.has_last = true;
      } else if (agg.type == FieldType::kString) {
        pool_.Release(s.last_slot);
      }
      s.has_last = false;
    }
  }
  dst.start = std::min(dst.start, src.start);
  dst.last = std::max(dst.last, src.last);
}

void WindowGroup::ReleaseAcc(Acc& a, const Agg& agg) {
  if (agg.type != FieldType::kString) return;
  if (a.counts) {
    for (const auto& [id, n] : a.counts->counts()) {
      for (int64_t i = 0; i < n; ++i) pool_.Release(id);
    }
    a.counts.reset();
  }
  if (a.has_last) {
    pool_.Release(a.last_slot);
    a.has_last = false;
  }
}

void WindowGroup::Schedule(const std::string& key, const Instance& w) {
  int64_t end = EndOf(w);
  int64_t when = w.fired ? (EventTime::FromMicros(end) + allowed_lateness_).micros() : end;
  timers_.emplace(when, key, w.start);
}

void WindowGroup::Emit(const std::string& key, KeyState& ks, Instance& w, WindowSink& sink) {
  const int64_t end = EndOf(w);
  for (size_t i = 0; i < aggs_.size(); ++i) {
    const Agg& agg = aggs_[i];
    const Acc& a = w.accs[i];
    FeatureValue& out = values_[i];
    switch (agg.kind) {
      case AggKind::kCount:
        out.SetInt(a.count);
        break;
      case AggKind::kSum:
        out.SetDouble(a.moments.sum());
        break;
      case AggKind::kMean: {
        auto m = a.moments.mean();
        m ? out.SetDouble(*m) : out.SetNull();
        break;
      }
      case AggKind::kVariance: {
        auto v = a.moments.variance();
        v ? out.SetDouble(*v) : out.SetNull();
        break;
      }
      case AggKind::kStddev: {
        auto v = a.moments.variance();
        v ? out.SetDouble(std::sqrt(*v)) : out.SetNull();
        break;
      }
      case AggKind::kMin:
      case AggKind::kMax:
        a.has_extreme ? out.SetDouble(a.extreme) : out.SetNull();
        break;
      case AggKind::kCountDistinct:
        out.SetInt(a.counts->distinct());
        break;
      case AggKind::kTopK: {
        std::vector<std::pair<uint64_t, int64_t>> items(a.counts->counts().begin(),
                                                        a.counts->counts().end());
        auto better = [&](const auto& x, const auto& y) {
          if (x.second != y.second) return x.second > y.second;
          return SlotLess(x.first, y.first, agg.type, pool_);
        };
        size_t n = std::min<size_t>(static_cast<size_t>(agg.k), items.size());
        std::partial_sort(items.begin(), items.begin() + static_cast<ptrdiff_t>(n), items.end(),
                          better);
        auto& list = out.SetList();
        for (size_t j = 0; j < n; ++j)
          list.push_back(SlotToString(items[j].first, agg.type, pool_));
        break;
      }
      case AggKind::kQuantile: {
        auto q = a.sketch->Quantile(agg.q);
        q ? out.SetDouble(*q) : out.SetNull();
        break;
      }
      case AggKind::kDecayedSum:
        out.SetDouble(a.decay.ValueAt(EventTime::FromMicros(end), agg.half_life));
        break;
      case AggKind::kLast:
        if (a.has_last) {
          SlotToFeature(a.last_slot, agg.type, pool_, out);
        } else {
          out.SetNull();
        }
        break;
    }
  }
  WindowRow row;
  row.group = name_;
  row.key_json = ks.key_json;
  row.start = EventTime::FromMicros(w.start);
  row.end = EventTime::FromMicros(end);
  row.names = &names_;
  row.values = &values_;
  row.emission = w.emissions;
  for (const auto& [s, e] : w.replaces) {
    row.replaces.emplace_back(EventTime::FromMicros(s), EventTime::FromMicros(e));
  }
  if (w.emissions > 0) ++updates_;
  ++rows_;
  ++w.emissions;
  w.replaces.clear();
  (void)key;
  sink.OnWindowRow(row);
}

void WindowGroup::OnEvent(std::string_view key, std::string_view key_json, EventTime t,
                          const Row& row, WindowSink& sink) {
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    it = keys_.emplace(std::string(key), KeyState()).first;
    it->second.key_json = std::string(key_json);
  }
  const std::string& k = it->first;
  KeyState& ks = it->second;
  const uint64_t seq = next_seq_++;
  const int64_t wm = watermark_.time().micros();
  std::vector<int64_t> touched;

  auto touch = [&](int64_t start) {
    auto [w, inserted] = ks.windows.try_emplace(start, Instance());
    if (inserted) w->second = NewInstance(start);
    Add(w->second, row, t, seq);
    if (inserted) Schedule(k, w->second);
    touched.push_back(start);
  };

  const int64_t tu = t.micros();
  switch (window_.kind) {
    case WindowKind::kTumbling: {
      const int64_t size = window_.size.micros();
      touch(FloorDiv(tu, size) * size);
      break;
    }
    case WindowKind::kHopping: {
      const int64_t size = window_.size.micros(), slide = window_.slide.micros();
      for (int64_t i = FloorDiv(tu - size, slide) + 1; i <= FloorDiv(tu, slide); ++i)
        touch(i * slide);
      break;
    }
    case WindowKind::kSession: {
      const int64_t gap = window_.gap.micros();
      std::vector<int64_t> overlapping;
      for (auto& [start, w] : ks.windows) {
        if (start - gap < tu && tu < w.last + gap) overlapping.push_back(start);
      }
      if (overlapping.empty()) {
        touch(tu);
        break;
      }
      // Merge every session the event touches into the earliest one.
      Instance merged = std::move(ks.windows[overlapping[0]]);
      ks.windows.erase(overlapping[0]);
      std::vector<std::pair<int64_t, int64_t>> fired_parts;
      int fired_emissions_at_start = -1;
      auto note_fired = [&](const Instance& part) {
        if (part.fired || part.emissions > 0) fired_parts.emplace_back(part.start, EndOf(part));
      };
      note_fired(merged);
      for (size_t i = 1; i < overlapping.size(); ++i) {
        Instance part = std::move(ks.windows[overlapping[i]]);
        ks.windows.erase(overlapping[i]);
        note_fired(part);
        for (auto& r : part.replaces) merged.replaces.push_back(r);
        MergeInto(merged, part);
      }
      Add(merged, row, t, seq);
      merged.start = std::min(merged.start, tu);
      // The merged session keeps the identity (key, start); rows emitted for
      // other starts are replaced by it.
      for (const auto& [s, e] : fired_parts) {
        if (s == merged.start) {
          fired_emissions_at_start = std::max(fired_emissions_at_start, 0);
        } else {
          merged.replaces.emplace_back(s, e);
        }
      }
      if (fired_emissions_at_start < 0) merged.emissions = 0;
      merged.fired = merged.fired && EndOf(merged) <= wm;
      int64_t start = merged.start;
      auto [w, inserted] = ks.windows.insert_or_assign(start, std::move(merged));
      (void)inserted;
      Schedule(k, w->second);
      touched.push_back(start);
      break;
    }
    case WindowKind::kAsOf:
      break;
  }
  // A touched window the watermark has already passed is emitted now: an
  // update if it was emitted before, else its first row.
  for (int64_t start : touched) {
    auto w = ks.windows.find(start);
    if (w == ks.windows.end()) continue;
    Instance& inst = w->second;
    if (EndOf(inst) <= wm) {
      inst.fired = true;
      Emit(k, ks, inst, sink);
      Schedule(k, inst);  // cleanup at the (possibly moved) end + allowed_lateness
    }
  }
}

void WindowGroup::OnWatermark(Watermark wm, WindowSink& sink) {
  if (wm <= watermark_) return;
  watermark_ = wm;
  const int64_t now = wm.time().micros();
  while (!timers_.empty() && std::get<0>(timers_.top()) <= now) {
    auto [when, key, start] = timers_.top();
    timers_.pop();
    auto kit = keys_.find(key);
    if (kit == keys_.end()) continue;
    KeyState& ks = kit->second;
    auto wit = ks.windows.find(start);
    if (wit == ks.windows.end()) continue;
    Instance& w = wit->second;
    const int64_t end = EndOf(w);
    if (!w.fired) {
      if (end > now) continue;  // the window grew; a later timer exists
      w.fired = true;
      Emit(key, ks, w, sink);
      Schedule(key, w);  // cleanup
      continue;
    }
    if ((EventTime::FromMicros(end) + allowed_lateness_).micros() > now) continue;
    for (size_t i = 0; i < aggs_.size(); ++i) ReleaseAcc(w.accs[i], aggs_[i]);
    ks.windows.erase(wit);
    if (ks.windows.empty()) keys_.erase(kit);
  }
}

void WindowGroup::SaveState(std::string& out) const {
  PutString(out, name_);
  PutVarint64(out, aggs_.size());
  PutSigned(out, watermark_.time().micros());
  PutVarint64(out, next_seq_);
  PutVarint64(out, updates_);
  PutVarint64(out, rows_);
  pool_.Save(out);
  std::vector<const std::pair<const std::string, KeyState>*> keys;
  for (const auto& kv : keys_) keys.push_back(&kv);
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->first < b->first; });
  PutVarint64(out, keys.size());
  for (const auto* kv : keys) {
    PutString(out, kv->first);
    PutString(out, kv->second.key_json);
    PutVarint64(out, kv->second.windows.size());
    for (const auto& [start, w] : kv->second.windows) {
      PutSigned(out, w.start);
      PutSigned(out, w.last);
      PutSigned(out, w.emissions);
      out.push_back(w.fired ? 1 : 0);
      PutVarint64(out, w.replaces.size());
      for (const auto& [s, e] : w.replaces) {
        PutSigned(out, s);
        PutSigned(out, e);
      }
      for (const Acc& a : w.accs) {
        PutSigned(out, a.count);
        a.moments.Save(out);
        out.push_back(static_cast<char>((a.has_extreme ? 1 : 0) | (a.has_last ? 2 : 0) |
                                        (a.counts ? 4 : 0) | (a.sketch ? 8 : 0)));
        PutDouble(out, a.extreme);
        if (a.counts) a.counts->Save(out);
        if (a.sketch) a.sketch->Save(out);
        a.decay.Save(out);
        PutSigned(out, a.last_time);
        PutVarint64(out, a.last_seq);
        PutVarint64(out, a.last_slot);
      }
    }
  }
}

Status WindowGroup::RestoreState(std::string_view bytes) {
  // ByteReader keeps a view of its description: it must outlive the reader.
  const std::string what = StrCat("checkpoint of feature group ", Quote(name_));
  ByteReader in(bytes, what);
  std::string_view name;
  uint64_t naggs;
  int64_t wm;
  if (!in.String(name) || !in.Varint64(naggs)) return in.status();
  if (name != name_ || naggs != aggs_.size()) {
    return Status::FailedPrecondition(
        StrCat("feature group ", Quote(name_), " changed since the checkpoint; run with --fresh"));
  }
  if (!in.Signed(wm) || !in.Varint64(next_seq_) || !in.Varint64(updates_) || !in.Varint64(rows_)) {
    return in.status();
  }
  if (!pool_.Load(in)) return in.status();
  keys_.clear();
  while (!timers_.empty()) timers_.pop();
  uint64_t nkeys;
  if (!in.Varint64(nkeys)) return in.status();
  for (uint64_t ki = 0; ki < nkeys; ++ki) {
    std::string_view key, key_json;
    uint64_t nwin;
    if (!in.String(key) || !in.String(key_json) || !in.Varint64(nwin)) return in.status();
    if (nwin > in.remaining()) return Status::Corruption("window count exceeds the checkpoint");
    KeyState ks;
    ks.key_json = std::string(key_json);
    for (uint64_t wi = 0; wi < nwin; ++wi) {
      Instance w;
      int64_t emissions;
      uint8_t fired;
      uint64_t nrep;
      if (!in.Signed(w.start) || !in.Signed(w.last) || !in.Signed(emissions) || !in.Byte(fired) ||
          !in.Varint64(nrep)) {
        return in.status();
      }
      w.emissions = static_cast<int>(emissions);
      w.fired = fired != 0;
      if (nrep > in.remaining()) return Status::Corruption("replaces exceed the checkpoint");
      for (uint64_t r = 0; r < nrep; ++r) {
        int64_t s, e;
        if (!in.Signed(s) || !in.Signed(e)) return in.status();
        w.replaces.emplace_back(s, e);
      }
      w.accs.resize(aggs_.size());
      for (Acc& a : w.accs) {
        uint8_t flags;
        if (!in.Signed(a.count) || !a.moments.Load(in) || !in.Byte(flags) ||
            !in.Double(a.extreme)) {
          return in.status();
        }
        a.has_extreme = (flags & 1) != 0;
        a.has_last = (flags & 2) != 0;
        if (flags & 4) {
          a.counts = std::make_unique<ValueCounts>();
          if (!a.counts->Load(in)) return in.status();
        }
        if (flags & 8) {
          a.sketch = std::make_unique<QuantileSketch>();
          if (!a.sketch->Load(in)) return in.status();
        }
        if (!a.decay.Load(in) || !in.Signed(a.last_time) || !in.Varint64(a.last_seq) ||
            !in.Varint64(a.last_slot)) {
          return in.status();
        }
      }
      ks.windows.emplace(w.start, std::move(w));
    }
    auto it = keys_.emplace(std::string(key), std::move(ks)).first;
    for (const auto& [start, w] : it->second.windows) Schedule(it->first, w);
  }
  if (!in.at_end()) return Status::Corruption("trailing bytes in a window group checkpoint");
  watermark_ = Watermark(EventTime::FromMicros(wm));
  return Status::OK();
}

size_t WindowGroup::open_windows() const {
  size_t n = 0;
  for (const auto& [k, ks] : keys_) n += ks.windows.size();
  return n;
}

}  // namespace eddy
