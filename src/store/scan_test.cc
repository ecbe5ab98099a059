// OnlineStore::Scan: every vector of one group, in key order, on both
// backends; unflushed vectors merged with flushed ones; stop on the
// callback's error; a corrupt stored value named.

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "store/online_store.h"
#include "store/store_backends_test_util.h"
#include "store/store_key.h"
#include "test_util.h"

namespace eddy {
namespace {

StoredVector VectorAt(int64_t t, std::string_view tag = "") {
  StoredVector v;
  v.event_time = EventTime::FromMicros(t);
  v.computed_at = ProcessingTime::FromMicros(t + 3);
  v.values.push_back(FeatureValue::Int(t));
  v.values.push_back(FeatureValue::Double(static_cast<double>(t) / 3.0));
  v.values.push_back(FeatureValue::String(StrCat("v", t, tag)));
  return v;
}

using Scanned = std::vector<std::pair<std::string, StoredVector>>;

Result<Scanned> ScanAll(const OnlineStore& store, std::string_view group) {
  Scanned out;
  Status s = store.Scan(group, [&](std::string_view key, const StoredVector& v) -> Status {
    out.emplace_back(std::string(key), v);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

class ScanTest : public StoreBackendTest {};

TEST_P(ScanTest, EmptyGroupCallsNothing) {
  Result<Scanned> r = ScanAll(*store_, "g");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST_P(ScanTest, KeysComeInByteOrderWithTheirNewestVector) {
  // Put in scrambled order, some keys twice; half flushed, half not.
  std::vector<int> order(200);
  for (int i = 0; i < 200; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  std::map<std::string, StoredVector> expected;
  for (size_t n = 0; n < order.size(); ++n) {
    const int i = order[n];
    const std::string key = StrCat("k", i);
    ASSERT_TRUE(store_->Put("g", key, VectorAt(i)).ok());
    expected[key] = VectorAt(i);
    if (n == 100) {
      ASSERT_TRUE(store_->Flush().ok());
    }
  }
  // Newer vectors for some flushed keys, left unflushed.
  for (int i = 0; i < 200; i += 7) {
    const std::string key = StrCat("k", i);
    ASSERT_TRUE(store_->Put("g", key, VectorAt(1000 + i, "new")).ok());
    expected[key] = VectorAt(1000 + i, "new");
  }
  // An out-of-order put changes nothing.
  ASSERT_TRUE(store_->Put("g", "k7", VectorAt(1, "old")).ok());

  Result<Scanned> r = ScanAll(*store_, "g");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), expected.size());
  size_t j = 0;
  for (const auto& [key, v] : expected) {  // std::map: byte order
    EXPECT_EQ((*r)[j].first, key);
    EXPECT_EQ((*r)[j].second, v) << key;
    ++j;
  }
  // The same after everything reached the backend.
  ASSERT_TRUE(store_->Flush().ok());
  Result<Scanned> again = ScanAll(*store_, "g");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *r);
}

TEST_P(ScanTest, OnlyTheNamedGroupEvenWithSharedPrefixes) {
  // "ab"+"c" and "a"+"bc" must not leak into each other's scans.
  ASSERT_TRUE(store_->Put("ab", "c", VectorAt(1)).ok());
  ASSERT_TRUE(store_->Put("a", "bc", VectorAt(2)).ok());
  ASSERT_TRUE(store_->Put("a", "", VectorAt(3)).ok());
  ASSERT_TRUE(store_->Put("abc", "", VectorAt(4)).ok());
  ASSERT_TRUE(store_->Put("b", "a", VectorAt(5)).ok());
  for (bool flushed : {false, true}) {
    if (flushed) {
      ASSERT_TRUE(store_->Flush().ok());
    }
    Result<Scanned> a = ScanAll(*store_, "a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_EQ(a->size(), 2u);
    EXPECT_EQ((*a)[0].first, "");
    EXPECT_EQ((*a)[0].second, VectorAt(3));
    EXPECT_EQ((*a)[1].first, "bc");
    Result<Scanned> ab = ScanAll(*store_, "ab");
    ASSERT_TRUE(ab.ok());
    ASSERT_EQ(ab->size(), 1u);
    EXPECT_EQ((*ab)[0].first, "c");
    Result<Scanned> none = ScanAll(*store_, "z");
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
  }
}

TEST_P(ScanTest, BinaryKeysKeepByteOrder) {
  const std::string zero("\0", 1), high("\xff", 1), mixed("a\0b", 3);
  for (const std::string& k : {high, mixed, zero, std::string("a")}) {
    ASSERT_TRUE(store_->Put("g", k, VectorAt(static_cast<int64_t>(k.size()))).ok());
  }
  Result<Scanned> r = ScanAll(*store_, "g");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].first, zero);
  EXPECT_EQ((*r)[1].first, "a");
  EXPECT_EQ((*r)[2].first, mixed);
  EXPECT_EQ((*r)[3].first, high);
}

TEST_P(ScanTest, StopsAtTheCallbacksError) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->Put("g", StrCat("k", i), VectorAt(i)).ok());
  ASSERT_TRUE(store_->Flush().ok());
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(store_->Put("g", StrCat("k", i), VectorAt(i)).ok());
  int calls = 0;
  Status s = store_->Scan("g", [&](std::string_view, const StoredVector&) -> Status {
    return ++calls == 3 ? Status::Cancelled("enough") : Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_EQ(calls, 3);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, ScanTest,
    ::testing::Values(Backend{"memory", [](const std::string&) { return OpenMemoryStore(); }},
                      Backend{"rocksdb",
                              [](const std::string& d) {
                                return OpenRocksForTest(d, 1 << 20, 1 << 17);
                              }},
                      // No cache: every put reads RocksDB first; unflushed vectors still show.
                      Backend{"rocksdb_uncached",
                              [](const std::string& d) { return OpenRocksForTest(d, 0, 1 << 17); }},
                      // Tiny write buffer: puts spill to RocksDB on their own mid-test.
                      Backend{"rocksdb_small_buffer",
                              [](const std::string& d) { return OpenRocksForTest(d, 4, 3); }}),
    BackendName);

// A value that does not decode stops the scan with an error naming the key.
TEST(RocksDbScanTest, CorruptValueIsNamed) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/store";
  {
    std::unique_ptr<OnlineStore> store = OpenRocksForTest(dir.path(), 16, 16);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put("g", "a", VectorAt(1)).ok());
    ASSERT_TRUE(store->Put("g", "c", VectorAt(3)).ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeStoreKey("g", "b"), "\x07garbage").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  std::unique_ptr<OnlineStore> store = OpenRocksForTest(dir.path(), 16, 16);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> seen;
  Status s = store->Scan("g", [&](std::string_view key, const StoredVector&) -> Status {
    seen.emplace_back(key);
    return Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.message();
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace eddy
