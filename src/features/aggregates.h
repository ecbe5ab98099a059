// The incremental states behind aggregations. Each is a small value type with
// Add, and where the aggregation is invertible, Remove (as-of windows slide by
// adding new events and removing expired ones); all can Merge (emitted
// windows, session merges, tiles).
//
//   Moments         count, sum, mean, variance/stddev (Welford, with the mean
//                   taken from a Neumaier-compensated sum)
//   MonotonicDeque  min or max over a sliding window, O(1) amortised
//   ValueCounts     exact count_distinct and top-k (value -> count)
//   QuantileSketch  DDSketch with relative accuracy 1%, add/remove/merge
//   DecayedSum      sum of v * 2^(-(t - t_i)/half_life)
//
// Values are passed as Slot: the field's value in a form that identifies it
// (an interned string id, an int, a double's bits). See slot.h.

#ifndef EDDY_FEATURES_AGGREGATES_H_
#define EDDY_FEATURES_AGGREGATES_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/check.h"
#include "base/coding.h"
#include "base/time.h"

namespace eddy {

// Every state has Save (appends an exact binary image, for checkpoints) and
// Load (reads it back; false with the reader's status set on bad input).

class Moments {
 public:
  void Save(std::string& out) const;
  bool Load(ByteReader& in);
  // Add and Remove are inline: they run several times per event.
  void Add(double x);
  void Remove(double x);
  void Merge(const Moments& o);
  // The inverse of Merge: takes out the values of `o`, all of which this
  // state holds. The count is exact and the sum compensated; m2 comes from
  // Chan's formula solved for the part that stays, and its rounding (large
  // when most of m2 leaves) goes into the error bound NeedsRebuild reads.
  // Taking out everything gives exactly a fresh state.
  void Unmerge(const Moments& o);

  int64_t count() const { return n_; }
  double sum() const { return sum_ + comp_; }
  // The compensated sum over the count: within an ulp or two of the exact
  // mean, however long the state's history.
  std::optional<double> mean() const {
    if (n_ == 0) return std::nullopt;
    return mean_;
  }
  // Sample variance (n - 1 denominator); null with fewer than 2 values.
  std::optional<double> variance() const {
    if (n_ < 2) return std::nullopt;
    return std::max(0.0, m2_ / static_cast<double>(n_ - 1));
  }
  // True when the rounding error m2 may carry (a bound kept with every
  // update) is above 2^-30 of it and more than 8 times what a fresh
  // computation over the same values would carry. That happens when removals
  // cancel most of m2 (an outlier left a window of small values; the spread
  // of values like 1e9 + small deltas collapsed) and, slowly, as sliding
  // accumulates rounding. The owner should then rebuild the state from its
  // values. A rebuilt state carries about a fresh error, so it does not
  // trigger again until its error grows ~8-fold: windows of updates later, or
  // after another outlier entered and left. O(1) amortised.
  bool NeedsRebuild() const {
    if (err_ <= 0x1p-30 * m2_) return false;  // accurate to ~1e-9 anyway
    return ErrorAboveFresh();
  }

 private:
  static constexpr double kUnitRoundoff = 0x1p-53;
  void AddToSum(double x);
  void TrackError(double delta, double d2, double mean_before);
  bool ErrorAboveFresh() const;
  int64_t n_ = 0;
  double mean_ = 0, m2_ = 0;
  double err_ = 0;             // bound on the rounding error in m2_ since the state was built
  double sum_ = 0, comp_ = 0;  // Neumaier compensated sum
};

inline void Moments::AddToSum(double x) {
  double t = sum_ + x;
  if (std::fabs(sum_) >= std::fabs(x)) {
    comp_ += (sum_ - t) + x;
  } else {
    comp_ += (x - t) + sum_;
  }
  sum_ = t;
}

// First-order bound of the rounding in one update m2 +-= delta * d2: each
// mean is within an ulp of exact, which both differences inherit (scaled by
// the other factor); the differences, the product and the accumulation round
// once each.
inline void Moments::TrackError(double delta, double d2, double mean_before) {
  err_ += kUnitRoundoff * (3 * std::fabs(delta * d2) + std::fabs(mean_before) * std::fabs(d2) +
                           std::fabs(mean_) * std::fabs(delta) + m2_);
}

// Welford's updates, except that the new mean comes from the compensated sum
// rather than from mean += delta / n: that one rounds on every add and remove,
// its error random-walks with the history of the state, and every later m2
// update inherits it (on 1e9 + U(-1, 1) data, 1e-6 relative error in the
// variance after a few hundred slides, growing without bound).
inline void Moments::Add(double x) {
  AddToSum(x);
  const double mean_before = mean_;
  const double delta = x - mean_before;
  ++n_;
  mean_ = sum() / static_cast<double>(n_);
  const double d2 = x - mean_;
  m2_ += delta * d2;
  if (n_ == 1) {
    err_ = 0;  // mean_ == x and m2_ == 0 exactly
    return;
  }
  TrackError(delta, d2, mean_before);
}

inline void Moments::Remove(double x) {
  EDDY_DCHECK(n_ > 0);
  if (n_ <= 1) {
    *this = Moments();
    return;
  }
  AddToSum(-x);
  const double mean_before = mean_;
  const double delta = x - mean_before;
  --n_;
  mean_ = sum() / static_cast<double>(n_);
  const double d2 = x - mean_;
  m2_ -= delta * d2;
  if (m2_ < 0) m2_ = 0;
  TrackError(delta, d2, mean_before);
}

// Min (kMin) or max over a window of (time, seq)-ordered items. Items are
// usually pushed in time order; InsertOutOfOrder handles the rest.
class MonotonicDeque {
 public:
  void Save(std::string& out) const;
  bool Load(ByteReader& in);
  explicit MonotonicDeque(bool is_max = true) : is_max_(is_max) {}

  void PushBack(EventTime t, uint64_t seq, double v) {
    // Iterators rather than size(): an Item is 24 bytes, and size() divides.
    const auto first = items_.begin() + static_cast<ptrdiff_t>(head_);
    auto last = items_.end();
    while (last != first && Dominates(v, (last - 1)->v)) --last;
    items_.erase(last, items_.end());
    items_.push_back({t, seq, v});
  }
  void InsertOutOfOrder(EventTime t, uint64_t seq, double v);
  // PushBack, except that v is dropped when the newest item has the same
  // time and is at least as good: items of one time leave together, so v
  // could never be the best. (Tiled windows push items at their tile's
  // start: at most one item per tile stays.)
  void PushBackCollapsing(EventTime t, uint64_t seq, double v) {
    if (!empty() && items_.back().t == t && Dominates(items_.back().v, v)) return;
    PushBack(t, seq, v);
  }
  // The best item with time >= `lo`: what a deque over the same values that
  // evicted before `lo` would hold first. False if there is none. Lets a
  // shorter window share the deque of a longer one: its items are exactly
  // those of the longer window's from its own start on. O(log n).
  bool BestFrom(EventTime lo, EventTime& t, double& v) const {
    auto it = std::lower_bound(items_.begin() + static_cast<ptrdiff_t>(head_), items_.end(), lo,
                               [](const Item& x, EventTime l) { return x.t < l; });
    if (it == items_.end()) return false;
    t = it->t;
    v = it->v;
    return true;
  }
  // Save() of the deque that evicted before `lo` (see BestFrom).
  void SaveFrom(EventTime lo, std::string& out) const;
  // Drops items with time < `lo`.
  void EvictBefore(EventTime lo) {
    const auto first = items_.begin() + static_cast<ptrdiff_t>(head_);
    if (first != items_.end() && first->t >= lo) return;  // the common case
    EvictSlow(lo);
  }
  bool empty() const { return items_.begin() + static_cast<ptrdiff_t>(head_) == items_.end(); }
  std::optional<double> best() const {
    if (empty()) return std::nullopt;
    return items_[head_].v;
  }
  // The time of the best item. REQUIRES: !empty().
  EventTime best_time() const { return items_[head_].t; }
  void Clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  struct Item {
    EventTime t;
    uint64_t seq;
    double v;
  };
  // True if `a` is at least as good as `b` (so an older b is dominated).
  bool Dominates(double a, double b) const { return is_max_ ? a >= b : a <= b; }
  void Compact();
  void EvictSlow(EventTime lo);

  bool is_max_;
  std::vector<Item> items_;
  size_t head_ = 0;
};

// Value -> number of occurrences, for exact count_distinct and top-k.
class ValueCounts {
 public:
  void Save(std::string& out) const;
  bool Load(ByteReader& in);
  void Add(uint64_t v, int64_t n = 1);
  void Remove(uint64_t v);
  void Merge(const ValueCounts& o);
  // Takes out the counts of `o` (all held here).
  void Unmerge(const ValueCounts& o);
  int64_t distinct() const { return static_cast<int64_t>(counts_.size()); }
  const std::unordered_map<uint64_t, int64_t>& counts() const { return counts_; }
  bool empty() const { return counts_.empty(); }
  void Clear() { counts_.clear(); }

 private:
  std::unordered_map<uint64_t, int64_t> counts_;
};

// DDSketch (Masson, Rim, Lee, VLDB 2019) with relative accuracy alpha = 1%:
// for any quantile q, the returned value x' satisfies |x' - x| <= alpha * |x|
// where x is the element of rank floor(q * (n - 1)) in sorted order. Values
// with |x| < 1e-12 are counted as zero (returned exactly). Buckets are counts,
// so values can be removed exactly.
class QuantileSketch {
 public:
  void Save(std::string& out) const;
  bool Load(ByteReader& in);
  static constexpr double kRelativeAccuracy = 0.01;

  void Add(double x) { Update(x, 1); }
  void Remove(double x) { Update(x, -1); }
  void Merge(const QuantileSketch& o);
  // Takes out the values of `o` (all held here). Exact: buckets are counts.
  void Unmerge(const QuantileSketch& o);
  int64_t count() const { return count_; }
  // Empties the sketch, keeping its buffers.
  void Clear() {
    positive_.offset = negative_.offset = 0;
    positive_.bins.clear();
    negative_.bins.clear();
    zero_ = count_ = 0;
  }
  // REQUIRES: 0 <= q <= 1. Null when empty.
  std::optional<double> Quantile(double q) const;

 private:
  struct Store {
    int32_t offset = 0;  // index of bins[0]
    std::vector<int64_t> bins;
    void Update(int32_t index, int64_t delta);
  };
  static int32_t Index(double abs_x);
  static double Value(int32_t index);
  void Update(double x, int64_t delta);
  void MergeSigned(const QuantileSketch& o, int64_t sign);

  Store positive_, negative_;
  int64_t zero_ = 0;
  int64_t count_ = 0;
};

// Sum of v_i * 2^(-(t - t_i) / half_life), kept relative to a reference time
// so that adding and removing are O(1). The reference moves forward when
// weights would leave double range (adds far after it, merges with a later
// state). The running sum is compensated (Neumaier), so removing a value
// cancels its add to within second-order rounding, even after large values
// leave; a state whose values have all been removed is exactly empty (reads
// 0), so it equals a fresh one.
class DecayedSum {
 public:
  void Save(std::string& out) const;
  bool Load(ByteReader& in);
  void Add(double v, EventTime t, Duration half_life) { Update(v, t, half_life, 1); }
  void Remove(double v, EventTime t, Duration half_life) { Update(-v, t, half_life, -1); }
  void Merge(const DecayedSum& o, Duration half_life);
  // Takes out the values of `o` (all held here), like removing them one by
  // one: a state whose values are all gone is exactly empty.
  void Unmerge(const DecayedSum& o, Duration half_life);
  // The decayed sum as seen at time `t`.
  double ValueAt(EventTime t, Duration half_life) const;
  bool empty() const { return count_ == 0; }

 private:
  void Update(double v, EventTime t, Duration half_life, int64_t delta);
  void Accumulate(double x);
  void MergeScaled(const DecayedSum& o, Duration half_life, double sign);
  int64_t count_ = 0;  // values added minus values removed
  EventTime ref_;
  double acc_ = 0, comp_ = 0;  // the sum at ref_, and its compensation
};

}  // namespace eddy

#endif  // EDDY_FEATURES_AGGREGATES_H_
