// A Nexmark-style event generator: people, auctions and bids of an online
// auction site, as JSON lines, following the generator of the Nexmark
// benchmark suite (github.com/nexmark/nexmark, after Apache Beam's Nexmark,
// after Tucker et al., "NEXMark - A Benchmark for Queries over Data
// Streams", 2010). See README.md for the model and for what differs.
//
// Deterministic: the same Options give the same bytes. One generator, one
// timeline: event i has event time base_time + i / rate, so the stream is in
// event-time order (as Nexmark's is with outOfOrderGroupSize = 1).
//
// Not thread-safe; use one Generator per thread.

#ifndef EDDY_BENCH_NEXMARK_GENERATOR_H_
#define EDDY_BENCH_NEXMARK_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace eddy::nexmark {

struct Options {
  uint64_t events = 1000000;
  // Events (of all kinds) per second of event time. Nexmark's default first
  // event rate is 10,000/s; the nexmark-flink suite runs at 10,000,000/s.
  double rate = 10000;
  int64_t base_time_ms = 1714521600000;  // 2024-05-01T00:00:00Z
  uint64_t seed = 1;
  // Nexmark's defaults.
  int person_proportion = 1;
  int auction_proportion = 3;
  int bid_proportion = 46;
  int hot_auction_ratio = 2;  // 1 - 1/2 of bids go to the current hot auction
  int hot_sellers_ratio = 4;  // 1 - 1/4 of auctions are by a hot seller
  int hot_bidders_ratio = 4;  // 1 - 1/4 of bids are by a hot bidder
  int num_in_flight_auctions = 100;
  int num_active_people = 1000;
  // Nexmark's idealised average sizes, which set the length of the `extra`
  // padding field (the JSON lines are longer: they carry field names).
  int avg_person_bytes = 200;
  int avg_auction_bytes = 500;
  int avg_bid_bytes = 100;
};

enum class Kind : uint8_t { kPerson = 0, kAuction = 1, kBid = 2 };

struct Stats {
  uint64_t persons = 0;
  uint64_t auctions = 0;
  uint64_t bids = 0;
  uint64_t hot_bids = 0;  // bids on the current hot auction
  uint64_t bytes = 0;     // JSON bytes written, newlines included
};

class Generator {
 public:
  explicit Generator(const Options& o);

  bool done() const { return next_ >= o_.events; }
  // Appends the next event as one JSON object and a newline; returns its
  // kind. REQUIRES: !done().
  Kind AppendNext(std::string& out);
  const Stats& stats() const { return stats_; }

  // Event time of event number `i`, in ms since the epoch.
  int64_t TimestampMs(uint64_t i) const;

 private:
  uint64_t Next64();
  uint64_t Below(uint64_t n);  // uniform in [0, n)
  double Uniform();
  int64_t LastBase0PersonId(uint64_t event_id) const;
  int64_t LastBase0AuctionId(uint64_t event_id) const;
  int64_t NextBase0PersonId(uint64_t event_id);
  int64_t NextBase0AuctionId(uint64_t event_id);
  int64_t NextPrice();
  void AppendString(std::string& out, int max_length);  // 3..max_length letters
  void AppendExtra(std::string& out, int current_size, int desired_average);
  void AppendTime(std::string& out, int64_t ms);
  void AppendPerson(std::string& out, uint64_t id, int64_t ts);
  void AppendAuction(std::string& out, uint64_t id, int64_t ts);
  void AppendBid(std::string& out, uint64_t id, int64_t ts);

  Options o_;
  int total_proportion_;
  uint64_t s_[4];
  uint64_t next_ = 0;
  Stats stats_;
  // Cache of the formatted date and time to the second.
  int64_t cached_second_ = INT64_MIN;
  char cached_prefix_[20];  // "YYYY-MM-DDTHH:MM:SS"
};

// Generates o.events events into `sink` in chunks of whole lines (~1 MiB).
Stats Generate(const Options& o, const std::function<void(std::string_view)>& sink);

}  // namespace eddy::nexmark

#endif  // EDDY_BENCH_NEXMARK_GENERATOR_H_
