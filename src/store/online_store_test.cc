#include "store/online_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "store/store_backends_test_util.h"
#include "store/store_key.h"
#include "test_util.h"

namespace eddy {
namespace {

// A vector whose every value is derived from its event time `t`, so that a
// reader can tell a whole vector from a torn one.
StoredVector VectorAt(int64_t t) {
  StoredVector v;
  v.event_time = EventTime::FromMicros(t);
  v.computed_at = ProcessingTime::FromMicros(t + 7);
  v.values.push_back(FeatureValue::Int(t));
  v.values.push_back(FeatureValue::Double(static_cast<double>(t) * 0.5));
  v.values.push_back(FeatureValue::String(StrCat("s", t)));
  auto& list = v.values.emplace_back().SetList();
  for (int i = 0; i < static_cast<int>(t % 4); ++i) list.push_back(StrCat(t, "/", i));
  v.values.push_back(FeatureValue::Bool(t % 2 == 0));
  return v;
}

// "" when `v` is VectorAt(v.event_time), else what differs.
std::string CheckConsistent(const StoredVector& v) {
  return v == VectorAt(v.event_time.micros())
             ? ""
             : StrCat("torn vector at event time ", v.event_time.micros());
}

std::string Key(int i) { return StrCat("user-", i); }

int64_t EventTimeOf(const Result<std::optional<StoredVector>>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r.ok() && r->has_value());
  return r.ok() && r->has_value() ? (*r)->event_time.micros() : -1;
}

// ---------------------------------------------------------------------------
// Semantics every backend shares.

class OnlineStoreTest : public StoreBackendTest {};

TEST_P(OnlineStoreTest, MissingKeyIsNullopt) {
  Result<std::optional<StoredVector>> r = store_->Get("g", "nobody");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
}

TEST_P(OnlineStoreTest, PutThenGetRoundTrips) {
  ASSERT_TRUE(store_->Put("g", "k", VectorAt(100)).ok());
  Result<std::optional<StoredVector>> r = store_->Get("g", "k");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(**r, VectorAt(100));
  // And after the write reached the backend.
  ASSERT_TRUE(store_->Flush().ok());
  r = store_->Get("g", "k");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(**r, VectorAt(100));
  EXPECT_EQ(store_->stats().puts, 1u);
}

TEST_P(OnlineStoreTest, LaterOrEqualEventTimeReplaces) {
  ASSERT_TRUE(store_->Put("g", "k", VectorAt(100)).ok());
  ASSERT_TRUE(store_->Put("g", "k", VectorAt(200)).ok());
  EXPECT_EQ(EventTimeOf(store_->Get("g", "k")), 200);
  StoredVector same_time = VectorAt(200);
  same_time.values[0] = FeatureValue::Int(-1);
  ASSERT_TRUE(store_->Put("g", "k", same_time).ok());
  Result<std::optional<StoredVector>> r = store_->Get("g", "k");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->values[0], FeatureValue::Int(-1)) << "equal event time: the later Put wins";
}

TEST_P(OnlineStoreTest, OutOfOrderPutDoesNotReplaceANewerVector) {
  ASSERT_TRUE(store_->Put("g", "k", VectorAt(200)).ok());
  ASSERT_TRUE(store_->Put("g", "k", VectorAt(100)).ok());
  EXPECT_EQ(EventTimeOf(store_->Get("g", "k")), 200);
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_TRUE(store_->Put("g", "k", VectorAt(150)).ok());
  EXPECT_EQ(EventTimeOf(store_->Get("g", "k")), 200);
  EXPECT_EQ(store_->stats().out_of_order, 2u);
}

TEST_P(OnlineStoreTest, GroupsNeverCollide) {
  ASSERT_TRUE(store_->Put("ab", "c", VectorAt(1)).ok());
  ASSERT_TRUE(store_->Put("a", "bc", VectorAt(2)).ok());
  ASSERT_TRUE(store_->Put("", "abc", VectorAt(3)).ok());
  ASSERT_TRUE(store_->Put("abc", "", VectorAt(4)).ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(EventTimeOf(store_->Get("ab", "c")), 1);
  EXPECT_EQ(EventTimeOf(store_->Get("a", "bc")), 2);
  EXPECT_EQ(EventTimeOf(store_->Get("", "abc")), 3);
  EXPECT_EQ(EventTimeOf(store_->Get("abc", "")), 4);
}

TEST_P(OnlineStoreTest, KeysAreArbitraryBytes) {
  const std::string key("k\0\xff\x01", 4);
  ASSERT_TRUE(store_->Put("g", key, VectorAt(9)).ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(EventTimeOf(store_->Get("g", key)), 9);
  Result<std::optional<StoredVector>> prefix = store_->Get("g", "k");
  ASSERT_TRUE(prefix.ok());
  EXPECT_FALSE(prefix->has_value());
}

TEST_P(OnlineStoreTest, MultiGetAnswersEachKeyInOrder) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->Put("g", Key(i), VectorAt(i)).ok());
  ASSERT_TRUE(store_->Flush().ok());
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(store_->Put("g", Key(i), VectorAt(i)).ok());
  std::vector<std::string> owned = {Key(15), "missing", Key(3), Key(3), Key(19), Key(0)};
  std::vector<std::string_view> keys(owned.begin(), owned.end());
  Result<std::vector<std::optional<StoredVector>>> r = store_->MultiGet("g", keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), keys.size());
  const int64_t expected[] = {15, -1, 3, 3, 19, 0};
  for (size_t i = 0; i < keys.size(); ++i) {
    if (expected[i] < 0) {
      EXPECT_FALSE((*r)[i].has_value()) << i;
    } else {
      ASSERT_TRUE((*r)[i].has_value()) << i;
      EXPECT_EQ(*(*r)[i], VectorAt(expected[i])) << i;
    }
  }
  Result<std::vector<std::optional<StoredVector>>> none = store_->MultiGet("g", {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Readers run while the writer puts ever later vectors and flushes. Each
// read must be a whole vector (every value derived from its event time), and
// one reader must never see a key go back in time.
TEST_P(OnlineStoreTest, ConcurrentReadersNeverSeeTornOrOlderVectors) {
  constexpr int kKeys = 200;
  constexpr int kRounds = 60;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> reads{0};
  auto reader = [&](unsigned seed, bool multi) {
    std::mt19937 rng(seed);
    std::vector<int64_t> seen(kKeys, std::numeric_limits<int64_t>::min());
    std::vector<std::string> owned(8);
    std::vector<std::string_view> keys(8);
    std::vector<int> ids(8);
    auto check = [&](int id, const std::optional<StoredVector>& v) {
      if (!v) return;
      std::string bad = CheckConsistent(*v);
      const int64_t t = v->event_time.micros();
      if (bad.empty() && t < seen[id]) bad = StrCat("key ", id, " went back from ", seen[id]);
      if (!bad.empty() && failures.fetch_add(1) < 5) {
        ADD_FAILURE() << bad;
      }
      seen[id] = std::max(seen[id], t);
    };
    while (!done.load()) {
      if (multi) {
        for (size_t j = 0; j < keys.size(); ++j) {
          ids[j] = static_cast<int>(rng() % kKeys);
          owned[j] = Key(ids[j]);
          keys[j] = owned[j];
        }
        Result<std::vector<std::optional<StoredVector>>> r = store_->MultiGet("g", keys);
        if (!r.ok()) {
          if (failures.fetch_add(1) < 5) {
            ADD_FAILURE() << r.status().ToString();
          }
          continue;
        }
        for (size_t j = 0; j < keys.size(); ++j) check(ids[j], (*r)[j]);
      } else {
        const int id = static_cast<int>(rng() % kKeys);
        Result<std::optional<StoredVector>> r = store_->Get("g", Key(id));
        if (!r.ok()) {
          if (failures.fetch_add(1) < 5) {
            ADD_FAILURE() << r.status().ToString();
          }
          continue;
        }
        check(id, *r);
      }
      reads.fetch_add(1);
    }
  };
  std::vector<std::thread> readers;
  for (unsigned i = 0; i < 3; ++i) readers.emplace_back(reader, i + 1, i == 2);
  while (reads.load() < 3) std::this_thread::yield();  // the readers are reading
  std::mt19937 rng(42);
  // At least kRounds, and on until the readers have done some work.
  int round = 1;
  for (; round <= kRounds || (reads.load() < 5000 && round < 100 * kRounds); ++round) {
    for (int i = 0; i < kKeys; ++i) {
      // Mostly forward in time, sometimes an out-of-order event.
      const int64_t t = round * 1000 + i - (rng() % 8 == 0 ? 1500 : 0);
      ASSERT_TRUE(store_->Put("g", Key(i), VectorAt(t)).ok());
    }
    if (round % 5 == 0) {
      ASSERT_TRUE(store_->Flush().ok());
    }
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0u);
  for (int i = 0; i < kKeys; ++i) {
    Result<std::optional<StoredVector>> r = store_->Get("g", Key(i));
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ(CheckConsistent(**r), "");
    EXPECT_GE((*r)->event_time.micros(), (round - 1) * 1000 - 1500 + i);
  }
}

TEST_P(OnlineStoreTest, CheckpointIsARocksDbStoreWithTheSameVectors) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->Put("g", Key(i), VectorAt(i)).ok());
  const std::string cp = dir_.File("checkpoints/1");  // parents are created
  ASSERT_TRUE(store_->Checkpoint(cp).ok());
  ASSERT_TRUE(store_->Put("g", Key(0), VectorAt(1000)).ok());  // after: not in the checkpoint
  Status again = store_->Checkpoint(cp);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();

  RocksDbStoreOptions options;
  options.create_if_missing = false;
  Result<std::unique_ptr<OnlineStore>> copy = OpenRocksDbStore(cp, options);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(EventTimeOf((*copy)->Get("g", Key(i))), i);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, OnlineStoreTest,
    ::testing::Values(
        Backend{"memory", [](const std::string&) { return OpenMemoryStore(); }},
        Backend{"rocksdb", [](const std::string& dir) { return OpenRocksForTest(dir, 1000, 100); }},
        // Every read from RocksDB, every few Puts written: the racy paths.
        Backend{"rocksdb_no_cache",
                [](const std::string& dir) { return OpenRocksForTest(dir, 0, 7); }},
        Backend{"rocksdb_tiny_cache",
                [](const std::string& dir) { return OpenRocksForTest(dir, 70, 13); }}),
    BackendName);

// ---------------------------------------------------------------------------
// The RocksDB store.

class RocksDbStoreTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<OnlineStore>> Open(size_t cache_entries = 1000,
                                            size_t write_buffer_entries = 1000) {
    RocksDbStoreOptions options;
    options.cache_entries = cache_entries;
    options.write_buffer_entries = write_buffer_entries;
    return OpenRocksDbStore(path_, options);
  }
  std::unique_ptr<OnlineStore> MustOpen(size_t cache_entries = 1000,
                                        size_t write_buffer_entries = 1000) {
    Result<std::unique_ptr<OnlineStore>> s = Open(cache_entries, write_buffer_entries);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  testing::TempDir dir_;
  const std::string path_ = dir_.File("store");
};

TEST_F(RocksDbStoreTest, SurvivesRestartAfterFlush) {
  {
    auto store = MustOpen();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(store->Put("g", Key(i), VectorAt(i)).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  auto store = MustOpen();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(EventTimeOf(store->Get("g", Key(i))), i);
  EXPECT_GE(store->stats().keys, 90u);  // an estimate
}

TEST_F(RocksDbStoreTest, ClosingFlushesBufferedPuts) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Put("g", "k", VectorAt(5)).ok());
    EXPECT_EQ(store->stats().buffered, 1u);
  }
  auto store = MustOpen();
  EXPECT_EQ(EventTimeOf(store->Get("g", "k")), 5);
}

TEST_F(RocksDbStoreTest, OutOfOrderPutAgainstAVectorOnlyOnDisk) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Put("g", "k", VectorAt(200)).ok());
  }
  // A fresh cache: the newer vector is only in RocksDB.
  auto store = MustOpen();
  ASSERT_TRUE(store->Put("g", "k", VectorAt(100)).ok());
  EXPECT_EQ(EventTimeOf(store->Get("g", "k")), 200);
  EXPECT_EQ(store->stats().out_of_order, 1u);
  ASSERT_TRUE(store->Put("g", "k", VectorAt(300)).ok());
  EXPECT_EQ(EventTimeOf(store->Get("g", "k")), 300);
}

TEST_F(RocksDbStoreTest, CacheHitsAndMissesAreCounted) {
  auto store = MustOpen();
  ASSERT_TRUE(store->Put("g", "k", VectorAt(1)).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(store->Get("g", "k").ok());
  ASSERT_TRUE(store->Get("g", "absent").ok());
  OnlineStore::Stats st = store->stats();
  EXPECT_EQ(st.cache_hits, 1u);
  EXPECT_EQ(st.cache_misses, 1u);
}

TEST_F(RocksDbStoreTest, CacheHoldsAtMostCacheEntriesAndMissesReadRocksDb) {
  constexpr size_t kCache = 100;
  constexpr int kKeys = 1000;
  auto store = MustOpen(kCache, 50);
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(store->Put("g", Key(i), VectorAt(i)).ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_LE(store->stats().cached, kCache);
  EXPECT_EQ(store->stats().buffered, 0u);
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < kKeys; ++i) EXPECT_EQ(EventTimeOf(store->Get("g", Key(i))), i);
  }
  OnlineStore::Stats st = store->stats();
  EXPECT_LE(st.cached, kCache);
  EXPECT_GT(st.cached, kCache / 2);
  EXPECT_GE(st.cache_misses, 2u * (kKeys - kCache));
  EXPECT_EQ(st.cache_hits + st.cache_misses, 2u * kKeys);
}

// Unflushed vectors live only in the cache, so any slip of its hash table
// (growth, deletion of evicted neighbours) would show as a lost or old vector.
TEST_F(RocksDbStoreTest, UnflushedPutsSurviveCacheChurn) {
  constexpr int kKeys = 5000;
  auto store = MustOpen(/*cache_entries=*/64, /*write_buffer_entries=*/1 << 20);
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(store->Put("g", Key(i), VectorAt(round * 100000 + i)).ok());
    }
    EXPECT_EQ(store->stats().buffered, static_cast<uint64_t>(kKeys));
    for (int i = kKeys - 1; i >= 0; --i) {
      ASSERT_EQ(EventTimeOf(store->Get("g", Key(i))), round * 100000 + i) << round;
    }
    ASSERT_TRUE(store->Flush().ok());  // all clean now: evicted down to 64
    EXPECT_LE(store->stats().cached, 64u);
    for (int i = 0; i < kKeys; i += 7) {
      ASSERT_EQ(EventTimeOf(store->Get("g", Key(i))), round * 100000 + i) << round;
    }
  }
}

TEST_F(RocksDbStoreTest, RecentlyReadKeysStayCached) {
  auto store = MustOpen(/*cache_entries=*/64 * 4);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(store->Put("g", Key(i), VectorAt(i)).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(store->Get("g", Key(7)).ok());
  const uint64_t hits = store->stats().cache_hits;
  ASSERT_TRUE(store->Get("g", Key(7)).ok());
  EXPECT_EQ(store->stats().cache_hits, hits + 1);
}

TEST_F(RocksDbStoreTest, WithoutCacheEveryReadIsAMiss) {
  auto store = MustOpen(/*cache_entries=*/0);
  ASSERT_TRUE(store->Put("g", "k", VectorAt(3)).ok());
  ASSERT_TRUE(store->Flush().ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(EventTimeOf(store->Get("g", "k")), 3);
  EXPECT_EQ(store->stats().cache_hits, 0u);
  EXPECT_EQ(store->stats().cache_misses, 3u);
  EXPECT_EQ(store->stats().cached, 0u);
}

TEST_F(RocksDbStoreTest, PutWritesOnItsOwnPastTheWriteBuffer) {
  auto store = MustOpen(1000, /*write_buffer_entries=*/10);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(store->Put("g", Key(i), VectorAt(i)).ok());
    ASSERT_LE(store->stats().buffered, 11u);
  }
}

TEST_F(RocksDbStoreTest, CheckpointAndRestoreGiveTheCheckpointedState) {
  const std::string cp = dir_.File("cp-1");
  {
    auto store = MustOpen();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(store->Put("g", Key(i), VectorAt(i)).ok());
    ASSERT_TRUE(store->Checkpoint(cp).ok());
    // After the checkpoint: updates and new keys, which a restore must undo.
    for (int i = 0; i < 150; ++i) ASSERT_TRUE(store->Put("g", Key(i), VectorAt(1000 + i)).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  Status restored = RestoreRocksDbStore(cp, path_);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  auto store = MustOpen();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(EventTimeOf(store->Get("g", Key(i))), i);
  for (int i = 100; i < 150; ++i) {
    Result<std::optional<StoredVector>> r = store->Get("g", Key(i));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value()) << Key(i) << " was put after the checkpoint";
  }
  // The checkpoint itself is untouched by the restored store's writes.
  ASSERT_TRUE(store->Put("g", Key(0), VectorAt(5000)).ok());
  store.reset();
  ASSERT_TRUE(RestoreRocksDbStore(cp, path_).ok());
  store = MustOpen();
  EXPECT_EQ(EventTimeOf(store->Get("g", Key(0))), 0);
}

TEST_F(RocksDbStoreTest, RestoreIntoAMissingDirectoryCreatesTheStore) {
  const std::string cp = dir_.File("cp");
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Put("g", "k", VectorAt(1)).ok());
    ASSERT_TRUE(store->Checkpoint(cp).ok());
  }
  const std::string elsewhere = dir_.File("new/place");
  ASSERT_TRUE(RestoreRocksDbStore(cp, elsewhere + "/").ok());  // a trailing slash names the dir
  Result<std::unique_ptr<OnlineStore>> store = OpenRocksDbStore(elsewhere, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(EventTimeOf((*store)->Get("g", "k")), 1);
}

TEST_F(RocksDbStoreTest, RestoreRefusesWhileTheStoreIsOpen) {
  const std::string cp = dir_.File("cp");
  auto store = MustOpen();
  ASSERT_TRUE(store->Put("g", "k", VectorAt(1)).ok());
  ASSERT_TRUE(store->Checkpoint(cp).ok());
  ASSERT_TRUE(store->Put("g", "k", VectorAt(2)).ok());
  Status s = RestoreRocksDbStore(cp, path_);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(EventTimeOf(store->Get("g", "k")), 2);
}

TEST_F(RocksDbStoreTest, RestoreFromWhatIsNotACheckpointFails) {
  std::filesystem::create_directories(dir_.File("empty"));
  Status s = RestoreRocksDbStore(dir_.File("empty"), path_);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("no store checkpoint"), std::string::npos) << s.message();
}

TEST_F(RocksDbStoreTest, ACorruptCheckpointLeavesTheStoreAsItWas) {
  const std::string cp = dir_.File("cp");
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Put("g", "k", VectorAt(1)).ok());
    ASSERT_TRUE(store->Checkpoint(cp).ok());
    ASSERT_TRUE(store->Put("g", "k", VectorAt(2)).ok());
  }
  // Damage the checkpoint: its MANIFEST (the list of table files) is garbage.
  bool damaged = false;
  for (const auto& entry : std::filesystem::directory_iterator(cp)) {
    if (entry.path().filename().string().starts_with("MANIFEST-")) {
      testing::WriteFile(entry.path().string(), "definitely not a manifest");
      damaged = true;
    }
  }
  ASSERT_TRUE(damaged);
  Status s = RestoreRocksDbStore(cp, path_);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("does not open"), std::string::npos) << s.message();
  auto store = MustOpen();
  EXPECT_EQ(EventTimeOf(store->Get("g", "k")), 2);
}

TEST_F(RocksDbStoreTest, SecondOpenInThisProcessIsAClearError) {
  auto store = MustOpen();
  Result<std::unique_ptr<OnlineStore>> second = Open();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status().message();
}

// Helper for SecondProcessGetsAClearError: runs in the child process only.
TEST(RocksDbStoreChildProcess, OpenAndReport) {
  const char* path = std::getenv("EDDY_STORE_TEST_CHILD_OPEN");
  if (path == nullptr) GTEST_SKIP() << "runs only as the child of SecondProcessGetsAClearError";
  Result<std::unique_ptr<OnlineStore>> store = OpenRocksDbStore(path, {});
  std::printf("child-open-status: %s\n", store.status().ToString().c_str());
}

TEST_F(RocksDbStoreTest, SecondProcessGetsAClearError) {
  auto store = MustOpen();
  const std::string command = StrCat("EDDY_STORE_TEST_CHILD_OPEN='", path_, "' ",
                                     std::filesystem::read_symlink("/proc/self/exe").string(),
                                     " --gtest_filter=RocksDbStoreChildProcess.OpenAndReport 2>&1");
  FILE* child = ::popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), child) != nullptr) output += buf;
  ASSERT_EQ(::pclose(child), 0) << output;
  EXPECT_NE(output.find("child-open-status: failed_precondition: cannot open the online store"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("in use"), std::string::npos) << output;
}

TEST_F(RocksDbStoreTest, UnopenableDirectoryIsAnError) {
  testing::WriteFile(dir_.File("a-file"), "x");
  RocksDbStoreOptions options;
  Result<std::unique_ptr<OnlineStore>> store = OpenRocksDbStore(dir_.File("a-file/store"), options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIoError) << store.status().ToString();
  EXPECT_NE(store.status().message().find("a-file/store"), std::string::npos)
      << store.status().message();
}

TEST_F(RocksDbStoreTest, MissingStoreWithoutCreateIsNotFound) {
  RocksDbStoreOptions options;
  options.create_if_missing = false;
  Result<std::unique_ptr<OnlineStore>> store = OpenRocksDbStore(path_, options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound) << store.status().ToString();
}

// Writes `value` under (group, key) with RocksDB directly, as docs/formats/
// online-store.md lays keys out.
void RawPut(const std::string& path, std::string_view group, std::string_view key,
            std::string_view value) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  ASSERT_TRUE(rocksdb::DB::Open(options, path, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeStoreKey(group, key), value).ok());
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(RocksDbStoreTest, CorruptValueIsACorruptionErrorNamingTheKey) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Put("g", "good", VectorAt(1)).ok());
  }
  RawPut(path_, "g", "bad", "\x01garbage");
  auto store = MustOpen();
  Result<std::optional<StoredVector>> r = store->Get("g", "bad");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("feature group 'g' key 'bad'"), std::string::npos)
      << r.status().message();
  std::vector<std::string_view> keys = {"good", "bad"};
  EXPECT_EQ(store->MultiGet("g", keys).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(EventTimeOf(store->Get("g", "good")), 1);
  // A new vector replaces the corrupt one.
  ASSERT_TRUE(store->Put("g", "bad", VectorAt(2)).ok());
  EXPECT_EQ(EventTimeOf(store->Get("g", "bad")), 2);
}

TEST_F(RocksDbStoreTest, KeysAndValuesAreLaidOutAsDocumented) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Put("grp", "key-1", VectorAt(11)).ok());
  }
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), path_, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), std::string("\x03grpkey-1"), &value).ok());
  std::string expected;
  EncodeStoredVector(VectorAt(11), expected);
  EXPECT_EQ(value, expected);
}

}  // namespace
}  // namespace eddy
