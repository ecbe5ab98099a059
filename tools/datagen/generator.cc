// The transaction generator: see generator.h and README.md.

#include "tools/datagen/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace eddy::datagen {
namespace {

// ---------------------------------------------------------------------------
// Random numbers. xoshiro256** seeded with splitmix64: fast, and the same
// sequence on every platform (std:: distributions are implementation-defined,
// so all distributions here are written out).

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A well-mixed hash of two values: per-entity traits (a user's home country,
// a merchant's category) come from Mix(seed, id) so they need no storage.
uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);
  return SplitMix(x);
}

// A uniform double in [0, 1) from 53 bits of `h`.
double Unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& w : s_) w = SplitMix(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return Unit(Next()); }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  bool Chance(double p) { return Uniform() < p; }
  // Exponential with mean 1.
  double Exp() { return -std::log1p(-Uniform()); }
  // Standard normal (Box-Muller; one value per call keeps the stream simple).
  double Normal() {
    double u1 = 1.0 - Uniform();  // (0, 1]
    double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Zipf over {1..n} with exponent s > 0: P(k) ~ k^-s. Rejection-inversion
// (Hormann & Derflinger 1996): O(1) per sample, no table, any n.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double s) : n_(static_cast<double>(n)), s_(s) {
    h_x1_ = HIntegral(1.5) - 1.0;
    h_n_ = HIntegral(n_ + 0.5);
    cut_ = 2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0));
  }
  uint64_t Sample(Rng& rng) const {
    while (true) {
      double u = h_n_ + rng.Uniform() * (h_x1_ - h_n_);
      double x = HIntegralInverse(u);
      double k = std::floor(x + 0.5);
      if (k < 1) k = 1;
      if (k > n_) k = n_;
      if (k - x <= cut_ || u >= HIntegral(k + 0.5) - H(k)) return static_cast<uint64_t>(k);
    }
  }

 private:
  double H(double x) const { return std::exp(-s_ * std::log(x)); }
  double HIntegral(double x) const {
    double lx = std::log(x);
    return Helper2((1.0 - s_) * lx) * lx;
  }
  double HIntegralInverse(double x) const {
    double t = x * (1.0 - s_);
    if (t < -1.0) t = -1.0;
    return std::exp(Helper1(t) * x);
  }
  // log1p(x)/x and expm1(x)/x, continuous at 0.
  static double Helper1(double x) { return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x / 2; }
  static double Helper2(double x) { return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1 + x / 2; }

  double n_, s_, h_x1_, h_n_, cut_;
};

// ---------------------------------------------------------------------------
// The world: countries, categories, users, merchants.

struct Country {
  const char* code;
  int currency;   // index into kCurrencies; -1 for countries no user lives in
  double weight;  // share of cardholders
};

struct Currency {
  const char* code;
  double per_usd;  // amounts are drawn in USD and converted
};

constexpr Currency kCurrencies[] = {{"USD", 1},   {"GBP", 0.79}, {"EUR", 0.92}, {"CAD", 1.36},
                                    {"BRL", 5.0}, {"INR", 83},   {"JPY", 150},  {"AUD", 1.52},
                                    {"MXN", 17},  {"PLN", 4.0}};

constexpr Country kCountries[] = {
    {"US", 0, 0.34},
    {"GB", 1, 0.10},
    {"DE", 2, 0.09},
    {"FR", 2, 0.08},
    {"ES", 2, 0.05},
    {"IT", 2, 0.05},
    {"NL", 2, 0.03},
    {"CA", 3, 0.05},
    {"BR", 4, 0.05},
    {"IN", 5, 0.05},
    {"JP", 6, 0.04},
    {"AU", 7, 0.03},
    {"MX", 8, 0.02},
    {"PL", 9, 0.02},
    // Places transactions happen but (in this world) no cardholder lives.
    {"SG", -1, 0},
    {"AE", -1, 0},
    {"TH", -1, 0},
    {"TR", -1, 0},
    {"ZA", -1, 0},
    {"PT", 2, 0},
};
constexpr int kNumCountries = sizeof(kCountries) / sizeof(kCountries[0]);

struct Category {
  const char* name;
  double weight;        // share of legitimate spending events
  double amount_shift;  // added to the user's log-amount mean
};

enum CategoryId {
  kGrocery,
  kRestaurant,
  kFuel,
  kRetail,
  kTransport,
  kEntertainment,
  kDigitalGoods,
  kElectronics,
  kTravel,
  kGiftCards,
  kJewelry,
  kNumCategories
};

constexpr Category kCategories[kNumCategories] = {
    {"grocery", 0.22, -0.1},       {"restaurant", 0.16, -0.2}, {"fuel", 0.10, 0.4},
    {"retail", 0.14, 0.3},         {"transport", 0.08, -0.7},  {"entertainment", 0.07, -0.1},
    {"digital_goods", 0.07, -1.0}, {"electronics", 0.05, 1.3}, {"travel", 0.04, 1.6},
    {"gift_cards", 0.02, 0.9},     {"jewelry", 0.01, 1.8},
};

enum Channel : uint8_t { kWeb, kApp, kPos };
constexpr const char* kChannelNames[] = {"web", "app", "pos"};

enum FraudType : uint8_t { kLegit, kCardTesting, kAccountTakeover, kHighAmount, kVelocity };
constexpr const char* kFraudNames[] = {"", "card_testing", "account_takeover", "high_amount",
                                       "velocity"};

// Picks an index by weight using one uniform in [0, 1).
template <typename T, size_t N, typename W>
int Pick(const T (&items)[N], W weight, double u) {
  double total = 0;
  for (const T& it : items) total += weight(it);
  double x = u * total;
  for (size_t i = 0; i < N; ++i) {
    x -= weight(items[i]);
    if (x < 0) return static_cast<int>(i);
  }
  return static_cast<int>(N - 1);
}

// A cardholder's habits, derived from a hash of (seed, user) on demand.
struct User {
  int country;
  int num_devices;  // 1..3
  int num_cards;    // 1..2
  double mu;        // mean of log(amount in USD)
  double sigma;     // its standard deviation
  double channel_w[3];
  int favorites[3];  // categories
  double travel;     // chance a transaction happens abroad
};

User MakeUser(uint64_t seed, uint64_t id) {
  User u;
  uint64_t h = Mix(seed ^ 0x5553455253ULL, id);
  auto next = [&h] { return Unit(h = SplitMix(h)); };
  u.country = Pick(
      kCountries, [](const Country& c) { return c.weight; }, next());
  u.num_devices = 1 + static_cast<int>(next() * 3);
  u.num_cards = next() < 0.25 ? 2 : 1;
  // log-amount mean ~ N(3.2, 0.6): median spend around $25, some big spenders.
  double z = std::sqrt(-2.0 * std::log(1.0 - next())) * std::cos(6.283185307179586 * next());
  u.mu = 3.2 + 0.6 * z;
  u.sigma = 0.45 + 0.5 * next();
  double kind = next();  // online-heavy, app-heavy or in-store
  if (kind < 0.3) {
    u.channel_w[kWeb] = 0.6, u.channel_w[kApp] = 0.2, u.channel_w[kPos] = 0.2;
  } else if (kind < 0.55) {
    u.channel_w[kWeb] = 0.15, u.channel_w[kApp] = 0.6, u.channel_w[kPos] = 0.25;
  } else {
    u.channel_w[kWeb] = 0.15, u.channel_w[kApp] = 0.1, u.channel_w[kPos] = 0.75;
  }
  for (int& f : u.favorites)
    f = Pick(
        kCategories, [](const Category& c) { return c.weight; }, next());
  u.travel = next() < 0.1 ? 0.05 : 0.005;
  return u;
}

// ---------------------------------------------------------------------------
// Transactions.

struct Tx {
  int64_t ts_ms;
  uint64_t seq;  // 1-based, in event-time order; tx_id is derived from it
  uint32_t user;
  uint8_t card;
  uint8_t category;
  uint8_t country;
  uint8_t channel;
  uint32_t merchant;
  uint64_t device;  // 0 = none (card present)
  int64_t amount_cents;
  uint8_t currency;
  uint8_t fraud;  // FraudType
};

struct Label {
  int64_t label_time_ms;
  int64_t tx_time_ms;
  uint64_t seq;
  uint32_t user;
  uint8_t label;
  uint8_t fraud;
};

// Orders by time, then by sequence (so equal times keep generation order).
struct LaterFirst {
  bool operator()(const std::pair<int64_t, Tx>& a, const std::pair<int64_t, Tx>& b) const {
    if (a.first != b.first) return a.first > b.first;
    return a.second.seq > b.second.seq;
  }
};
using TxHeap =
    std::priority_queue<std::pair<int64_t, Tx>, std::vector<std::pair<int64_t, Tx>>, LaterFirst>;

class Generator {
 public:
  explicit Generator(const Options& o)
      : o_(o), rng_(Mix(o.seed, 1)), user_zipf_(o.users, o.zipf > 0 ? o.zipf : 1e-9) {
    // Merchants: each has a category (by weight); within a category,
    // popularity is Zipf-distributed.
    by_category_.resize(kNumCategories);
    for (uint64_t m = 0; m < o.merchants; ++m) {
      int c = Pick(
          kCategories, [](const Category& c) { return c.weight; },
          Unit(Mix(o.seed ^ 0x4d45524348ULL, m)));
      by_category_[c].push_back(static_cast<uint32_t>(m));
    }
    for (int c = 0; c < kNumCategories; ++c) {
      // Guarantee every category has a merchant.
      if (by_category_[c].empty()) by_category_[c].push_back(static_cast<uint32_t>(c));
      merchant_zipf_.emplace_back(by_category_[c].size(), 1.1);
    }
    // Hot users are spread over the id space: rank k maps to user
    // (k * stride + offset) mod U with stride coprime to U.
    stride_ = 2654435761ULL % o.users;
    if (o.users > 1) {
      while (stride_ == 0 || std::gcd(stride_, o.users) != 1) stride_ = stride_ % (o.users - 1) + 1;
    }
    offset_ = Mix(o.seed, 2) % o.users;
    // Traits are a pure function of (seed, user); small worlds keep them.
    if (o.users <= kCachedUsers) {
      users_.reserve(o.users);
      for (uint64_t u = 0; u < o.users; ++u) users_.push_back(MakeUser(o.seed, u));
    }
    // Episodes are started so that fraud transactions make up fraud_rate of
    // all transactions: q * L / (1 + q * L) = r, with L the mean episode size.
    constexpr double kMeanEpisode = 0.30 * 13.0 + 0.30 * 4.0 + 0.25 * 1.3 + 0.15 * 15.0;
    episode_chance_ = o.fraud_rate / ((1 - o.fraud_rate) * kMeanEpisode);
    t_ms_ = static_cast<double>(o.start.micros() / 1000);
    rate_ = o.rate > 0 ? o.rate : static_cast<double>(o.users) * 3.0 / 86400.0;
  }

  // The next transaction in event-time order.
  Tx Next() {
    if (!have_next_) {
      // The normal stream advances by exponential gaps at a rate that
      // follows the day (peak mid-afternoon UTC, trough at night).
      double hour = std::fmod(t_ms_ / 3.6e6, 24.0);
      double rate = rate_ * (1.0 + 0.5 * std::sin(6.283185307179586 * (hour - 8.0) / 24.0));
      t_ms_ += rng_.Exp() * 1000.0 / rate;
      have_next_ = true;
    }
    const int64_t ts = static_cast<int64_t>(t_ms_);
    if (!pending_.empty() && pending_.top().first <= ts) {
      Tx tx = pending_.top().second;  // a scheduled fraud transaction comes first
      pending_.pop();
      tx.seq = ++seq_;
      return tx;
    }
    have_next_ = false;
    if (rng_.Chance(episode_chance_)) StartEpisode(ts);  // schedules after ts
    Tx tx = Legit(ts);
    tx.seq = ++seq_;
    return tx;
  }

  uint64_t episodes(int type) const { return episodes_[type]; }

 private:
  static constexpr uint64_t kCachedUsers = 1000000;

  User GetUser(uint32_t id) const { return users_.empty() ? MakeUser(o_.seed, id) : users_[id]; }

  uint32_t PickUser() {
    uint64_t rank = user_zipf_.Sample(rng_) - 1;
    return static_cast<uint32_t>((rank * stride_ + offset_) % o_.users);
  }

  uint32_t PickMerchant(int category, uint32_t user, bool regular) {
    const auto& list = by_category_[category];
    if (regular) {
      // Each user has three regular merchants per category.
      return list[Mix(Mix(o_.seed, user), category * 4 + rng_.Below(3)) % list.size()];
    }
    return list[merchant_zipf_[category].Sample(rng_) - 1];
  }

  uint64_t UserDevice(uint32_t user, int k) const {
    return Mix(o_.seed ^ 0x444556ULL, (static_cast<uint64_t>(user) << 2) | k) | 1;
  }
  // Fraudsters reuse a small pool of devices across victims.
  uint64_t FraudDevice() { return Mix(o_.seed ^ 0x465244ULL, rng_.Below(64)) | 1; }

  int ForeignCountry(int home) {
    int c;
    do {
      c = static_cast<int>(rng_.Below(kNumCountries));
    } while (c == home);
    return c;
  }

  int64_t Amount(double log_usd, const User& u) {
    double usd = std::exp(log_usd);
    double local = usd * kCurrencies[kCountries[u.country].currency].per_usd;
    int64_t cents = std::llround(local * 100.0);
    return std::clamp<int64_t>(cents, 1, 100000000 - 1);
  }

  Tx Base(int64_t ts, uint32_t user, const User& u) {
    Tx tx{};
    tx.ts_ms = ts;
    tx.user = user;
    tx.card = static_cast<uint8_t>(u.num_cards > 1 && rng_.Chance(0.2) ? 1 : 0);
    tx.currency = static_cast<uint8_t>(kCountries[u.country].currency);
    tx.country = static_cast<uint8_t>(u.country);
    return tx;
  }

  Tx Legit(int64_t ts) {
    uint32_t user = PickUser();
    const User u = GetUser(user);
    Tx tx = Base(ts, user, u);
    double x = rng_.Uniform() * (u.channel_w[0] + u.channel_w[1] + u.channel_w[2]);
    tx.channel = x < u.channel_w[kWeb]                       ? kWeb
                 : x < u.channel_w[kWeb] + u.channel_w[kApp] ? kApp
                                                             : kPos;
    int cat = rng_.Chance(0.65)
                  ? u.favorites[rng_.Below(3)]
                  : Pick(
                        kCategories, [](const Category& c) { return c.weight; }, rng_.Uniform());
    tx.category = static_cast<uint8_t>(cat);
    tx.merchant = PickMerchant(cat, user, rng_.Chance(0.5));
    tx.device =
        tx.channel == kPos ? 0 : UserDevice(user, static_cast<int>(rng_.Below(u.num_devices)));
    if (rng_.Chance(u.travel)) tx.country = static_cast<uint8_t>(ForeignCountry(u.country));
    tx.amount_cents = Amount(u.mu + kCategories[cat].amount_shift + u.sigma * rng_.Normal(), u);
    tx.fraud = kLegit;
    return tx;
  }

  void Schedule(Tx tx) { pending_.push({tx.ts_ms, tx}); }

  // Fraud comes in episodes against one victim, scheduled ahead in event
  // time and merged with the normal stream.
  void StartEpisode(int64_t t0) {
    uint32_t victim = static_cast<uint32_t>(rng_.Below(o_.users));  // anyone can be a victim
    const User u = GetUser(victim);
    double p = rng_.Uniform();
    int64_t t = t0 + 1 + static_cast<int64_t>(rng_.Below(60000));
    if (p < 0.30) {
      // Card testing: a burst of tiny online payments from a fraudster's
      // device abroad, sometimes followed by one large purchase.
      ++episodes_[kCardTesting];
      uint64_t device = FraudDevice();
      int country = ForeignCountry(u.country);
      int n = 5 + static_cast<int>(rng_.Below(16));
      for (int i = 0; i < n; ++i) {
        Tx tx = Base(t, victim, u);
        tx.channel = kWeb;
        tx.device = device;
        tx.country = static_cast<uint8_t>(country);
        int cat = rng_.Chance(0.6) ? kDigitalGoods : rng_.Chance(0.5) ? kGiftCards : kRetail;
        tx.category = static_cast<uint8_t>(cat);
        tx.merchant = PickMerchant(cat, victim, false);
        tx.amount_cents = 50 + static_cast<int64_t>(rng_.Below(450));
        tx.fraud = kCardTesting;
        Schedule(tx);
        t += 2000 + static_cast<int64_t>(rng_.Below(40000));
      }
      if (rng_.Chance(0.5)) {
        Tx tx = Base(t + static_cast<int64_t>(rng_.Below(600000)), victim, u);
        tx.channel = kWeb;
        tx.device = device;
        tx.country = static_cast<uint8_t>(country);
        tx.category = kElectronics;
        tx.merchant = PickMerchant(kElectronics, victim, false);
        tx.amount_cents = Amount(u.mu + 2.5 + 0.3 * rng_.Normal(), u);
        tx.fraud = kCardTesting;
        Schedule(tx);
      }
    } else if (p < 0.60) {
      // Account takeover: a new device in another country, a few large
      // purchases in resellable categories within the hour.
      ++episodes_[kAccountTakeover];
      uint64_t device = FraudDevice();
      int country = ForeignCountry(u.country);
      int n = 2 + static_cast<int>(rng_.Below(5));
      static constexpr int kCats[] = {kElectronics, kGiftCards, kJewelry, kTravel};
      for (int i = 0; i < n; ++i) {
        Tx tx = Base(t, victim, u);
        tx.channel = rng_.Chance(0.5) ? kWeb : kApp;
        tx.device = device;
        tx.country = static_cast<uint8_t>(country);
        int cat = kCats[rng_.Below(4)];
        tx.category = static_cast<uint8_t>(cat);
        tx.merchant = PickMerchant(cat, victim, false);
        tx.amount_cents = Amount(u.mu + 2.0 + 0.5 * rng_.Normal(), u);
        tx.fraud = kAccountTakeover;
        Schedule(tx);
        t += 60000 + static_cast<int64_t>(rng_.Below(900000));
      }
    } else if (p < 0.85) {
      // High amount at a risky category, 10-40 times the user's usual
      // spend, on the user's own channel and device.
      ++episodes_[kHighAmount];
      int n = rng_.Chance(0.3) ? 2 : 1;
      static constexpr int kCats[] = {kJewelry, kElectronics, kTravel};
      for (int i = 0; i < n; ++i) {
        Tx tx = Base(t, victim, u);
        tx.channel = rng_.Chance(0.6) ? kWeb : kPos;
        tx.device = tx.channel == kPos ? 0 : UserDevice(victim, 0);
        if (rng_.Chance(0.5)) tx.country = static_cast<uint8_t>(ForeignCountry(u.country));
        int cat = kCats[rng_.Below(3)];
        tx.category = static_cast<uint8_t>(cat);
        tx.merchant = PickMerchant(cat, victim, false);
        tx.amount_cents = Amount(u.mu + std::log(rng_.Uniform(10, 40)), u);
        tx.fraud = kHighAmount;
        Schedule(tx);
        t += 300000 + static_cast<int64_t>(rng_.Below(3600000));
      }
    } else {
      // Velocity: a cloned card used in shops abroad many times within
      // minutes, ordinary-looking amounts.
      ++episodes_[kVelocity];
      int country = ForeignCountry(u.country);
      int n = 8 + static_cast<int>(rng_.Below(15));
      for (int i = 0; i < n; ++i) {
        Tx tx = Base(t, victim, u);
        tx.channel = kPos;
        tx.device = 0;
        tx.country = static_cast<uint8_t>(country);
        int cat = rng_.Chance(0.5) ? kRetail : rng_.Chance(0.5) ? kElectronics : kFuel;
        tx.category = static_cast<uint8_t>(cat);
        tx.merchant = PickMerchant(cat, victim, false);
        tx.amount_cents = Amount(u.mu + 0.7 + 0.5 * rng_.Normal(), u);
        tx.fraud = kVelocity;
        Schedule(tx);
        t += 10000 + static_cast<int64_t>(rng_.Below(90000));
      }
    }
  }

  const Options& o_;
  Rng rng_;
  ZipfSampler user_zipf_;
  std::vector<std::vector<uint32_t>> by_category_;
  std::vector<ZipfSampler> merchant_zipf_;
  uint64_t stride_ = 1, offset_ = 0;
  std::vector<User> users_;
  double episode_chance_ = 0;
  double rate_ = 1;  // mean transactions per second of event time
  double t_ms_ = 0;  // event time of the next normal transaction, in ms
  bool have_next_ = false;
  uint64_t seq_ = 0;
  TxHeap pending_;
  uint64_t episodes_[5] = {};
};

// ---------------------------------------------------------------------------
// Output.

// Appends `v` zero-padded to `width` digits.
void AppendPadded(std::string& out, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(buf[--n]);
}

void AppendHex(std::string& out, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 15]);
}

// "2024-05-01T12:00:00.123Z", caching the date part.
class TimeFormatter {
 public:
  void Append(std::string& out, int64_t ms) {
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t in_day = ms - days * 86400000;
    if (days != cached_day_) {
      int64_t y;
      unsigned m, d;
      CivilFromDays(days, y, m, d);
      date_.clear();
      AppendPadded(date_, static_cast<uint64_t>(y), 4);
      date_.push_back('-');
      AppendPadded(date_, m, 2);
      date_.push_back('-');
      AppendPadded(date_, d, 2);
      date_.push_back('T');
      cached_day_ = days;
    }
    out += date_;
    int64_t s = in_day / 1000;
    AppendPadded(out, static_cast<uint64_t>(s / 3600), 2);
    out.push_back(':');
    AppendPadded(out, static_cast<uint64_t>(s / 60 % 60), 2);
    out.push_back(':');
    AppendPadded(out, static_cast<uint64_t>(s % 60), 2);
    out.push_back('.');
    AppendPadded(out, static_cast<uint64_t>(in_day % 1000), 3);
    out.push_back('Z');
  }

 private:
  int64_t cached_day_ = INT64_MIN;
  std::string date_;
};

enum class Defect { kNone, kTruncated, kWrongType, kBadTimestamp, kInvalidUtf8, kMissingField };
constexpr int kNumDefects = 5;

constexpr std::string_view kCsvHeader =
    "tx_id,user_id,card_id,merchant_id,merchant_category,device_id,country,channel,amount,"
    "currency,ts";

class Writer {
 public:
  Writer(const Options& o, const Sink& sink) : o_(o), sink_(sink), rng_(Mix(o.seed, 3)) {
    buf_.reserve(kFlushAt + 4096);
    if (o.csv) {
      buf_ += kCsvHeader;
      buf_.push_back('\n');
    }
  }

  // Writes `tx`, broken in some way with probability --malformed.
  void Write(const Tx& tx) {
    Defect defect = Defect::kNone;
    if (o_.malformed > 0 && rng_.Chance(o_.malformed)) {
      defect = static_cast<Defect>(1 + rng_.Below(kNumDefects));
      ++malformed_;
    }
    if (defect == Defect::kNone) {
      Format(tx, defect, buf_);
    } else {
      line_.clear();
      Format(tx, defect, line_);
      if (defect == Defect::kTruncated) {
        // Any proper prefix of a JSON object is invalid; a CSV row is cut
        // before its last delimiter so that it always lacks a column.
        size_t limit = o_.csv ? line_.rfind(',') : line_.size() - 1;
        line_.resize(1 + rng_.Below(limit));
      }
      buf_ += line_;
    }
    buf_.push_back('\n');
    if (buf_.size() >= kFlushAt) Flush();
  }

  void Flush() {
    if (!buf_.empty()) sink_(buf_);
    bytes_ += buf_.size();
    buf_.clear();
  }

  uint64_t malformed() const { return malformed_; }
  uint64_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kFlushAt = 1 << 20;

  void Format(const Tx& tx, Defect defect, std::string& out) {
    // Which required field a kMissingField / kWrongType record breaks.
    int victim = defect == Defect::kMissingField || defect == Defect::kWrongType
                     ? static_cast<int>(rng_.Below(4))
                     : -1;
    const bool csv = o_.csv;
    auto key = [&](const char* name, bool first = false) {
      if (csv) {
        if (!first) out.push_back(',');
      } else {
        if (!first) out.push_back(',');
        out.push_back('"');
        out += name;
        out += "\":";
      }
    };
    auto quote = [&] {
      if (!csv) out.push_back('"');
    };
    if (!csv) out.push_back('{');
    // tx_id (missing-field victim 0)
    if (!(defect == Defect::kMissingField && victim == 0) || csv) {
      key("tx_id", true);
      if (!(defect == Defect::kMissingField && victim == 0)) {
        quote();
        out.push_back('t');
        AppendPadded(out, tx.seq, 10);
        quote();
      }
    }
    // user_id (missing-field victim 1; wrong-type victim 1 writes a number)
    if (!(defect == Defect::kMissingField && victim == 1) || csv) {
      key("user_id", !csv && defect == Defect::kMissingField && victim == 0);
      if (!(defect == Defect::kMissingField && victim == 1)) {
        if (defect == Defect::kWrongType && victim == 1 && !csv) {
          AppendPadded(out, tx.user, 1);
        } else {
          quote();
          out.push_back('u');
          AppendPadded(out, tx.user, 7);
          quote();
        }
      }
    }
    key("card_id");
    quote();
    out.push_back('c');
    AppendPadded(out, tx.user, 7);
    out.push_back(static_cast<char>('0' + tx.card));
    quote();
    key("merchant_id");
    quote();
    out.push_back('m');
    AppendPadded(out, tx.merchant, 6);
    if (defect == Defect::kInvalidUtf8) {
      static constexpr const char* kBad[] = {"\xff", "\xc3", "\xed\xa0\x80", "\xe2\x82",
                                             "\xc0\xaf"};
      out += kBad[rng_.Below(5)];
    }
    quote();
    key("merchant_category");
    quote();
    out += kCategories[tx.category].name;
    quote();
    key("device_id");
    if (tx.device != 0) {
      quote();
      out.push_back('d');
      AppendHex(out, tx.device, 12);
      quote();
    } else if (!csv) {
      out += "null";
    }
    key("country");
    quote();
    out += kCountries[tx.country].code;
    quote();
    key("channel");
    if (defect == Defect::kWrongType && victim == 3 && !csv) {
      out.push_back(static_cast<char>('0' + tx.channel));
    } else {
      quote();
      out += kChannelNames[tx.channel];
      quote();
    }
    // amount (missing-field victim 2). Wrong types: in JSON, victim 0 writes
    // the currency as an object, 1 the user id as a number (above), 2 the
    // amount as a string, 3 the channel as a number (below); in CSV every
    // wrong-type record has an amount with a unit.
    if (!(defect == Defect::kMissingField && victim == 2) || csv) {
      key("amount");
      if (!(defect == Defect::kMissingField && victim == 2)) {
        bool as_string = defect == Defect::kWrongType && victim == 2 && !csv;
        if (as_string) out.push_back('"');
        AppendPadded(out, static_cast<uint64_t>(tx.amount_cents / 100), 1);
        out.push_back('.');
        AppendPadded(out, static_cast<uint64_t>(tx.amount_cents % 100), 2);
        if (as_string) out.push_back('"');
        if (defect == Defect::kWrongType && csv) out += " EUR";
      }
    }
    key("currency");
    if (defect == Defect::kWrongType && victim == 0 && !csv) {
      out += "{\"code\":\"";
      out += kCurrencies[tx.currency].code;
      out += "\"}";
    } else {
      quote();
      out += kCurrencies[tx.currency].code;
      quote();
    }
    // ts (missing-field victim 3)
    if (!(defect == Defect::kMissingField && victim == 3) || csv) {
      key("ts");
      if (!(defect == Defect::kMissingField && victim == 3)) {
        if (defect == Defect::kBadTimestamp) {
          static constexpr const char* kBadTs[] = {"2024-13-01T00:00:00Z", "2024-05-01 12:00:00",
                                                   "yesterday", "2024-02-30T10:00:00Z",
                                                   "1714564800"};
          int which = static_cast<int>(rng_.Below(5));
          if (which == 4 && !csv) {
            AppendPadded(out, static_cast<uint64_t>(tx.ts_ms), 1);  // epoch ms, not a string
          } else {
            quote();
            out += kBadTs[which];
            quote();
          }
        } else {
          quote();
          time_.Append(out, tx.ts_ms);
          quote();
        }
      }
    }
    if (!csv) out.push_back('}');
  }

  const Options& o_;
  const Sink& sink_;
  Rng rng_;
  std::string buf_;
  std::string line_;
  TimeFormatter time_;
  uint64_t malformed_ = 0;
  uint64_t bytes_ = 0;
};

void WriteLabels(std::vector<Label>& labels, const Sink& sink) {
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) {
    return a.label_time_ms != b.label_time_ms ? a.label_time_ms < b.label_time_ms : a.seq < b.seq;
  });
  TimeFormatter tf;
  std::string out;
  for (const Label& l : labels) {
    out += "{\"tx_id\":\"t";
    AppendPadded(out, l.seq, 10);
    out += "\",\"user_id\":\"u";
    AppendPadded(out, l.user, 7);
    out += "\",\"label\":";
    out.push_back(static_cast<char>('0' + l.label));
    out += ",\"label_time\":\"";
    tf.Append(out, l.label_time_ms);
    out += "\",\"tx_time\":\"";
    tf.Append(out, l.tx_time_ms);
    out += "\",\"fraud_type\":";
    if (l.fraud != kLegit) {
      out += "\"";
      out += kFraudNames[l.fraud];
      out += "\"}\n";
    } else {
      out += "null}\n";
    }
    if (out.size() >= (1 << 20)) {
      sink(out);
      out.clear();
    }
  }
  if (!out.empty()) sink(out);
}

}  // namespace

Stats Generate(const Options& o, const Sink& out, const Sink& label_sink) {
  Stats stats;
  Generator gen(o);
  Writer writer(o, out);
  Rng order_rng(Mix(o.seed, 4));
  Rng label_rng(Mix(o.seed, 5));
  std::vector<Label> labels;
  // Records leave in order of (event time + delay). Most have no delay; a
  // few are held back within the disorder bound, fewer far beyond it.
  TxHeap outbox;
  const double disorder_ms = o.disorder_bound_s * 1000.0;
  for (uint64_t i = 0; i < o.events; ++i) {
    Tx tx = gen.Next();
    if (tx.fraud != kLegit) ++stats.fraud;
    if (o.labels) {
      if (tx.fraud != kLegit) {
        // Chargebacks arrive chargeback_min_days to chargeback_max_days later
        // (one to sixty days by default).
        int64_t delay = static_cast<int64_t>(o.chargeback_min_days * 86400000.0) +
                        static_cast<int64_t>(label_rng.Below(
                            static_cast<uint64_t>((o.chargeback_max_days - o.chargeback_min_days) *
                                                  86400000.0) +
                            1));
        labels.push_back({tx.ts_ms + delay, tx.ts_ms, tx.seq, tx.user, 1, tx.fraud});
      } else if (label_rng.Chance(o.label_sample)) {
        // Confirmed legitimate after a review window (one to six weeks by
        // default).
        int64_t delay =
            static_cast<int64_t>(o.review_min_days * 86400000.0) +
            static_cast<int64_t>(label_rng.Below(
                static_cast<uint64_t>((o.review_max_days - o.review_min_days) * 86400000.0) + 1));
        labels.push_back({tx.ts_ms + delay, tx.ts_ms, tx.seq, tx.user, 0, kLegit});
      }
    }
    int64_t key = tx.ts_ms;
    double u = order_rng.Uniform();
    if (u < o.late) {
      key += static_cast<int64_t>(order_rng.Uniform(o.late_min_s, o.late_max_s) * 1000.0);
      ++stats.late;
    } else if (u < o.late + o.disorder) {
      key += 1 + static_cast<int64_t>(order_rng.Uniform() * disorder_ms);
      ++stats.disordered;
    }
    while (!outbox.empty() && outbox.top().first <= tx.ts_ms) {
      writer.Write(outbox.top().second);
      outbox.pop();
    }
    if (key == tx.ts_ms && (outbox.empty() || outbox.top().first > key)) {
      writer.Write(tx);  // the common case skips the heap
    } else {
      outbox.push({key, tx});
    }
  }
  while (!outbox.empty()) {
    writer.Write(outbox.top().second);
    outbox.pop();
  }
  writer.Flush();
  if (o.labels) WriteLabels(labels, label_sink);
  stats.transactions = o.events;
  for (int t = 0; t < 4; ++t) stats.episodes[t] = gen.episodes(t + 1);
  stats.malformed = writer.malformed();
  stats.bytes = writer.bytes();
  stats.labels = labels.size();
  return stats;
}

std::string_view CsvHeader() { return kCsvHeader; }

std::string_view TxSchemaYaml() {
  return R"(    schema:
      fields:
        - {name: tx_id, type: string, required: true}
        - {name: user_id, type: string, required: true}
        - {name: card_id, type: string, required: true}
        - {name: merchant_id, type: string, required: true}
        - name: merchant_category
          type: string
          required: true
          allowed: [grocery, restaurant, fuel, retail, transport, entertainment,
                    digital_goods, electronics, travel, gift_cards, jewelry]
        - {name: device_id, type: string}
        - {name: country, type: string, required: true}
        - {name: channel, type: string, required: true, allowed: [web, app, pos]}
        - {name: amount, type: double, required: true, min: 0, max: 1000000}
        - name: currency
          type: string
          required: true
          allowed: [USD, GBP, EUR, CAD, BRL, INR, JPY, AUD, MXN, PLN]
        - {name: ts, type: timestamp}
    event_time: ts
    key: user_id
    id: tx_id
)";
}

std::string TxSourceYaml(std::string_view format, std::string_view path) {
  std::string out = "  - name: tx\n    format: ";
  out.append(format);
  out.append("\n    path: ");
  out.append(path);
  out.append("\n");
  out.append(TxSchemaYaml());
  out.append("    watermark: {max_out_of_orderness: 5s, allowed_lateness: 1m}\n");
  return out;
}

}  // namespace eddy::datagen
