#include "model/online_learner.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <variant>

#include "base/strings.h"

namespace eddy {
namespace {

// ---------------------------------------------------------------------------
// The option table.

using Member = std::variant<double OnlineLearnerOptions::*, bool OnlineLearnerOptions::*,
                            int OnlineLearnerOptions::*, uint32_t OnlineLearnerOptions::*,
                            Link OnlineLearnerOptions::*, Optimizer OnlineLearnerOptions::*,
                            LearningRateSchedule OnlineLearnerOptions::*>;

struct Row {
  LearnerOptionSpec spec;
  Member member;
  double min;
  double max;
  bool min_exclusive;
  bool max_exclusive = false;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

const Row kRows[] = {
    {{"link", "enum", "logistic", "identity|logistic",
      "identity: linear regression (squared loss); logistic: logistic regression (log loss), "
      "labels in [0, 1]"},
     &OnlineLearnerOptions::link,
     0,
     0,
     false},
    {{"optimizer", "enum", "ftrl", "sgd|adagrad|adam|ftrl", "the per-coordinate update rule"},
     &OnlineLearnerOptions::optimizer,
     0,
     0,
     false},
    {{"learning_rate", "number", "0.05", "", "step size of sgd, adagrad and adam (> 0)"},
     &OnlineLearnerOptions::learning_rate,
     0,
     kInf,
     true},
    {{"schedule", "enum", "constant", "constant|inverse_scaling",
      "constant: eta_t = learning_rate; inverse_scaling: eta_t = learning_rate / (t + 1)^power_t "
      "(sgd, adagrad, adam)"},
     &OnlineLearnerOptions::schedule,
     0,
     0,
     false},
    {{"power_t", "number", "0.5", "", "exponent of inverse_scaling (>= 0)"},
     &OnlineLearnerOptions::power_t,
     0,
     kInf,
     false},
    {{"l1", "number", "0", "",
      "L1 strength (>= 0): proximal soft-threshold for sgd/adagrad/adam, lambda1 for ftrl"},
     &OnlineLearnerOptions::l1,
     0,
     kInf,
     false},
    {{"l2", "number", "0", "",
      "L2 strength (>= 0): l2 * w added to the gradient for sgd/adagrad/adam, lambda2 for ftrl"},
     &OnlineLearnerOptions::l2,
     0,
     kInf,
     false},
    {{"adam_beta1", "number", "0.9", "", "adam first-moment decay, in [0, 1)"},
     &OnlineLearnerOptions::adam_beta1,
     0,
     1,
     false,
     true},
    {{"adam_beta2", "number", "0.999", "", "adam second-moment decay, in [0, 1)"},
     &OnlineLearnerOptions::adam_beta2,
     0,
     1,
     false,
     true},
    {{"epsilon", "number", "1e-08", "", "added to the adagrad and adam denominators (> 0)"},
     &OnlineLearnerOptions::epsilon,
     0,
     kInf,
     true},
    {{"ftrl_alpha", "number", "0.05", "", "ftrl per-coordinate learning rate alpha (> 0)"},
     &OnlineLearnerOptions::ftrl_alpha,
     0,
     kInf,
     true},
    {{"ftrl_beta", "number", "1", "", "ftrl beta (>= 0)"},
     &OnlineLearnerOptions::ftrl_beta,
     0,
     kInf,
     false},
    {{"standardize", "bool", "true", "",
      "standardise numeric features with their running mean and standard deviation"},
     &OnlineLearnerOptions::standardize,
     0,
     0,
     false},
    {{"fit_intercept", "bool", "true", "", "learn a bias term"},
     &OnlineLearnerOptions::fit_intercept,
     0,
     0,
     false},
    {{"hash_bits", "integer", "18", "",
      "hashed weights: 2^hash_bits of them, in [0, 24]; 0 turns hashing off"},
     &OnlineLearnerOptions::hash_bits,
     0,
     24,
     false},
    {{"hash_seed", "integer", "0", "", "MurmurHash3 seed, in [0, 2^32)"},
     &OnlineLearnerOptions::hash_seed,
     0,
     4294967295.0,
     false},
    {{"signed_hash", "bool", "false", "", "bit 31 of the hash gives the value a sign (+1/-1)"},
     &OnlineLearnerOptions::signed_hash,
     0,
     0,
     false},
};

std::vector<std::string_view> SplitChoices(std::string_view choices) {
  std::vector<std::string_view> out;
  while (true) {
    size_t bar = choices.find('|');
    out.push_back(choices.substr(0, bar));
    if (bar == std::string_view::npos) break;
    choices = choices.substr(bar + 1);
  }
  return out;
}

Status SetOption(OnlineLearnerOptions& o, const Row& row, std::string_view text) {
  const std::string_view key = row.spec.key;
  auto bad = [&](std::string_view expected) {
    return Status::InvalidArgument(
        StrCat("learner option ", key, "=", Quote(text), ": expected ", expected));
  };
  text = Trim(text);
  if (row.spec.type == "enum") {
    auto choices = SplitChoices(row.spec.choices);
    auto it = std::find(choices.begin(), choices.end(), text);
    if (it == choices.end()) return bad(StrCat("one of ", row.spec.choices));
    const auto idx = static_cast<uint8_t>(it - choices.begin());
    std::visit(
        [&](auto m) {
          using T = std::remove_reference_t<decltype(o.*m)>;
          if constexpr (std::is_enum_v<T>) o.*m = static_cast<T>(idx);
        },
        row.member);
    return Status::OK();
  }
  if (row.spec.type == "bool") {
    bool v;
    if (text == "true") {
      v = true;
    } else if (text == "false") {
      v = false;
    } else {
      return bad("true or false");
    }
    o.*std::get<bool OnlineLearnerOptions::*>(row.member) = v;
    return Status::OK();
  }
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
      !std::isfinite(v)) {
    return bad("a number");
  }
  const bool low_ok = row.min_exclusive ? v > row.min : v >= row.min;
  const bool high_ok = row.max_exclusive ? v < row.max : v <= row.max;
  if (!low_ok || !high_ok) {
    return bad(StrCat("a value in ", row.min_exclusive ? "(" : "[", row.min, ", ",
                      row.max == kInf ? "inf" : StrCat(row.max), row.max_exclusive ? ")" : "]"));
  }
  if (row.spec.type == "integer") {
    if (v != std::floor(v)) return bad("an integer");
    if (auto* m = std::get_if<int OnlineLearnerOptions::*>(&row.member)) {
      o.** m = static_cast<int>(v);
    } else {
      o.*std::get<uint32_t OnlineLearnerOptions::*>(row.member) = static_cast<uint32_t>(v);
    }
    return Status::OK();
  }
  o.*std::get<double OnlineLearnerOptions::*>(row.member) = v;
  return Status::OK();
}

std::string GetOption(const OnlineLearnerOptions& o, const Row& row) {
  return std::visit(
      [&](auto m) -> std::string {
        using T = std::remove_cvref_t<decltype(o.*m)>;
        if constexpr (std::is_enum_v<T>) {
          return std::string(SplitChoices(row.spec.choices)[static_cast<size_t>(o.*m)]);
        } else if constexpr (std::is_same_v<T, bool>) {
          return o.*m ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          return StrCat(o.*m);
        } else {
          return StrCat(static_cast<int64_t>(o.*m));
        }
      },
      row.member);
}

// ---------------------------------------------------------------------------
// Little-endian byte encoding for snapshots.

template <typename T>
T ToLittle(T v) {
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
    if constexpr (sizeof(T) == 8) return __builtin_bswap64(v);
  }
  return v;
}

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void F64(double v) { U64(std::bit_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Bytes(std::string_view s) { out_.append(s); }
  std::string& out() { return out_; }

 private:
  template <typename T>
  void Raw(const T* v, size_t n) {
    T x = ToLittle(*v);
    char buf[sizeof(T)];
    std::memcpy(buf, &x, n);
    out_.append(buf, n);
  }
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool U8(uint8_t& v) {
    if (in_.size() < 1) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t& v) { return Raw(v); }
  bool U64(uint64_t& v) { return Raw(v); }
  bool F64(double& v) {
    uint64_t b;
    if (!Raw(b)) return false;
    v = std::bit_cast<double>(b);
    return true;
  }
  bool Str(std::string& s, size_t max_len) {
    uint32_t n;
    if (!U32(n) || n > max_len || n > in_.size()) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  size_t remaining() const { return in_.size(); }

 private:
  template <typename T>
  bool Raw(T& v) {
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(&v, in_.data(), sizeof(T));
    v = ToLittle(v);
    in_.remove_prefix(sizeof(T));
    return true;
  }
  std::string_view in_;
};

constexpr std::string_view kMagic = "EDDYOLRN";

inline double SoftThreshold(double w, double t) {
  if (w > t) return w - t;
  if (w < -t) return w + t;
  return 0.0;
}

}  // namespace

// ---------------------------------------------------------------------------

std::span<const LearnerOptionSpec> LearnerOptionTable() {
  static const std::vector<LearnerOptionSpec> specs = [] {
    std::vector<LearnerOptionSpec> v;
    for (const Row& r : kRows) v.push_back(r.spec);
    return v;
  }();
  return specs;
}

std::string_view OptimizerName(Optimizer o) {
  switch (o) {
    case Optimizer::kSgd:
      return "sgd";
    case Optimizer::kAdaGrad:
      return "adagrad";
    case Optimizer::kAdam:
      return "adam";
    case Optimizer::kFtrl:
      return "ftrl";
  }
  return "?";
}

Status ValidateLearnerOptions(const OnlineLearnerOptions& o) {
  // Every scalar goes through the table's parser, which checks ranges.
  OnlineLearnerOptions copy;
  for (const Row& row : kRows) {
    EDDY_RETURN_IF_ERROR(SetOption(copy, row, GetOption(o, row)));
  }
  for (size_t i = 0; i < o.numeric_features.size(); ++i) {
    if (o.numeric_features[i].empty()) {
      return Status::InvalidArgument(StrCat("numeric feature ", i, " has an empty name"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (o.numeric_features[i] == o.numeric_features[j]) {
        return Status::InvalidArgument(
            StrCat("numeric feature ", Quote(o.numeric_features[i]), " is listed twice"));
      }
    }
  }
  if (o.hash_bits == 0 && !o.hashed_fields.empty()) {
    return Status::InvalidArgument("hashed fields are declared but hash_bits is 0");
  }
  return Status::OK();
}

Result<OnlineLearnerOptions> ParseLearnerOptions(const std::map<std::string, std::string>& settings,
                                                 std::vector<std::string> numeric_features,
                                                 std::vector<std::string> hashed_fields) {
  OnlineLearnerOptions o;
  std::vector<std::string> keys;
  for (const Row& row : kRows) keys.emplace_back(row.spec.key);
  for (const auto& [key, value] : settings) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string msg = StrCat("unknown learner option ", Quote(key));
      std::string suggestion = SuggestName(key, keys);
      if (!suggestion.empty()) StrAppend(msg, " (did you mean ", Quote(suggestion), "?)");
      return Status::InvalidArgument(msg);
    }
  }
  for (const Row& row : kRows) {
    auto it = settings.find(std::string(row.spec.key));
    EDDY_RETURN_IF_ERROR(SetOption(
        o, row, it != settings.end() ? std::string_view(it->second) : row.spec.default_value));
  }
  o.numeric_features = std::move(numeric_features);
  o.hashed_fields = std::move(hashed_fields);
  EDDY_RETURN_IF_ERROR(ValidateLearnerOptions(o));
  return o;
}

std::map<std::string, std::string> LearnerOptionsToMap(const OnlineLearnerOptions& options) {
  std::map<std::string, std::string> out;
  for (const Row& row : kRows) out[std::string(row.spec.key)] = GetOption(options, row);
  return out;
}

std::string LearnerOptionsReference() {
  std::string out = "| option | type | default | description |\n|---|---|---|---|\n";
  for (const Row& row : kRows) {
    std::string type(row.spec.type);
    if (row.spec.type == "enum") {
      // Not "a|b": a '|' would split the Markdown table cell.
      type.clear();
      for (std::string_view c : SplitChoices(row.spec.choices)) {
        StrAppend(type, type.empty() ? "" : ", ", "`", c, "`");
      }
    }
    StrAppend(out, "| `", row.spec.key, "` | ", type, " | `", row.spec.default_value, "` | ",
              row.spec.doc, " |\n");
  }
  return out;
}

// ---------------------------------------------------------------------------

OnlineLearner::OnlineLearner(OnlineLearnerOptions options)
    : options_(std::move(options)),
      hasher_(options_.hash_bits > 0 ? options_.hash_bits : 1, options_.hash_seed,
              options_.signed_hash),
      num_numeric_(options_.numeric_features.size()),
      num_hashed_(options_.hash_bits > 0 ? size_t{1} << options_.hash_bits : 0) {
  coords_.resize(num_numeric_ + num_hashed_ + 1);
  count_.assign(num_numeric_, 0);
  mean_.assign(num_numeric_, 0.0);
  m2_.assign(num_numeric_, 0.0);
  scale_.assign(num_numeric_, 1.0);
}

Result<std::unique_ptr<OnlineLearner>> OnlineLearner::Create(OnlineLearnerOptions options) {
  EDDY_RETURN_IF_ERROR(ValidateLearnerOptions(options));
  try {
    return std::unique_ptr<OnlineLearner>(new OnlineLearner(std::move(options)));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory creating the learner's weights");
  }
}

LinearWeights OnlineLearner::weights() const {
  LinearWeights w;
  w.link = options_.link;
  w.bias = coords_.back().w;
  w.feature_names = options_.numeric_features;
  w.weights.resize(num_numeric_);
  for (size_t i = 0; i < num_numeric_; ++i) w.weights[i] = coords_[i].w;
  w.means = mean_;
  w.scales = scale_;
  w.hashed_fields = options_.hashed_fields;
  w.hash_bits = options_.hash_bits;
  w.hash_seed = options_.hash_seed;
  w.signed_hash = options_.signed_hash;
  w.hashed_weights.resize(num_hashed_);
  for (size_t j = 0; j < num_hashed_; ++j) w.hashed_weights[j] = coords_[num_numeric_ + j].w;
  return w;
}

double OnlineLearner::Predict(std::span<const double> numeric,
                              std::span<const CategoricalValue> categorical) const {
  if (numeric.size() != num_numeric_) return std::numeric_limits<double>::quiet_NaN();
  // The arithmetic of LinearMargin (linear_model.cc), in the same order, so
  // the exported model gives the same bits.
  double m = coords_.back().w;
  for (size_t i = 0; i < num_numeric_; ++i) {
    const double x = numeric[i];
    if (!std::isnan(x)) m += coords_[i].w * ((x - mean_[i]) / scale_[i]);
  }
  if (num_hashed_ > 0) {
    for (const CategoricalValue& c : categorical) {
      const FeatureHasher::Slot s = hasher_.Hash(c.field, c.value);
      m += s.sign * coords_[num_numeric_ + s.index].w;
    }
  }
  return ApplyLink(options_.link, m);
}

Result<double> OnlineLearner::Learn(std::span<const double> numeric,
                                    std::span<const CategoricalValue> categorical, double label,
                                    double weight) {
  const size_t n = num_numeric_;
  if (numeric.size() != n) {
    return Status::InvalidArgument(
        StrCat("the learner takes ", n, " numeric features, got ", numeric.size()));
  }
  if (!std::isfinite(label) ||
      (options_.link == Link::kLogistic && !(label >= 0.0 && label <= 1.0))) {
    return Status::InvalidArgument(
        StrCat("label ", label, " is not ",
               options_.link == Link::kLogistic ? "in [0, 1]" : "a finite number"));
  }
  if (!std::isfinite(weight) || weight < 0) {
    return Status::InvalidArgument(StrCat("example weight ", weight, " is not finite and >= 0"));
  }

  // Hash first and prefetch the hashed coordinates: they are spread over
  // megabytes, and the loads overlap the numeric work below.
  active_.clear();
  if (num_hashed_ > 0) {
    for (const CategoricalValue& c : categorical) {
      const FeatureHasher::Slot s = hasher_.Hash(c.field, c.value);
      const auto coord = static_cast<uint32_t>(n + s.index);
      __builtin_prefetch(&coords_[coord], 1);
      active_.push_back(Active{coord, s.sign});
    }
  }
  const size_t num_hashed_active = active_.size();

  // 1-2. Standardise with the statistics so far and predict, accumulating in
  // exactly the order of LinearMargin (bias, numeric in order, pairs in
  // input order) so the result is bit-identical to Predict().
  double margin = coords_.back().w;
  for (size_t i = 0; i < n; ++i) {
    const double x = numeric[i];
    if (std::isnan(x)) continue;
    const double z = (x - mean_[i]) / scale_[i];
    margin += coords_[i].w * z;
    active_.push_back(Active{static_cast<uint32_t>(i), z});
  }
  for (size_t k = 0; k < num_hashed_active; ++k) {
    margin += active_[k].x * coords_[active_[k].coord].w;
  }
  const double p = ApplyLink(options_.link, margin);
  if (weight == 0) return p;
  if (!std::isfinite(p)) {
    return Status::FailedPrecondition(StrCat("the learner has diverged (prediction ", p,
                                             "); lower learning_rate or add regularisation"));
  }

  // Hashed values landing on one weight are summed into one coordinate
  // (a small insertion sort: examples have a handful of them).
  if (num_hashed_active > 1) {
    Active* h = active_.data();
    for (size_t i = 1; i < num_hashed_active; ++i) {
      const Active a = h[i];
      size_t j = i;
      for (; j > 0 && h[j - 1].coord > a.coord; --j) h[j] = h[j - 1];
      h[j] = a;
    }
    size_t out = 1;
    for (size_t i = 1; i < num_hashed_active; ++i) {
      if (h[i].coord == h[out - 1].coord) {
        h[out - 1].x += h[i].x;
      } else {
        h[out++] = h[i];
      }
    }
    if (out < num_hashed_active) {
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(out),
                    active_.begin() + static_cast<std::ptrdiff_t>(num_hashed_active));
    }
  }
  const auto bias_coord = static_cast<uint32_t>(coords_.size() - 1);
  if (options_.fit_intercept) active_.push_back(Active{bias_coord, 1.0});

  // 3-4. Gradient and optimizer step on each active coordinate.
  const double residual = weight * (p - label);
  const double t = static_cast<double>(num_updates_);
  double eta = options_.learning_rate;
  if (options_.schedule == LearningRateSchedule::kInverseScaling) {
    eta = options_.learning_rate / std::pow(t + 1.0, options_.power_t);
  }
  double adam_c1 = 1, adam_c2 = 1;
  if (options_.optimizer == Optimizer::kAdam) {
    adam_c1 = 1.0 - std::pow(options_.adam_beta1, t + 1.0);
    adam_c2 = 1.0 - std::pow(options_.adam_beta2, t + 1.0);
  }
  for (const Active& a : active_) {
    const bool is_bias = a.coord == bias_coord;
    const double l1 = is_bias ? 0.0 : options_.l1;
    const double l2 = is_bias ? 0.0 : options_.l2;
    const double g = residual * a.x;
    Coord& c = coords_[a.coord];
    switch (options_.optimizer) {
      case Optimizer::kSgd: {
        const double gt = g + l2 * c.w;
        c.w = c.w - eta * gt;
        if (l1 > 0) c.w = SoftThreshold(c.w, eta * l1);
        break;
      }
      case Optimizer::kAdaGrad: {
        const double gt = g + l2 * c.w;
        c.s1 = c.s1 + gt * gt;
        const double step = eta / (std::sqrt(c.s1) + options_.epsilon);
        c.w = c.w - step * gt;
        if (l1 > 0) c.w = SoftThreshold(c.w, step * l1);
        break;
      }
      case Optimizer::kAdam: {
        const double gt = g + l2 * c.w;
        c.s1 = options_.adam_beta1 * c.s1 + (1.0 - options_.adam_beta1) * gt;
        c.s2 = options_.adam_beta2 * c.s2 + (1.0 - options_.adam_beta2) * (gt * gt);
        const double m_hat = c.s1 / adam_c1;
        const double v_hat = c.s2 / adam_c2;
        const double step = eta / (std::sqrt(v_hat) + options_.epsilon);
        c.w = c.w - step * m_hat;
        if (l1 > 0) c.w = SoftThreshold(c.w, step * l1);
        break;
      }
      case Optimizer::kFtrl: {
        // McMahan et al. 2013, Algorithm 1: z, n per coordinate; c.w is the
        // weight this prediction used.
        const double alpha = options_.ftrl_alpha;
        const double n_new = c.s2 + g * g;
        const double sqrt_n_new = std::sqrt(n_new);
        const double sigma = (sqrt_n_new - c.sqrt_n) / alpha;
        c.s1 = c.s1 + (g - sigma * c.w);
        c.s2 = n_new;
        c.sqrt_n = sqrt_n_new;
        if (std::abs(c.s1) <= l1) {
          c.w = 0.0;
        } else {
          const double sign = c.s1 < 0 ? -1.0 : 1.0;
          c.w = -(c.s1 - sign * l1) / ((options_.ftrl_beta + sqrt_n_new) / alpha + l2);
        }
        break;
      }
    }
  }

  // 5. Running statistics with this example's raw values (Welford).
  if (options_.standardize) {
    for (size_t i = 0; i < n; ++i) {
      const double x = numeric[i];
      if (std::isnan(x)) continue;
      count_[i] += 1;
      const double delta = x - mean_[i];
      mean_[i] += delta / static_cast<double>(count_[i]);
      m2_[i] += delta * (x - mean_[i]);
      const double sd = std::sqrt(m2_[i] / static_cast<double>(count_[i]));
      scale_[i] = sd > 0 && std::isfinite(sd) ? sd : 1.0;
    }
  }
  ++num_updates_;
  return p;
}

std::string OnlineLearner::Snapshot() const {
  ByteWriter b;
  b.Bytes(kMagic);
  b.U32(kSnapshotVersion);
  b.U32(0);  // flags
  const OnlineLearnerOptions& o = options_;
  b.U8(static_cast<uint8_t>(o.link));
  b.U8(static_cast<uint8_t>(o.optimizer));
  b.U8(static_cast<uint8_t>(o.schedule));
  b.U8(o.standardize ? 1 : 0);
  b.U8(o.fit_intercept ? 1 : 0);
  b.U8(o.signed_hash ? 1 : 0);
  b.U8(0);
  b.U8(0);
  b.U32(static_cast<uint32_t>(o.hash_bits));
  b.U32(o.hash_seed);
  for (double v : {o.learning_rate, o.power_t, o.l1, o.l2, o.adam_beta1, o.adam_beta2, o.epsilon,
                   o.ftrl_alpha, o.ftrl_beta}) {
    b.F64(v);
  }
  b.U32(static_cast<uint32_t>(o.numeric_features.size()));
  for (const std::string& s : o.numeric_features) b.Str(s);
  b.U32(static_cast<uint32_t>(o.hashed_fields.size()));
  for (const std::string& s : o.hashed_fields) b.Str(s);

  b.U64(num_updates_);
  const Coord& bias = coords_.back();
  b.F64(bias.w);
  b.F64(bias.s1);
  b.F64(bias.s2);
  for (size_t i = 0; i < num_numeric_; ++i) {
    b.F64(coords_[i].w);
    b.F64(coords_[i].s1);
    b.F64(coords_[i].s2);
    b.U64(count_[i]);
    b.F64(mean_[i]);
    b.F64(m2_[i]);
    b.F64(scale_[i]);
  }
  // Hashed coordinates: only those with any non-zero bits, ascending.
  auto used = [&](const Coord& c) {
    return std::bit_cast<uint64_t>(c.w) != 0 || std::bit_cast<uint64_t>(c.s1) != 0 ||
           std::bit_cast<uint64_t>(c.s2) != 0;
  };
  uint64_t nonzero = 0;
  for (size_t j = 0; j < num_hashed_; ++j) nonzero += used(coords_[num_numeric_ + j]) ? 1 : 0;
  b.U64(nonzero);
  for (size_t j = 0; j < num_hashed_; ++j) {
    const Coord& c = coords_[num_numeric_ + j];
    if (!used(c)) continue;
    b.U32(static_cast<uint32_t>(j));
    b.F64(c.w);
    b.F64(c.s1);
    b.F64(c.s2);
  }
  b.U32(Crc32c(b.out()));
  return std::move(b.out());
}

Result<std::unique_ptr<OnlineLearner>> OnlineLearner::Restore(std::string_view bytes,
                                                              std::string_view source) {
  auto corrupt = [&](std::string_view what) {
    return Status::Corruption(StrCat(source, " (online learner snapshot): ", what));
  };
  if (bytes.size() < kMagic.size() + 12 || bytes.substr(0, kMagic.size()) != kMagic) {
    return corrupt("not a snapshot (bad magic)");
  }
  ByteReader r(bytes.substr(kMagic.size()));
  uint32_t version = 0, flags = 0;
  (void)r.U32(version);
  if (version != kSnapshotVersion) {
    return Status::Unimplemented(StrCat(source, ": snapshot version ", version,
                                        " is not supported (this build reads version ",
                                        kSnapshotVersion, ")"));
  }
  {
    ByteReader crc_reader(bytes.substr(bytes.size() - 4));
    uint32_t stored = 0;
    (void)crc_reader.U32(stored);
    if (stored != Crc32c(bytes.substr(0, bytes.size() - 4))) return corrupt("checksum mismatch");
  }
  r = ByteReader(bytes.substr(kMagic.size() + 4, bytes.size() - kMagic.size() - 8));
  if (!r.U32(flags) || flags != 0) return corrupt("unknown flags");

  try {
    OnlineLearnerOptions o;
    uint8_t link, opt, sched, stdz, intercept, sign, r1, r2;
    uint32_t bits, seed;
    if (!r.U8(link) || !r.U8(opt) || !r.U8(sched) || !r.U8(stdz) || !r.U8(intercept) ||
        !r.U8(sign) || !r.U8(r1) || !r.U8(r2) || !r.U32(bits) || !r.U32(seed)) {
      return corrupt("truncated options");
    }
    if (link > 1 || opt > 3 || sched > 1 || stdz > 1 || intercept > 1 || sign > 1 || bits > 24) {
      return corrupt("invalid option value");
    }
    o.link = static_cast<Link>(link);
    o.optimizer = static_cast<Optimizer>(opt);
    o.schedule = static_cast<LearningRateSchedule>(sched);
    o.standardize = stdz == 1;
    o.fit_intercept = intercept == 1;
    o.signed_hash = sign == 1;
    o.hash_bits = static_cast<int>(bits);
    o.hash_seed = seed;
    for (double* v : {&o.learning_rate, &o.power_t, &o.l1, &o.l2, &o.adam_beta1, &o.adam_beta2,
                      &o.epsilon, &o.ftrl_alpha, &o.ftrl_beta}) {
      if (!r.F64(*v)) return corrupt("truncated options");
    }
    uint32_t count = 0;
    if (!r.U32(count) || count > r.remaining()) return corrupt("bad feature count");
    o.numeric_features.resize(count);
    for (std::string& s : o.numeric_features) {
      if (!r.Str(s, 1 << 16)) return corrupt("bad feature name");
    }
    if (!r.U32(count) || count > r.remaining()) return corrupt("bad field count");
    o.hashed_fields.resize(count);
    for (std::string& s : o.hashed_fields) {
      if (!r.Str(s, 1 << 16)) return corrupt("bad field name");
    }
    Status valid = ValidateLearnerOptions(o);
    if (!valid.ok()) return corrupt(valid.message());

    std::unique_ptr<OnlineLearner> l(new OnlineLearner(std::move(o)));
    Coord& bias = l->coords_.back();
    if (!r.U64(l->num_updates_) || !r.F64(bias.w) || !r.F64(bias.s1) || !r.F64(bias.s2)) {
      return corrupt("truncated state");
    }
    for (size_t i = 0; i < l->num_numeric_; ++i) {
      Coord& c = l->coords_[i];
      if (!r.F64(c.w) || !r.F64(c.s1) || !r.F64(c.s2) || !r.U64(l->count_[i]) ||
          !r.F64(l->mean_[i]) || !r.F64(l->m2_[i]) || !r.F64(l->scale_[i])) {
        return corrupt("truncated feature state");
      }
      if (!(l->scale_[i] > 0) || !std::isfinite(l->scale_[i])) {
        return corrupt(StrCat("feature ", i, " has an invalid scale"));
      }
    }
    uint64_t nonzero = 0;
    if (!r.U64(nonzero) || nonzero > l->num_hashed_ || nonzero * 28 > r.remaining()) {
      return corrupt("bad hashed weight count");
    }
    int64_t last = -1;
    for (uint64_t k = 0; k < nonzero; ++k) {
      uint32_t j = 0;
      if (!r.U32(j)) return corrupt("truncated hashed weights");
      if (j >= l->num_hashed_ || static_cast<int64_t>(j) <= last) {
        return corrupt(StrCat("hashed weight index ", j, " out of order or range"));
      }
      last = j;
      Coord& c = l->coords_[l->num_numeric_ + j];
      if (!r.F64(c.w) || !r.F64(c.s1) || !r.F64(c.s2)) return corrupt("truncated hashed weights");
    }
    if (r.remaining() != 0) return corrupt("trailing bytes");
    for (Coord& c : l->coords_) c.sqrt_n = std::sqrt(c.s2);
    return l;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(StrCat(source, ": out of memory restoring the snapshot"));
  }
}

std::string OnlineLearner::ExportLinearJson() const { return LinearWeightsToJson(weights()); }

std::unique_ptr<Model> OnlineLearner::ExportModel() const { return ExportModel(Snapshot()); }

std::unique_ptr<Model> OnlineLearner::ExportModel(std::string_view snapshot) const {
  return MakeLinearModel(weights(), ModelFormat::kOnlineSnapshot, ContentHash(snapshot));
}

Result<std::unique_ptr<Model>> ParseOnlineSnapshot(std::string_view bytes,
                                                   std::string_view source) {
  EDDY_ASSIGN_OR_RETURN(auto learner, OnlineLearner::Restore(bytes, source));
  Status valid = ValidateLinearWeights(learner->weights());
  if (!valid.ok()) return valid.WithContext(source);
  return MakeLinearModel(learner->weights(), ModelFormat::kOnlineSnapshot, ContentHash(bytes));
}

}  // namespace eddy
