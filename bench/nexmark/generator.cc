// The Nexmark-style generator: see generator.h and README.md. Id and
// hot-entity arithmetic follows nexmark-flink's generator (PersonGenerator,
// AuctionGenerator, BidGenerator, StringsGenerator, PriceGenerator); the
// random numbers are our own (xoshiro256**), so values differ from Java's.

#include "bench/nexmark/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/time.h"

namespace eddy::nexmark {
namespace {

constexpr int64_t kFirstPersonId = 1000;
constexpr int64_t kFirstAuctionId = 1000;
constexpr int64_t kFirstCategoryId = 10;
constexpr int kNumCategories = 5;
constexpr int kHotAuctionBatch = 100;  // HOT_AUCTION_RATIO in BidGenerator
constexpr int kHotBidderBatch = 100;   // HOT_BIDDER_RATIO
constexpr int kHotSellerBatch = 100;   // HOT_SELLER_RATIO
constexpr int kPersonIdLead = 10;
constexpr int kAuctionIdLead = 10;
constexpr int kMinStringLength = 3;
constexpr int kHotChannelsRatio = 2;
constexpr int kChannels = 10000;

constexpr const char* kFirstNames[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                       "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
constexpr const char* kLastNames[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                      "Walton", "Smith",  "Jones",   "Noris"};
constexpr const char* kCities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                                   "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr const char* kStates[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr const char* kHotChannels[] = {"Google", "Facebook", "Baidu", "Apple"};
constexpr const char* kHotUrls[] = {
    "https://www.nexmark.com/googl/item.htm?query=1",
    "https://www.nexmark.com/faceb/item.htm?query=1",
    "https://www.nexmark.com/baidu/item.htm?query=1",
    "https://www.nexmark.com/apple/item.htm?query=1",
};

template <size_t N>
const char* Pick(const char* const (&list)[N], uint64_t i) {
  return list[i % N];
}

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  out.append(buf, static_cast<size_t>(n));
}

void Append2(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

Generator::Generator(const Options& o) : o_(o) {
  total_proportion_ = o.person_proportion + o.auction_proportion + o.bid_proportion;
  uint64_t seed = o.seed;
  for (uint64_t& w : s_) w = SplitMix(seed);
}

uint64_t Generator::Next64() {
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

uint64_t Generator::Below(uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(Next64()) * n) >> 64);
}

double Generator::Uniform() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }

int64_t Generator::TimestampMs(uint64_t i) const {
  return o_.base_time_ms + static_cast<int64_t>(static_cast<double>(i) * 1000.0 / o_.rate);
}

int64_t Generator::LastBase0PersonId(uint64_t event_id) const {
  int64_t epoch = static_cast<int64_t>(event_id / static_cast<uint64_t>(total_proportion_));
  int64_t offset = static_cast<int64_t>(event_id % static_cast<uint64_t>(total_proportion_));
  if (offset >= o_.person_proportion) offset = o_.person_proportion - 1;
  return epoch * o_.person_proportion + offset;
}

int64_t Generator::LastBase0AuctionId(uint64_t event_id) const {
  int64_t epoch = static_cast<int64_t>(event_id / static_cast<uint64_t>(total_proportion_));
  int64_t offset = static_cast<int64_t>(event_id % static_cast<uint64_t>(total_proportion_));
  if (offset < o_.person_proportion) {
    --epoch;  // about to generate a person: the last auction of the last epoch
    offset = o_.auction_proportion - 1;
  } else if (offset >= o_.person_proportion + o_.auction_proportion) {
    offset = o_.auction_proportion - 1;  // a bid: the last auction of this epoch
  } else {
    offset -= o_.person_proportion;
  }
  return epoch * o_.auction_proportion + offset;
}

int64_t Generator::NextBase0PersonId(uint64_t event_id) {
  const int64_t people = LastBase0PersonId(event_id) + 1;
  const int64_t active = std::min<int64_t>(people, o_.num_active_people);
  return people - active +
         static_cast<int64_t>(Below(static_cast<uint64_t>(active + kPersonIdLead)));
}

int64_t Generator::NextBase0AuctionId(uint64_t event_id) {
  const int64_t max_auction = LastBase0AuctionId(event_id);
  const int64_t min_auction = std::max<int64_t>(max_auction - o_.num_in_flight_auctions, 0);
  return min_auction + static_cast<int64_t>(Below(
                           static_cast<uint64_t>(max_auction - min_auction + 1 + kAuctionIdLead)));
}

int64_t Generator::NextPrice() {
  return static_cast<int64_t>(std::llround(std::pow(10.0, Uniform() * 6.0) * 100.0));
}

void Generator::AppendString(std::string& out, int max_length) {
  // Letters with an occasional space, trimmed, as StringsGenerator does.
  int len = kMinStringLength +
            static_cast<int>(Below(static_cast<uint64_t>(max_length - kMinStringLength)));
  const size_t start = out.size();
  while (len-- > 0) {
    if (Below(13) == 0) {
      out.push_back(' ');
    } else {
      out.push_back(static_cast<char>('a' + Below(26)));
    }
  }
  while (out.size() > start && out.back() == ' ') out.pop_back();
  size_t lead = start;
  while (lead < out.size() && out[lead] == ' ') ++lead;
  out.erase(start, lead - start);
}

void Generator::AppendExtra(std::string& out, int current_size, int desired_average) {
  if (current_size > desired_average) return;
  desired_average -= current_size;
  const int delta = static_cast<int>(std::lround(desired_average * 0.2));
  const int size = desired_average - delta +
                   (delta == 0 ? 0 : static_cast<int>(Below(static_cast<uint64_t>(2 * delta))));
  for (int i = 0; i < size; ++i) out.push_back(static_cast<char>('a' + Below(26)));
}

void Generator::AppendTime(std::string& out, int64_t ms) {
  const int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != cached_second_) {
    cached_second_ = second;
    const int64_t days = second >= 0 ? second / 86400 : (second - 86399) / 86400;
    const int64_t sod = second - days * 86400;
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    std::snprintf(cached_prefix_, sizeof(cached_prefix_), "%04lld-%02u-%02uT%02u:%02u:%02u",
                  static_cast<long long>(y), m, d, static_cast<unsigned>(sod / 3600),
                  static_cast<unsigned>(sod / 60 % 60), static_cast<unsigned>(sod % 60));
  }
  const unsigned milli = static_cast<unsigned>(ms - second * 1000);
  out.push_back('"');
  out.append(cached_prefix_, 19);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + milli / 100));
  Append2(out, milli % 100);
  out.append("Z\"");
}

void Generator::AppendPerson(std::string& out, uint64_t id, int64_t ts) {
  ++stats_.persons;
  const int64_t person = LastBase0PersonId(id) + kFirstPersonId;
  out.append("{\"event_type\":0,\"id\":");
  AppendInt(out, person);
  // Nexmark sizes the padding from 8 + the string fields' lengths.
  size_t strings = 0;
  auto field = [&](const char* json_key, auto&& write) {
    out.append(json_key);
    const size_t start = out.size();
    write();
    strings += out.size() - start;
    out.push_back('"');
  };
  field(",\"name\":\"", [&] {
    out.append(Pick(kFirstNames, Below(std::size(kFirstNames))));
    out.push_back(' ');
    out.append(Pick(kLastNames, Below(std::size(kLastNames))));
  });
  field(",\"email_address\":\"", [&] {
    AppendString(out, 7);
    out.push_back('@');
    AppendString(out, 5);
    out.append(".com");
  });
  field(",\"credit_card\":\"", [&] {
    for (int i = 0; i < 4; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "%s%04u", i > 0 ? " " : "",
                    static_cast<unsigned>(Below(10000)));
      out.append(buf);
    }
  });
  field(",\"city\":\"", [&] { out.append(Pick(kCities, Below(std::size(kCities)))); });
  field(",\"state\":\"", [&] { out.append(Pick(kStates, Below(std::size(kStates)))); });
  out.append(",\"date_time\":");
  AppendTime(out, ts);
  out.append(",\"extra\":\"");
  AppendExtra(out, 8 + static_cast<int>(strings), o_.avg_person_bytes);
  out.append("\"}\n");
}

void Generator::AppendAuction(std::string& out, uint64_t id, int64_t ts) {
  ++stats_.auctions;
  const int64_t auction = LastBase0AuctionId(id) + kFirstAuctionId;
  int64_t seller;
  if (Below(static_cast<uint64_t>(o_.hot_sellers_ratio)) > 0) {
    seller = (LastBase0PersonId(id) / kHotSellerBatch) * kHotSellerBatch;
  } else {
    seller = NextBase0PersonId(id);
  }
  seller += kFirstPersonId;
  const int64_t category = kFirstCategoryId + static_cast<int64_t>(Below(kNumCategories));
  const int64_t initial_bid = NextPrice();
  // Auctions last on average until num_in_flight_auctions more have started.
  const uint64_t events_for_auctions = static_cast<uint64_t>(o_.num_in_flight_auctions) *
                                       static_cast<uint64_t>(total_proportion_) /
                                       static_cast<uint64_t>(o_.auction_proportion);
  const int64_t horizon = TimestampMs(id + events_for_auctions) - ts;
  const int64_t expires =
      ts + 1 +
      static_cast<int64_t>(Below(static_cast<uint64_t>(std::max<int64_t>(horizon * 2, 1))));
  const int64_t reserve = initial_bid + NextPrice();

  out.append("{\"event_type\":1,\"id\":");
  AppendInt(out, auction);
  out.append(",\"item_name\":\"");
  size_t name_start = out.size();
  AppendString(out, 20);
  const size_t name_len = out.size() - name_start;
  out.append("\",\"description\":\"");
  size_t desc_start = out.size();
  AppendString(out, 100);
  const size_t desc_len = out.size() - desc_start;
  out.append("\",\"initial_bid\":");
  AppendInt(out, initial_bid);
  out.append(",\"reserve\":");
  AppendInt(out, reserve);
  out.append(",\"date_time\":");
  AppendTime(out, ts);
  out.append(",\"expires\":");
  AppendTime(out, expires);
  out.append(",\"seller\":");
  AppendInt(out, seller);
  out.append(",\"category\":");
  AppendInt(out, category);
  out.append(",\"extra\":\"");
  AppendExtra(out, 8 + static_cast<int>(name_len + desc_len) + 40, o_.avg_auction_bytes);
  out.append("\"}\n");
}

void Generator::AppendBid(std::string& out, uint64_t id, int64_t ts) {
  ++stats_.bids;
  int64_t auction;
  if (Below(static_cast<uint64_t>(o_.hot_auction_ratio)) > 0) {
    // The first auction of the current batch of 100: the hot one.
    auction = (LastBase0AuctionId(id) / kHotAuctionBatch) * kHotAuctionBatch;
    ++stats_.hot_bids;
  } else {
    auction = NextBase0AuctionId(id);
  }
  auction += kFirstAuctionId;
  int64_t bidder;
  if (Below(static_cast<uint64_t>(o_.hot_bidders_ratio)) > 0) {
    bidder = (LastBase0PersonId(id) / kHotBidderBatch) * kHotBidderBatch + 1;
  } else {
    bidder = NextBase0PersonId(id);
  }
  bidder += kFirstPersonId;
  const int64_t price = NextPrice();

  out.append("{\"event_type\":2,\"auction\":");
  AppendInt(out, auction);
  out.append(",\"bidder\":");
  AppendInt(out, bidder);
  out.append(",\"price\":");
  AppendInt(out, price);
  out.append(",\"channel\":\"");
  if (Below(kHotChannelsRatio) > 0) {
    const uint64_t c = Below(std::size(kHotChannels));
    out.append(kHotChannels[c]);
    out.append("\",\"url\":\"");
    out.append(kHotUrls[c]);
  } else {
    out.append("channel-");
    AppendInt(out, static_cast<int64_t>(Below(kChannels)));
    out.append("\",\"url\":\"https://www.nexmark.com/");
    for (int i = 0; i < 3; ++i) {
      AppendString(out, 5);
      out.push_back('/');
    }
    out.append("item.htm?query=1");
  }
  out.append("\",\"date_time\":");
  AppendTime(out, ts);
  out.append(",\"extra\":\"");
  AppendExtra(out, 32, o_.avg_bid_bytes);
  out.append("\"}\n");
}

Kind Generator::AppendNext(std::string& out) {
  const uint64_t id = next_++;
  const int64_t ts = TimestampMs(id);
  const size_t before = out.size();
  const int64_t offset = static_cast<int64_t>(id % static_cast<uint64_t>(total_proportion_));
  Kind kind;
  if (offset < o_.person_proportion) {
    AppendPerson(out, id, ts);
    kind = Kind::kPerson;
  } else if (offset < o_.person_proportion + o_.auction_proportion) {
    AppendAuction(out, id, ts);
    kind = Kind::kAuction;
  } else {
    AppendBid(out, id, ts);
    kind = Kind::kBid;
  }
  stats_.bytes += out.size() - before;
  return kind;
}

Stats Generate(const Options& o, const std::function<void(std::string_view)>& sink) {
  Generator g(o);
  std::string chunk;
  chunk.reserve(1 << 20);
  while (!g.done()) {
    g.AppendNext(chunk);
    if (chunk.size() >= (1 << 20) - 4096) {
      sink(chunk);
      chunk.clear();
    }
  }
  if (!chunk.empty()) sink(chunk);
  return g.stats();
}

}  // namespace eddy::nexmark
