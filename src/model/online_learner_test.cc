// OnlineLearner: exact weights against reference implementations written
// here from the formulas in docs/reference/models.md (plain maps, no shared
// code), convergence to known coefficients, progressive validation, snapshot
// and restore, export, and the option table.

#include "model/online_learner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"
#include "model/hashing.h"

namespace eddy {
namespace {

struct Example {
  std::vector<double> numeric;
  std::vector<std::pair<std::string, std::string>> cats;
  double label;
  double weight;
};

std::vector<CategoricalValue> Cats(const Example& e) {
  std::vector<CategoricalValue> out;
  for (const auto& [f, v] : e.cats) out.push_back({f, v});
  return out;
}

// A fixed stream: 3 numeric features (one sometimes missing), 2 hashed
// fields, weights, labels from a known model.
std::vector<Example> Stream(size_t n, bool logistic, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> cat(0, 6);
  std::vector<Example> out;
  for (size_t i = 0; i < n; ++i) {
    Example e;
    e.numeric = {10 + 3 * normal(rng), normal(rng), i % 5 == 0 ? NAN : 100 * normal(rng)};
    const int c1 = cat(rng), c2 = cat(rng);
    e.cats = {{"shop", StrCat("s", c1)}, {"color", StrCat("c", c2)}};
    if (i % 7 == 0) e.cats.push_back({"shop", StrCat("s", c1)});  // a repeated value
    const double m = 0.3 * (e.numeric[0] - 10) - 0.7 * e.numeric[1] + (c1 % 2 ? 0.5 : -0.5);
    e.label = logistic ? (m + 0.5 * normal(rng) > 0 ? 1.0 : 0.0) : m + 0.1 * normal(rng);
    e.weight = i % 11 == 0 ? 2.0 : 1.0;
    out.push_back(std::move(e));
  }
  return out;
}

// The reference: the documented algorithm over std::map coordinates.
class Reference {
 public:
  explicit Reference(const OnlineLearnerOptions& o) : o_(o) {}

  double Learn(const Example& e) {
    const size_t n = o_.numeric_features.size();
    // Standardise with the statistics before this example.
    std::map<std::string, double> x;  // coordinate -> value (merged)
    double margin = w_["bias"];
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(e.numeric[i])) continue;
      const std::string key = StrCat("n", i);
      double mean = 0, scale = 1;
      if (o_.standardize && count_[i] > 0) {
        mean = mean_[i];
        const double sd = std::sqrt(m2_[i] / count_[i]);
        scale = sd > 0 ? sd : 1;
      }
      const double z = (e.numeric[i] - mean) / scale;
      margin += w_[key] * z;
      x[key] = z;
    }
    for (const auto& [f, v] : e.cats) {
      const uint32_t h = MurmurHash3_x86_32(StrCat(f, "=", v), o_.hash_seed);
      const uint32_t idx = h & ((1u << o_.hash_bits) - 1);
      const double sign = o_.signed_hash && (h >> 31) ? -1.0 : 1.0;
      const std::string key = StrCat("h", idx);
      margin += sign * w_[key];
      x[key] += sign;
    }
    if (o_.fit_intercept) x["bias"] = 1.0;
    const double p = o_.link == Link::kLogistic ? 1.0 / (1.0 + std::exp(-margin)) : margin;
    const double r = e.weight * (p - e.label);
    const double t = static_cast<double>(t_);
    double eta = o_.learning_rate;
    if (o_.schedule == LearningRateSchedule::kInverseScaling) {
      eta = o_.learning_rate / std::pow(t + 1, o_.power_t);
    }
    for (const auto& [key, xv] : x) {
      const bool bias = key == "bias";
      const double l1 = bias ? 0 : o_.l1, l2 = bias ? 0 : o_.l2;
      const double g = r * xv;
      double& w = w_[key];
      auto soft = [](double v, double th) { return v > th ? v - th : (v < -th ? v + th : 0.0); };
      switch (o_.optimizer) {
        case Optimizer::kSgd: {
          const double gt = g + l2 * w;
          w = w - eta * gt;
          if (l1 > 0) w = soft(w, eta * l1);
          break;
        }
        case Optimizer::kAdaGrad: {
          const double gt = g + l2 * w;
          a_[key] += gt * gt;
          const double step = eta / (std::sqrt(a_[key]) + o_.epsilon);
          w = w - step * gt;
          if (l1 > 0) w = soft(w, step * l1);
          break;
        }
        case Optimizer::kAdam: {
          const double gt = g + l2 * w;
          a_[key] = o_.adam_beta1 * a_[key] + (1 - o_.adam_beta1) * gt;
          b_[key] = o_.adam_beta2 * b_[key] + (1 - o_.adam_beta2) * (gt * gt);
          const double mh = a_[key] / (1 - std::pow(o_.adam_beta1, t + 1));
          const double vh = b_[key] / (1 - std::pow(o_.adam_beta2, t + 1));
          const double step = eta / (std::sqrt(vh) + o_.epsilon);
          w = w - step * mh;
          if (l1 > 0) w = soft(w, step * l1);
          break;
        }
        case Optimizer::kFtrl: {
          double& z = a_[key];
          double& nn = b_[key];
          const double sigma = (std::sqrt(nn + g * g) - std::sqrt(nn)) / o_.ftrl_alpha;
          z = z + (g - sigma * w);
          nn = nn + g * g;
          w = std::abs(z) <= l1 ? 0.0
                                : -(z - (z < 0 ? -1.0 : 1.0) * l1) /
                                      ((o_.ftrl_beta + std::sqrt(nn)) / o_.ftrl_alpha + l2);
          break;
        }
      }
    }
    if (o_.standardize) {
      for (size_t i = 0; i < n; ++i) {
        const double v = e.numeric[i];
        if (std::isnan(v)) continue;
        count_[i] += 1;
        const double d = v - mean_[i];
        mean_[i] += d / count_[i];
        m2_[i] += d * (v - mean_[i]);
      }
    }
    ++t_;
    return p;
  }

  double weight(const std::string& key) { return w_[key]; }

 private:
  OnlineLearnerOptions o_;
  std::map<std::string, double> w_, a_, b_;
  std::map<size_t, double> count_, mean_, m2_;
  uint64_t t_ = 0;
};

OnlineLearnerOptions BaseOptions(Link link, Optimizer opt) {
  OnlineLearnerOptions o;
  o.link = link;
  o.optimizer = opt;
  o.learning_rate = 0.05;
  o.hash_bits = 8;
  o.numeric_features = {"amount", "score", "age"};
  o.hashed_fields = {"shop", "color"};
  return o;
}

void ExpectSameWeights(OnlineLearner& l, Reference& ref) {
  const LinearWeights w = l.weights();
  EXPECT_EQ(std::bit_cast<uint64_t>(w.bias), std::bit_cast<uint64_t>(ref.weight("bias")));
  for (size_t i = 0; i < w.weights.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(w.weights[i]),
              std::bit_cast<uint64_t>(ref.weight(StrCat("n", i))))
        << "numeric " << i << ": " << w.weights[i] << " vs " << ref.weight(StrCat("n", i));
  }
  for (size_t j = 0; j < w.hashed_weights.size(); ++j) {
    EXPECT_EQ(std::bit_cast<uint64_t>(w.hashed_weights[j] + 0.0),
              std::bit_cast<uint64_t>(ref.weight(StrCat("h", j)) + 0.0))
        << "hashed " << j;
  }
}

struct Case {
  Link link;
  Optimizer opt;
  double l1, l2;
  LearningRateSchedule schedule;
  bool signed_hash;
};

class ExactTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExactTest, WeightsEqualReferenceBitForBit) {
  const Case c = GetParam();
  OnlineLearnerOptions o = BaseOptions(c.link, c.opt);
  o.l1 = c.l1;
  o.l2 = c.l2;
  o.schedule = c.schedule;
  o.signed_hash = c.signed_hash;
  auto learner = OnlineLearner::Create(o);
  ASSERT_TRUE(learner.ok()) << learner.status().ToString();
  Reference ref(o);
  for (const Example& e : Stream(600, c.link == Link::kLogistic)) {
    auto cats = Cats(e);
    const double before = (*learner)->Predict(e.numeric, cats);
    auto p = (*learner)->Learn(e.numeric, cats, e.label, e.weight);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    const double ref_p = ref.Learn(e);
    // Progressive validation: Learn returns the prediction before the update.
    ASSERT_EQ(std::bit_cast<uint64_t>(*p), std::bit_cast<uint64_t>(before));
    ASSERT_EQ(std::bit_cast<uint64_t>(*p), std::bit_cast<uint64_t>(ref_p));
  }
  ExpectSameWeights(**learner, ref);
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, ExactTest,
    ::testing::Values(
        Case{Link::kIdentity, Optimizer::kSgd, 0, 0, LearningRateSchedule::kConstant, false},
        Case{Link::kLogistic, Optimizer::kSgd, 0.001, 0.01, LearningRateSchedule::kInverseScaling,
             true},
        Case{Link::kIdentity, Optimizer::kAdaGrad, 0, 0.01, LearningRateSchedule::kConstant, false},
        Case{Link::kLogistic, Optimizer::kAdaGrad, 0.002, 0, LearningRateSchedule::kConstant,
             false},
        Case{Link::kIdentity, Optimizer::kAdam, 0, 0, LearningRateSchedule::kConstant, false},
        Case{Link::kLogistic, Optimizer::kAdam, 0.001, 0.001, LearningRateSchedule::kInverseScaling,
             true},
        Case{Link::kLogistic, Optimizer::kFtrl, 0, 0, LearningRateSchedule::kConstant, false},
        Case{Link::kLogistic, Optimizer::kFtrl, 0.5, 0.1, LearningRateSchedule::kConstant, true},
        Case{Link::kIdentity, Optimizer::kFtrl, 0.1, 1.0, LearningRateSchedule::kConstant, false}));

// Data from y = 2 + 3 x0 - 1.5 x1 (+ noise for the logistic case).
TEST(OnlineLearnerTest, ConvergesToKnownCoefficients) {
  for (Optimizer opt : {Optimizer::kSgd, Optimizer::kAdaGrad, Optimizer::kAdam, Optimizer::kFtrl}) {
    OnlineLearnerOptions o;
    o.link = Link::kIdentity;
    o.optimizer = opt;
    o.standardize = false;
    o.hash_bits = 0;
    o.learning_rate = opt == Optimizer::kAdaGrad ? 0.5 : 0.01;
    o.ftrl_alpha = 0.5;
    o.numeric_features = {"x0", "x1"};
    auto l = OnlineLearner::Create(o);
    ASSERT_TRUE(l.ok());
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    for (int i = 0; i < 200000; ++i) {
      const double x0 = normal(rng), x1 = normal(rng);
      ASSERT_TRUE((*l)->Learn(std::vector<double>{x0, x1}, {}, 2 + 3 * x0 - 1.5 * x1).ok());
    }
    const LinearWeights w = (*l)->weights();
    EXPECT_NEAR(w.bias, 2.0, 0.02) << OptimizerName(opt);
    EXPECT_NEAR(w.weights[0], 3.0, 0.02) << OptimizerName(opt);
    EXPECT_NEAR(w.weights[1], -1.5, 0.02) << OptimizerName(opt);
  }
}

TEST(OnlineLearnerTest, LogisticRecoversCoefficientsWithStandardisation) {
  OnlineLearnerOptions o;
  o.link = Link::kLogistic;
  o.optimizer = Optimizer::kAdaGrad;
  o.learning_rate = 0.1;
  o.hash_bits = 0;
  o.numeric_features = {"x0", "x1"};
  auto l = OnlineLearner::Create(o);
  ASSERT_TRUE(l.ok());
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> u(0, 1);
  // x0 ~ N(50, 10): standardised, its weight is 10 * 0.2 = 2 per sd.
  for (int i = 0; i < 300000; ++i) {
    const double x0 = 50 + 10 * normal(rng), x1 = normal(rng);
    const double m = -1 + 0.2 * (x0 - 50) - 1.0 * x1;
    const double y = u(rng) < 1 / (1 + std::exp(-m)) ? 1 : 0;
    ASSERT_TRUE((*l)->Learn(std::vector<double>{x0, x1}, {}, y).ok());
  }
  const LinearWeights w = (*l)->weights();
  EXPECT_NEAR(w.means[0], 50, 0.2);
  EXPECT_NEAR(w.scales[0], 10, 0.2);
  EXPECT_NEAR(w.weights[0], 2.0, 0.1);
  EXPECT_NEAR(w.weights[1], -1.0, 0.1);
  EXPECT_NEAR(w.bias, -1.0, 0.1);
}

TEST(OnlineLearnerTest, HashedCategoricalsLearnTheirEffect) {
  OnlineLearnerOptions o;
  o.link = Link::kIdentity;
  o.optimizer = Optimizer::kAdaGrad;
  o.learning_rate = 0.5;
  o.hash_bits = 12;
  o.hashed_fields = {"country"};
  auto l = OnlineLearner::Create(o);
  ASSERT_TRUE(l.ok());
  const std::map<std::string, double> effect = {{"FR", 1}, {"DE", -2}, {"US", 4}};
  for (int i = 0; i < 20000; ++i) {
    for (const auto& [c, v] : effect) {
      std::vector<CategoricalValue> cats = {{"country", c}};
      ASSERT_TRUE((*l)->Learn({}, cats, v).ok());
    }
  }
  for (const auto& [c, v] : effect) {
    std::vector<CategoricalValue> cats = {{"country", c}};
    EXPECT_NEAR((*l)->Predict({}, cats), v, 1e-3) << c;
  }
}

TEST(OnlineLearnerTest, SnapshotRestoreContinuesBitIdentically) {
  for (Optimizer opt : {Optimizer::kSgd, Optimizer::kAdaGrad, Optimizer::kAdam, Optimizer::kFtrl}) {
    OnlineLearnerOptions o = BaseOptions(Link::kLogistic, opt);
    o.l1 = 0.001;
    auto a = OnlineLearner::Create(o);
    ASSERT_TRUE(a.ok());
    const auto stream = Stream(400, true, 3);
    for (size_t i = 0; i < 200; ++i) {
      ASSERT_TRUE((*a)->Learn(stream[i].numeric, Cats(stream[i]), stream[i].label).ok());
    }
    const std::string snap = (*a)->Snapshot();
    auto b = OnlineLearner::Restore(snap);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ((*b)->Snapshot(), snap);
    EXPECT_EQ((*b)->num_updates(), 200u);
    for (size_t i = 200; i < 400; ++i) {
      auto pa = (*a)->Learn(stream[i].numeric, Cats(stream[i]), stream[i].label);
      auto pb = (*b)->Learn(stream[i].numeric, Cats(stream[i]), stream[i].label);
      ASSERT_TRUE(pa.ok() && pb.ok());
      ASSERT_EQ(std::bit_cast<uint64_t>(*pa), std::bit_cast<uint64_t>(*pb)) << i;
    }
    EXPECT_EQ((*a)->Snapshot(), (*b)->Snapshot()) << OptimizerName(opt);
  }
}

TEST(OnlineLearnerTest, CorruptSnapshotsAreRejected) {
  auto l = OnlineLearner::Create(BaseOptions(Link::kLogistic, Optimizer::kFtrl));
  ASSERT_TRUE(l.ok());
  const auto stream = Stream(50, true);
  for (const Example& e : stream) ASSERT_TRUE((*l)->Learn(e.numeric, Cats(e), e.label).ok());
  const std::string snap = (*l)->Snapshot();
  for (size_t i = 0; i < snap.size(); i += 7) {
    std::string bad = snap;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    auto r = OnlineLearner::Restore(bad);
    EXPECT_FALSE(r.ok()) << "byte " << i;
  }
  EXPECT_EQ(OnlineLearner::Restore(snap.substr(0, snap.size() - 1)).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(OnlineLearner::Restore("").status().code(), StatusCode::kCorruption);
}

// A snapshot written by format version 1, checked in: it must keep loading,
// re-serialise to the same bytes, and score as it did.
TEST(OnlineLearnerTest, ReadsVersion1SnapshotFile) {
  auto bytes = ReadFileBytes(StrCat(EDDY_MODEL_TESTDATA, "/learner_v1.snapshot"));
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto l = OnlineLearner::Restore(*bytes);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->Snapshot(), *bytes);
  EXPECT_EQ((*l)->num_updates(), 100u);
  std::vector<CategoricalValue> cats = {{"shop", "s3"}, {"color", "c1"}};
  EXPECT_EQ(StrCat((*l)->Predict(std::vector<double>{11, 0.5, 20}, cats)), "0.48900539872275206");
}

TEST(OnlineLearnerTest, ExportsLoadableModelsThatScoreTheSame) {
  auto l = OnlineLearner::Create(BaseOptions(Link::kLogistic, Optimizer::kAdam));
  ASSERT_TRUE(l.ok());
  const auto stream = Stream(300, true, 4);
  for (const Example& e : stream) ASSERT_TRUE((*l)->Learn(e.numeric, Cats(e), e.label).ok());
  auto from_json = ParseModel((*l)->ExportLinearJson(), ModelFormat::kLinearJson);
  ASSERT_TRUE(from_json.ok()) << from_json.status().ToString();
  auto from_snapshot = ParseModel((*l)->Snapshot(), ModelFormat::kOnlineSnapshot);
  ASSERT_TRUE(from_snapshot.ok()) << from_snapshot.status().ToString();
  auto frozen = (*l)->ExportModel();
  EXPECT_EQ((*from_snapshot)->info().content_hash, frozen->info().content_hash);
  EXPECT_EQ((*from_json)->info().hashed_fields, (std::vector<std::string>{"shop", "color"}));
  for (const Example& e : Stream(100, true, 8)) {
    auto cats = Cats(e);
    const double want = (*l)->Predict(e.numeric, cats);
    for (const Model* m : {from_json->get(), from_snapshot->get(), frozen.get()}) {
      double got = 0;
      ASSERT_TRUE(m->Predict(e.numeric, cats, std::span<double>(&got, 1)).ok());
      ASSERT_EQ(std::bit_cast<uint64_t>(got), std::bit_cast<uint64_t>(want));
    }
  }
  // The frozen export does not move when the learner learns on.
  double before = 0, after = 0;
  const Example& e = stream[0];
  ASSERT_TRUE(frozen->Predict(e.numeric, Cats(e), std::span<double>(&before, 1)).ok());
  ASSERT_TRUE((*l)->Learn(e.numeric, Cats(e), 1 - e.label).ok());
  ASSERT_TRUE(frozen->Predict(e.numeric, Cats(e), std::span<double>(&after, 1)).ok());
  EXPECT_EQ(before, after);
}

TEST(OnlineLearnerTest, RejectsBadExamples) {
  auto l = OnlineLearner::Create(BaseOptions(Link::kLogistic, Optimizer::kFtrl));
  ASSERT_TRUE(l.ok());
  std::vector<double> x = {1, 2, 3};
  EXPECT_EQ((*l)->Learn(std::vector<double>{1, 2}, {}, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE((*l)->Learn(x, {}, 2.0).ok());  // logistic label outside [0, 1]
  EXPECT_FALSE((*l)->Learn(x, {}, NAN).ok());
  EXPECT_FALSE((*l)->Learn(x, {}, 1, -1).ok());  // negative weight
  EXPECT_TRUE(std::isnan((*l)->Predict(std::vector<double>{1}, {})));
  // Weight 0: a prediction, no update.
  const std::string before = (*l)->Snapshot();
  ASSERT_TRUE((*l)->Learn(x, {}, 1, 0).ok());
  EXPECT_EQ((*l)->Snapshot(), before);
  EXPECT_EQ((*l)->num_updates(), 0u);
}

TEST(LearnerOptionsTest, TableDefaultsEqualStructDefaults) {
  auto parsed = ParseLearnerOptions({}, {}, {});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(LearnerOptionsToMap(*parsed), LearnerOptionsToMap(OnlineLearnerOptions{}));
}

TEST(LearnerOptionsTest, ParsesValidatesAndRoundTrips) {
  auto o = ParseLearnerOptions({{"optimizer", "adam"},
                                {"l2", "0.01"},
                                {"hash_bits", "20"},
                                {"signed_hash", "true"},
                                {"link", "identity"}},
                               {"a", "b"}, {"city"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->optimizer, Optimizer::kAdam);
  EXPECT_EQ(o->link, Link::kIdentity);
  EXPECT_EQ(o->l2, 0.01);
  EXPECT_EQ(o->hash_bits, 20);
  EXPECT_TRUE(o->signed_hash);
  auto again = ParseLearnerOptions(LearnerOptionsToMap(*o), {"a", "b"}, {"city"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(LearnerOptionsToMap(*again), LearnerOptionsToMap(*o));

  auto typo = ParseLearnerOptions({{"learning_rat", "0.1"}}, {}, {});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("did you mean 'learning_rate'"), std::string::npos)
      << typo.status().message();
  EXPECT_FALSE(ParseLearnerOptions({{"learning_rate", "0"}}, {}, {}).ok());
  EXPECT_FALSE(ParseLearnerOptions({{"adam_beta1", "1"}}, {}, {}).ok());
  EXPECT_FALSE(ParseLearnerOptions({{"hash_bits", "25"}}, {}, {}).ok());
  EXPECT_FALSE(ParseLearnerOptions({{"optimizer", "rmsprop"}}, {}, {}).ok());
  EXPECT_FALSE(ParseLearnerOptions({}, {"a", "a"}, {}).ok());
}

TEST(LearnerOptionsTest, ReferenceIsInTheDocs) {
  auto doc = ReadFileBytes(StrCat(EDDY_MODEL_TESTDATA, "/../../../docs/reference/models.md"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_NE(doc->find(LearnerOptionsReference()), std::string::npos)
      << "docs/reference/models.md must contain the table LearnerOptionsReference() "
         "generates:\n"
      << LearnerOptionsReference();
}

}  // namespace
}  // namespace eddy
