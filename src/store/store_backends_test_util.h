// Tests of behaviour every OnlineStore backend shares: the backends to run
// them on, and a fixture that opens one per test in a fresh directory.
//
//   class MyStoreTest : public StoreBackendTest {};
//   TEST_P(MyStoreTest, ...) { store_->Put(...); }
//   INSTANTIATE_TEST_SUITE_P(Backends, MyStoreTest, ::testing::Values(...),
//                            BackendName);

#ifndef EDDY_STORE_STORE_BACKENDS_TEST_UTIL_H_
#define EDDY_STORE_STORE_BACKENDS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/online_store.h"
#include "test_util.h"

namespace eddy {

struct Backend {
  std::string name;
  // Opens a store; `dir` is a fresh directory the store may use.
  std::function<std::unique_ptr<OnlineStore>(const std::string& dir)> open;
};

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

// A RocksDB store in dir/store with these cache and write-buffer sizes, or
// null (and a test failure) when it does not open.
inline std::unique_ptr<OnlineStore> OpenRocksForTest(const std::string& dir, size_t cache_entries,
                                                     size_t write_buffer_entries) {
  RocksDbStoreOptions options;
  options.cache_entries = cache_entries;
  options.write_buffer_entries = write_buffer_entries;
  Result<std::unique_ptr<OnlineStore>> store = OpenRocksDbStore(dir + "/store", options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = GetParam().open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }
  testing::TempDir dir_;
  std::unique_ptr<OnlineStore> store_;
};

}  // namespace eddy

#endif  // EDDY_STORE_STORE_BACKENDS_TEST_UTIL_H_
