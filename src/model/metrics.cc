#include "model/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace eddy {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kClip = 1e-15;

double Ratio(double a, double b) { return b > 0 ? a / b : kNaN; }

// The order in which a ring buffer of `window` slots, `filled` of them used,
// `next` the slot written next, received its examples: oldest first.
std::vector<size_t> RingOrder(size_t window, size_t filled, size_t next) {
  std::vector<size_t> order;
  order.reserve(filled);
  if (filled < window) {
    for (size_t i = 0; i < filled; ++i) order.push_back(i);
  } else {
    for (size_t i = 0; i < window; ++i) order.push_back((next + i) % window);
  }
  return order;
}

// Reads a ring buffer image (window, filled, next) and checks it.
bool LoadRingShape(ByteReader& in, size_t& window, size_t& filled, size_t& next) {
  uint64_t w, f, n;
  if (!in.Varint64(w) || !in.Varint64(f) || !in.Varint64(n)) return false;
  if (w == 0 || f > w || n >= w || (f < w && n != f) || f > in.remaining()) {
    in.Fail("inconsistent metrics window");
    return false;
  }
  window = static_cast<size_t>(w);
  filled = static_cast<size_t>(f);
  next = static_cast<size_t>(n);
  return true;
}

double LogLoss(double p, bool y) {
  p = std::clamp(p, kClip, 1.0 - kClip);
  return y ? -std::log(p) : -std::log(1.0 - p);
}

}  // namespace

// Sizes below 1 are raised to 1 rather than CHECKed: they come from user
// configuration.
ClassifierMetrics::ClassifierMetrics(size_t window, double threshold, size_t auc_bins)
    : window_(std::max<size_t>(window, 1)),
      threshold_(threshold),
      scores_(window_),
      labels_(window_),
      pos_bins_(std::max<size_t>(auc_bins, 1), 0),
      neg_bins_(std::max<size_t>(auc_bins, 1), 0) {}

void ClassifierMetrics::Add(double score, bool label) {
  if (std::isnan(score)) {
    ++skipped_;
    return;
  }
  scores_[next_] = score;
  labels_[next_] = label ? 1 : 0;
  next_ = (next_ + 1) % window_;
  filled_ = std::min(filled_ + 1, window_);

  const bool predicted = score >= threshold_;
  if (predicted && label) ++total_.tp;
  if (predicted && !label) ++total_.fp;
  if (!predicted && !label) ++total_.tn;
  if (!predicted && label) ++total_.fn;
  total_.log_loss_sum += LogLoss(score, label);
  const size_t bins = pos_bins_.size();
  const double clamped = std::clamp(score, 0.0, 1.0);
  const size_t b = std::min(bins - 1, static_cast<size_t>(clamped * static_cast<double>(bins)));
  (label ? pos_bins_ : neg_bins_)[b] += 1;
}

void ClassifierMetrics::Save(std::string& out) const {
  PutVarint64(out, window_);
  PutVarint64(out, filled_);
  PutVarint64(out, next_);
  for (size_t i = 0; i < filled_; ++i) {
    PutDouble(out, scores_[i]);
    out.push_back(static_cast<char>(labels_[i]));
  }
  for (uint64_t v : {total_.tp, total_.fp, total_.tn, total_.fn}) PutVarint64(out, v);
  PutDouble(out, total_.log_loss_sum);
  // The histogram, sparse: most bins are empty.
  size_t used = 0;
  for (size_t b = 0; b < pos_bins_.size(); ++b) used += (pos_bins_[b] | neg_bins_[b]) != 0;
  PutVarint64(out, pos_bins_.size());
  PutVarint64(out, used);
  for (size_t b = 0; b < pos_bins_.size(); ++b) {
    if ((pos_bins_[b] | neg_bins_[b]) == 0) continue;
    PutVarint64(out, b);
    PutVarint64(out, pos_bins_[b]);
    PutVarint64(out, neg_bins_[b]);
  }
  PutVarint64(out, skipped_);
}

bool ClassifierMetrics::Load(ByteReader& in) {
  size_t window, filled, next;
  if (!LoadRingShape(in, window, filled, next)) return false;
  std::vector<double> scores(filled);
  std::vector<uint8_t> labels(filled);
  for (size_t i = 0; i < filled; ++i) {
    if (!in.Double(scores[i]) || !in.Byte(labels[i])) return false;
  }
  Counts total;
  uint64_t bins, used, skipped;
  if (!in.Varint64(total.tp) || !in.Varint64(total.fp) || !in.Varint64(total.tn) ||
      !in.Varint64(total.fn) || !in.Double(total.log_loss_sum) || !in.Varint64(bins) ||
      !in.Varint64(used)) {
    return false;
  }
  if (bins == 0 || used > bins || used > in.remaining()) {
    in.Fail("inconsistent metrics histogram");
    return false;
  }
  std::vector<uint64_t> pos(pos_bins_.size(), 0), neg(neg_bins_.size(), 0);
  for (uint64_t k = 0; k < used; ++k) {
    uint64_t b, p, n;
    if (!in.Varint64(b) || !in.Varint64(p) || !in.Varint64(n)) return false;
    if (b >= bins) {
      in.Fail("metrics histogram bin out of range");
      return false;
    }
    // Same number of bins: the same bin; else the bin holding its start.
    const size_t to = bins == pos.size()
                          ? static_cast<size_t>(b)
                          : static_cast<size_t>(static_cast<double>(b) / static_cast<double>(bins) *
                                                static_cast<double>(pos.size()));
    pos[std::min(to, pos.size() - 1)] += p;
    neg[std::min(to, neg.size() - 1)] += n;
  }
  if (!in.Varint64(skipped)) return false;

  std::fill(scores_.begin(), scores_.end(), 0.0);
  std::fill(labels_.begin(), labels_.end(), 0);
  if (window == window_) {
    // The exact layout: Window() sums in slot order.
    std::copy(scores.begin(), scores.end(), scores_.begin());
    std::copy(labels.begin(), labels.end(), labels_.begin());
    filled_ = filled;
    next_ = next;
  } else {
    const std::vector<size_t> order = RingOrder(window, filled, next);
    const size_t keep = std::min(order.size(), window_);
    for (size_t i = 0; i < keep; ++i) {
      scores_[i] = scores[order[order.size() - keep + i]];
      labels_[i] = labels[order[order.size() - keep + i]];
    }
    filled_ = keep;
    next_ = keep % window_;
  }
  total_ = total;
  pos_bins_ = std::move(pos);
  neg_bins_ = std::move(neg);
  skipped_ = skipped;
  return true;
}

ClassifierReport ClassifierMetrics::FromCounts(const Counts& c) {
  ClassifierReport r;
  r.count = c.tp + c.fp + c.tn + c.fn;
  r.positives = c.tp + c.fn;
  const double tp = static_cast<double>(c.tp), fp = static_cast<double>(c.fp);
  const double tn = static_cast<double>(c.tn), fn = static_cast<double>(c.fn);
  r.precision = Ratio(tp, tp + fp);
  r.recall = Ratio(tp, tp + fn);
  r.f1 = Ratio(2 * tp, 2 * tp + fp + fn);
  r.false_positive_rate = Ratio(fp, fp + tn);
  r.accuracy = Ratio(tp + tn, static_cast<double>(r.count));
  r.log_loss = Ratio(c.log_loss_sum, static_cast<double>(r.count));
  return r;
}

ClassifierReport ClassifierMetrics::Window() const {
  Counts c;
  std::vector<std::pair<double, uint8_t>> items;
  items.reserve(filled_);
  for (size_t i = 0; i < filled_; ++i) {
    const double s = scores_[i];
    const bool y = labels_[i] != 0;
    const bool predicted = s >= threshold_;
    if (predicted && y) ++c.tp;
    if (predicted && !y) ++c.fp;
    if (!predicted && !y) ++c.tn;
    if (!predicted && y) ++c.fn;
    c.log_loss_sum += LogLoss(s, y);
    items.emplace_back(s, labels_[i]);
  }
  ClassifierReport r = FromCounts(c);
  // Exact AUC: Mann-Whitney U over the sorted window, ties counting half.
  std::sort(items.begin(), items.end());
  double negatives_below = 0, pairs = 0;
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    double pos = 0, neg = 0;
    while (j < items.size() && items[j].first == items[i].first) {
      (items[j].second ? pos : neg) += 1;
      ++j;
    }
    pairs += pos * negatives_below + 0.5 * pos * neg;
    negatives_below += neg;
    i = j;
  }
  const double p = static_cast<double>(r.positives);
  const double n = static_cast<double>(r.count - r.positives);
  r.auc = Ratio(pairs, p * n);
  r.auc_error_bound = 0;
  return r;
}

ClassifierReport ClassifierMetrics::SinceStart() const {
  ClassifierReport r = FromCounts(total_);
  double negatives_below = 0, pairs = 0, same_bin = 0;
  for (size_t b = 0; b < pos_bins_.size(); ++b) {
    const auto pos = static_cast<double>(pos_bins_[b]);
    const auto neg = static_cast<double>(neg_bins_[b]);
    pairs += pos * negatives_below + 0.5 * pos * neg;
    same_bin += pos * neg;
    negatives_below += neg;
  }
  const double p = static_cast<double>(r.positives);
  const double n = static_cast<double>(r.count - r.positives);
  r.auc = Ratio(pairs, p * n);
  r.auc_error_bound = Ratio(0.5 * same_bin, p * n);
  return r;
}

RegressorMetrics::RegressorMetrics(size_t window)
    : window_(std::max<size_t>(window, 1)), errors_(window_) {}

void RegressorMetrics::Add(double prediction, double target) {
  const double e = prediction - target;
  if (std::isnan(e)) {
    ++skipped_;
    return;
  }
  errors_[next_] = e;
  next_ = (next_ + 1) % window_;
  filled_ = std::min(filled_ + 1, window_);
  ++count_;
  abs_sum_ += std::abs(e);
  sq_sum_ += e * e;
}

void RegressorMetrics::Save(std::string& out) const {
  PutVarint64(out, window_);
  PutVarint64(out, filled_);
  PutVarint64(out, next_);
  for (size_t i = 0; i < filled_; ++i) PutDouble(out, errors_[i]);
  PutVarint64(out, count_);
  PutDouble(out, abs_sum_);
  PutDouble(out, sq_sum_);
  PutVarint64(out, skipped_);
}

bool RegressorMetrics::Load(ByteReader& in) {
  size_t window, filled, next;
  if (!LoadRingShape(in, window, filled, next)) return false;
  std::vector<double> errors(filled);
  for (double& e : errors) {
    if (!in.Double(e)) return false;
  }
  uint64_t count, skipped;
  double abs_sum, sq_sum;
  if (!in.Varint64(count) || !in.Double(abs_sum) || !in.Double(sq_sum) || !in.Varint64(skipped)) {
    return false;
  }
  std::fill(errors_.begin(), errors_.end(), 0.0);
  if (window == window_) {
    std::copy(errors.begin(), errors.end(), errors_.begin());
    filled_ = filled;
    next_ = next;
  } else {
    const std::vector<size_t> order = RingOrder(window, filled, next);
    const size_t keep = std::min(order.size(), window_);
    for (size_t i = 0; i < keep; ++i) errors_[i] = errors[order[order.size() - keep + i]];
    filled_ = keep;
    next_ = keep % window_;
  }
  count_ = count;
  abs_sum_ = abs_sum;
  sq_sum_ = sq_sum;
  skipped_ = skipped;
  return true;
}

RegressorReport RegressorMetrics::Window() const {
  RegressorReport r;
  r.count = filled_;
  double abs_sum = 0, sq_sum = 0;
  for (size_t i = 0; i < filled_; ++i) {
    abs_sum += std::abs(errors_[i]);
    sq_sum += errors_[i] * errors_[i];
  }
  r.mae = Ratio(abs_sum, static_cast<double>(filled_));
  r.rmse = std::sqrt(Ratio(sq_sum, static_cast<double>(filled_)));
  return r;
}

RegressorReport RegressorMetrics::SinceStart() const {
  RegressorReport r;
  r.count = count_;
  r.mae = Ratio(abs_sum_, static_cast<double>(count_));
  r.rmse = std::sqrt(Ratio(sq_sum_, static_cast<double>(count_)));
  return r;
}

}  // namespace eddy
