#include "features/aggregates.h"

#include <algorithm>

#include "base/check.h"

namespace eddy {

// ---- Moments ----

bool Moments::ErrorAboveFresh() const {
  // What adding the same values to a fresh state would carry: the same terms
  // summed over the values, with sum |x - mean| <= sqrt(n * m2), plus the
  // rounding of the mean itself when the values are all (nearly) equal.
  const double n = static_cast<double>(n_);
  const double mean = std::fabs(mean_);
  const double fresh = kUnitRoundoff * (4 * mean * std::sqrt(n * m2_) + (n + 3) * m2_ +
                                        4 * n * kUnitRoundoff * mean * mean);
  return err_ > 8 * fresh;
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
  m2_ += o.m2_ + delta * delta * static_cast<double>(n_) * static_cast<double>(o.n_) / nd;
  n_ = n;
  err_ += o.err_ + kUnitRoundoff * (4 * m2_ + std::fabs(mean_) * std::fabs(delta));
  AddToSum(o.sum_);
  AddToSum(o.comp_);
  mean_ = sum() / nd;
}

void Moments::Unmerge(const Moments& o) {
  if (o.n_ == 0) return;
  EDDY_DCHECK(o.n_ <= n_);
  if (o.n_ >= n_) {
    *this = Moments();
    return;
  }
  const double m2_before = m2_;
  AddToSum(-o.sum_);
  AddToSum(-o.comp_);
  n_ -= o.n_;
  const double stay = static_cast<double>(n_), leave = static_cast<double>(o.n_);
  mean_ = sum() / stay;
  // m2 = m2' + o.m2 + delta^2 * n' * o.n / n, with delta = o.mean - mean'.
  const double delta = o.mean_ - mean_;
  const double w = stay * leave / (stay + leave);
  const double corr = delta * delta * w;
  m2_ = m2_before - o.m2_ - corr;
  if (m2_ < 0) m2_ = 0;
  // Rounding: the two subtractions (relative to what they cancel), the
  // product, and delta, which inherits an ulp of each mean.
  err_ += o.err_ + kUnitRoundoff * (2 * m2_before + 2 * o.m2_ + 4 * corr +
                                    2 * std::fabs(delta) * w *
                                        (std::fabs(o.mean_) + std::fabs(mean_) + std::fabs(delta)));
}

// ---- MonotonicDeque ----

void MonotonicDeque::Compact() {
  if (head_ > 32 && head_ * 2 > items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
}

void MonotonicDeque::EvictSlow(EventTime lo) {
  while (head_ < items_.size() && items_[head_].t < lo) ++head_;
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
  }
  Compact();
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

void ValueCounts::Unmerge(const ValueCounts& o) {
  for (const auto& [v, n] : o.counts_) {
    auto it = counts_.find(v);
    EDDY_DCHECK(it != counts_.end() && it->second >= n);
    if (it == counts_.end()) continue;
    it->second -= n;
    if (it->second <= 0) counts_.erase(it);
  }
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

void QuantileSketch::Merge(const QuantileSketch& o) { MergeSigned(o, 1); }

void QuantileSketch::Unmerge(const QuantileSketch& o) { MergeSigned(o, -1); }

void QuantileSketch::MergeSigned(const QuantileSketch& o, int64_t sign) {
  for (size_t i = 0; i < o.positive_.bins.size(); ++i) {
    if (o.positive_.bins[i] != 0) {
      positive_.Update(o.positive_.offset + static_cast<int32_t>(i), sign * o.positive_.bins[i]);
    }
  }
  for (size_t i = 0; i < o.negative_.bins.size(); ++i) {
    if (o.negative_.bins[i] != 0) {
      negative_.Update(o.negative_.offset + static_cast<int32_t>(i), sign * o.negative_.bins[i]);
    }
  }
  zero_ += sign * o.zero_;
  count_ += sign * o.count_;
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

void DecayedSum::Accumulate(double x) {
  double t = acc_ + x;
  if (std::fabs(acc_) >= std::fabs(x)) {
    comp_ += (acc_ - t) + x;
  } else {
    comp_ += (x - t) + acc_;
  }
  acc_ = t;
}

void DecayedSum::Update(double v, EventTime t, Duration half_life, int64_t delta) {
  const double h = static_cast<double>(half_life.micros());
  if (count_ == 0) {
    ref_ = t;
    acc_ = comp_ = 0;
  }
  count_ += delta;
  if (count_ == 0) {
    // Every value is gone: drop the rounding residue.
    acc_ = comp_ = 0;
    return;
  }
  double exponent = static_cast<double>((t - ref_).micros()) / h;
  if (exponent > 64) {
    // Rebase so that weights stay within double range.
    const double f = std::exp2(-exponent);
    acc_ *= f;
    comp_ *= f;
    ref_ = t;
    exponent = 0;
  }
  Accumulate(v * std::exp2(exponent));
}

void DecayedSum::Merge(const DecayedSum& o, Duration half_life) {
  if (o.count_ == 0) return;
  if (count_ == 0) {
    *this = o;
    return;
  }
  MergeScaled(o, half_life, 1);
}

void DecayedSum::Unmerge(const DecayedSum& o, Duration half_life) {
  if (o.count_ == 0) return;
  EDDY_DCHECK(o.count_ <= count_);
  if (o.count_ >= count_) {
    *this = DecayedSum();
    return;
  }
  MergeScaled(o, half_life, -1);
}

void DecayedSum::MergeScaled(const DecayedSum& o, Duration half_life, double sign) {
  // Scale towards the later reference, so that no weight exceeds 1 (a
  // factor of 2^((o.ref - ref) / h) overflows after 1024 half-lives).
  const double h = static_cast<double>(half_life.micros());
  if (o.ref_ > ref_) {
    const double f = std::exp2(-static_cast<double>((o.ref_ - ref_).micros()) / h);
    acc_ *= f;
    comp_ *= f;
    ref_ = o.ref_;
    Accumulate(sign * o.acc_);
    Accumulate(sign * o.comp_);
  } else {
    const double f = std::exp2(-static_cast<double>((ref_ - o.ref_).micros()) / h);
    Accumulate(sign * o.acc_ * f);
    Accumulate(sign * o.comp_ * f);
  }
  count_ += static_cast<int64_t>(sign) * o.count_;
}

double DecayedSum::ValueAt(EventTime t, Duration half_life) const {
  if (count_ == 0) return 0;
  const double h = static_cast<double>(half_life.micros());
  return (acc_ + comp_) * std::exp2(-static_cast<double>((t - ref_).micros()) / h);
}

// ---- Checkpoint images ----

void Moments::Save(std::string& out) const {
  PutSigned(out, n_);
  for (double d : {mean_, m2_, err_, sum_, comp_}) PutDouble(out, d);
}

bool Moments::Load(ByteReader& in) {
  return in.Signed(n_) && in.Double(mean_) && in.Double(m2_) && in.Double(err_) &&
         in.Double(sum_) && in.Double(comp_);
}

void MonotonicDeque::Save(std::string& out) const {
  out.push_back(is_max_ ? 1 : 0);
  PutVarint64(out, items_.size() - head_);
  for (size_t i = head_; i < items_.size(); ++i) {
    PutSigned(out, items_[i].t.micros());
    PutVarint64(out, items_[i].seq);
    PutDouble(out, items_[i].v);
  }
}

void MonotonicDeque::SaveFrom(EventTime lo, std::string& out) const {
  size_t first = head_;
  while (first < items_.size() && items_[first].t < lo) ++first;
  out.push_back(is_max_ ? 1 : 0);
  PutVarint64(out, items_.size() - first);
  for (size_t i = first; i < items_.size(); ++i) {
    PutSigned(out, items_[i].t.micros());
    PutVarint64(out, items_[i].seq);
    PutDouble(out, items_[i].v);
  }
}

bool MonotonicDeque::Load(ByteReader& in) {
  uint8_t is_max;
  uint64_t n;
  if (!in.Byte(is_max) || !in.Varint64(n)) return false;
  if (n > in.remaining()) {
    in.Fail("deque size exceeds the input");
    return false;
  }
  is_max_ = is_max != 0;
  items_.clear();
  head_ = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t t;
    uint64_t seq;
    double v;
    if (!in.Signed(t) || !in.Varint64(seq) || !in.Double(v)) return false;
    items_.push_back({EventTime::FromMicros(t), seq, v});
  }
  return true;
}

void ValueCounts::Save(std::string& out) const {
  // Sorted, so that a checkpoint is a function of the state alone.
  std::vector<std::pair<uint64_t, int64_t>> items(counts_.begin(), counts_.end());
  std::sort(items.begin(), items.end());
  PutVarint64(out, items.size());
  for (const auto& [v, n] : items) {
    PutVarint64(out, v);
    PutSigned(out, n);
  }
}

bool ValueCounts::Load(ByteReader& in) {
  uint64_t n;
  if (!in.Varint64(n)) return false;
  if (n > in.remaining()) {
    in.Fail("count map size exceeds the input");
    return false;
  }
  counts_.clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t v;
    int64_t c;
    if (!in.Varint64(v) || !in.Signed(c)) return false;
    counts_[v] = c;
  }
  return true;
}

void QuantileSketch::Save(std::string& out) const {
  for (const Store* st : {&positive_, &negative_}) {
    PutSigned(out, st->offset);
    PutVarint64(out, st->bins.size());
    for (int64_t b : st->bins) PutSigned(out, b);
  }
  PutSigned(out, zero_);
  PutSigned(out, count_);
}

bool QuantileSketch::Load(ByteReader& in) {
  for (Store* st : {&positive_, &negative_}) {
    int64_t offset;
    uint64_t n;
    if (!in.Signed(offset) || !in.Varint64(n)) return false;
    if (n > in.remaining()) {
      in.Fail("sketch size exceeds the input");
      return false;
    }
    st->offset = static_cast<int32_t>(offset);
    st->bins.assign(static_cast<size_t>(n), 0);
    for (int64_t& b : st->bins) {
      if (!in.Signed(b)) return false;
    }
  }
  return in.Signed(zero_) && in.Signed(count_);
}

void DecayedSum::Save(std::string& out) const {
  PutSigned(out, count_);
  PutSigned(out, ref_.micros());
  PutDouble(out, acc_);
  PutDouble(out, comp_);
}

bool DecayedSum::Load(ByteReader& in) {
  int64_t ref;
  if (!in.Signed(count_) || !in.Signed(ref) || !in.Double(acc_) || !in.Double(comp_)) return false;
  ref_ = EventTime::FromMicros(ref);
  return true;
}

}  // namespace eddy
