#include "features/aggregates.h"

#include <algorithm>

#include "base/check.h"

namespace eddy {

// ---- Moments ----

void Moments::AddToSum(double x) {
  double t = sum_ + x;
  if (std::fabs(sum_) >= std::fabs(x)) {
    comp_ += (sum_ - t) + x;
  } else {
    comp_ += (x - t) + sum_;
  }
  sum_ = t;
}

void Moments::Add(double x) {
  ++n_;
  double delta = x - mean_;
  mean_ += delta / static_cast<double>(n_);
  m2_ += delta * (x - mean_);
  AddToSum(x);
}

void Moments::Remove(double x) {
  EDDY_DCHECK(n_ > 0);
  if (n_ <= 1) {
    *this = Moments();
    return;
  }
  double delta = x - mean_;
  --n_;
  mean_ -= delta / static_cast<double>(n_);
  m2_ -= delta * (x - mean_);
  if (m2_ < 0) m2_ = 0;
  AddToSum(-x);
}

void Moments::Merge(const Moments& o) {
  if (o.n_ == 0) return;
  if (n_ == 0) {
    *this = o;
    return;
  }
  // Chan et al.'s parallel combination.
  int64_t n = n_ + o.n_;
  double delta = o.mean_ - mean_;
  double nd = static_cast<double>(n);
  mean_ += delta * static_cast<double>(o.n_) / nd;
  m2_ += o.m2_ + delta * delta * static_cast<double>(n_) * static_cast<double>(o.n_) / nd;
  n_ = n;
  AddToSum(o.sum_);
  AddToSum(o.comp_);
}

// ---- MonotonicDeque ----

void MonotonicDeque::Compact() {
  if (head_ > 32 && head_ * 2 > items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
}

void MonotonicDeque::PushBack(EventTime t, uint64_t seq, double v) {
  while (items_.size() > head_ && Dominates(v, items_.back().v)) items_.pop_back();
  items_.push_back({t, seq, v});
}

void MonotonicDeque::InsertOutOfOrder(EventTime t, uint64_t seq, double v) {
  // Position: after every item ordered before (t, seq).
  auto begin = items_.begin() + static_cast<ptrdiff_t>(head_);
  auto pos =
      std::upper_bound(begin, items_.end(), std::make_pair(t, seq),
                       [](const std::pair<EventTime, uint64_t>& key, const Item& it) {
                         return key.first < it.t || (key.first == it.t && key.second < it.seq);
                       });
  // A newer item at least as good dominates the new one.
  if (pos != items_.end() && Dominates(pos->v, v)) return;
  // Older items no better than the new one are dominated by it.
  auto first_dominated = pos;
  while (first_dominated != begin && Dominates(v, (first_dominated - 1)->v)) --first_dominated;
  pos = items_.erase(first_dominated, pos);
  items_.insert(pos, {t, seq, v});
}

void MonotonicDeque::EvictBefore(EventTime lo) {
  while (head_ < items_.size() && items_[head_].t < lo) ++head_;
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
  }
  Compact();
}

// ---- ValueCounts ----

void ValueCounts::Add(uint64_t v, int64_t n) { counts_[v] += n; }

void ValueCounts::Remove(uint64_t v) {
  auto it = counts_.find(v);
  EDDY_DCHECK(it != counts_.end());
  if (it == counts_.end()) return;
  if (--it->second <= 0) counts_.erase(it);
}

void ValueCounts::Merge(const ValueCounts& o) {
  for (const auto& [v, n] : o.counts_) counts_[v] += n;
}

// ---- QuantileSketch ----

namespace {
constexpr double kGamma =
    (1 + QuantileSketch::kRelativeAccuracy) / (1 - QuantileSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);
constexpr double kMinIndexable = 1e-12;
}  // namespace

int32_t QuantileSketch::Index(double abs_x) {
  return static_cast<int32_t>(std::ceil(std::log(abs_x) / kLogGamma));
}

double QuantileSketch::Value(int32_t index) {
  // The midpoint (in relative terms) of bucket (gamma^(i-1), gamma^i].
  return 2.0 * std::pow(kGamma, index) / (kGamma + 1.0);
}

void QuantileSketch::Store::Update(int32_t index, int64_t delta) {
  if (bins.empty()) {
    offset = index;
    bins.assign(1, 0);
  } else if (index < offset) {
    bins.insert(bins.begin(), static_cast<size_t>(offset - index), 0);
    offset = index;
  } else if (index >= offset + static_cast<int32_t>(bins.size())) {
    bins.resize(static_cast<size_t>(index - offset + 1), 0);
  }
  bins[static_cast<size_t>(index - offset)] += delta;
}

void QuantileSketch::Update(double x, int64_t delta) {
  if (!std::isfinite(x)) return;
  count_ += delta;
  double a = std::fabs(x);
  if (a < kMinIndexable) {
    zero_ += delta;
  } else if (x > 0) {
    positive_.Update(Index(a), delta);
  } else {
    negative_.Update(Index(a), delta);
  }
}

void QuantileSketch::Merge(const QuantileSketch& o) {
  for (size_t i = 0; i < o.positive_.bins.size(); ++i) {
    if (o.positive_.bins[i] != 0) {
      positive_.Update(o.positive_.offset + static_cast<int32_t>(i), o.positive_.bins[i]);
    }
  }
  for (size_t i = 0; i < o.negative_.bins.size(); ++i) {
    if (o.negative_.bins[i] != 0) {
      negative_.Update(o.negative_.offset + static_cast<int32_t>(i), o.negative_.bins[i]);
    }
  }
  zero_ += o.zero_;
  count_ += o.count_;
}

std::optional<double> QuantileSketch::Quantile(double q) const {
  if (count_ <= 0) return std::nullopt;
  int64_t rank = static_cast<int64_t>(std::floor(q * static_cast<double>(count_ - 1)));
  int64_t seen = 0;
  // Negative values, most negative first (largest index first).
  for (size_t i = negative_.bins.size(); i-- > 0;) {
    seen += negative_.bins[i];
    if (seen > rank) return -Value(negative_.offset + static_cast<int32_t>(i));
  }
  seen += zero_;
  if (seen > rank) return 0.0;
  for (size_t i = 0; i < positive_.bins.size(); ++i) {
    seen += positive_.bins[i];
    if (seen > rank) return Value(positive_.offset + static_cast<int32_t>(i));
  }
  // Only reachable through rounding of q; return the largest value.
  for (size_t i = positive_.bins.size(); i-- > 0;) {
    if (positive_.bins[i] > 0) return Value(positive_.offset + static_cast<int32_t>(i));
  }
  return 0.0;
}

// ---- DecayedSum ----

void DecayedSum::Update(double v, EventTime t, Duration half_life) {
  const double h = static_cast<double>(half_life.micros());
  if (!has_ref_) {
    has_ref_ = true;
    ref_ = t;
    acc_ = 0;
  }
  double exponent = static_cast<double>((t - ref_).micros()) / h;
  if (exponent > 64) {
    // Rebase so that weights stay within double range.
    acc_ *= std::exp2(-exponent);
    ref_ = t;
    exponent = 0;
  }
  acc_ += v * std::exp2(exponent);
}

void DecayedSum::Merge(const DecayedSum& o, Duration half_life) {
  if (!o.has_ref_) return;
  if (!has_ref_) {
    *this = o;
    return;
  }
  const double h = static_cast<double>(half_life.micros());
  acc_ += o.acc_ * std::exp2(static_cast<double>((o.ref_ - ref_).micros()) / h);
}

double DecayedSum::ValueAt(EventTime t, Duration half_life) const {
  if (!has_ref_) return 0;
  const double h = static_cast<double>(half_life.micros());
  return acc_ * std::exp2(-static_cast<double>((t - ref_).micros()) / h);
}

}  // namespace eddy
