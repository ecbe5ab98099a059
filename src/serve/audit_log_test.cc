#include "serve/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <set>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "monitor/metrics.h"
#include "test_util.h"

namespace eddy {
namespace {

TEST(AuditLogTest, RecordFormat) {
  testing::TempDir dir;
  ManualClock clock(ProcessingTime::FromMicros(1714564800123456));  // 2024-05-01T12:00:00.123456Z
  auto log = AuditLog::Open({.path = dir.File("audit.jsonl")}, clock);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE((*log)->Append("prediction", "fraud-svc", "\"model\":\"m\",\"score\":0.5").ok());
  clock.Advance(Duration::Seconds(1));
  ASSERT_TRUE((*log)->Append("admin", "ops \"x\"", "").ok());
  ASSERT_TRUE((*log)->Stop().ok());
  EXPECT_EQ(testing::ReadFile(dir.File("audit.jsonl")),
            "{\"v\":1,\"ts\":\"2024-05-01T12:00:00.123456Z\",\"seq\":0,\"kind\":\"prediction\","
            "\"caller\":\"fraud-svc\",\"model\":\"m\",\"score\":0.5}\n"
            "{\"v\":1,\"ts\":\"2024-05-01T12:00:01.123456Z\",\"seq\":1,\"kind\":\"admin\","
            "\"caller\":\"ops \\\"x\\\"\"}\n");
  struct stat st {};
  ASSERT_EQ(stat(dir.File("audit.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Many threads, a buffer small enough to force backpressure and hundreds of
// flushes: after Stop every record is in the file exactly once, in seq order.
TEST(AuditLogTest, EveryRecordExactlyOnceUnderContention) {
  testing::TempDir dir;
  MetricsRegistry metrics;
  auto log = AuditLog::Open({.path = dir.File("audit.jsonl"),
                             .max_buffer_bytes = 4096,
                             .flush_interval = Duration::Millis(1)},
                            Clock::System(), &metrics);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string fields = StrCat("\"thread\":", t, ",\"i\":", i);
        Status s = (*log)->Append("prediction", StrCat("caller-", t), fields);
        ASSERT_TRUE(s.ok()) << s.ToString();
        if (i % 1000 == 0) {
          ASSERT_TRUE((*log)->Flush().ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE((*log)->Stop().ok());
  EXPECT_EQ((*log)->records_written(), uint64_t{kThreads} * kPerThread);

  std::vector<std::string> lines = testing::ReadLines(dir.File("audit.jsonl"));
  ASSERT_EQ(lines.size(), size_t{kThreads} * kPerThread);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (size_t k = 0; k < lines.size(); ++k) {
    boost::json::object o = boost::json::parse(lines[k]).as_object();
    EXPECT_EQ(o.at("seq").as_int64(), static_cast<int64_t>(k));
    int64_t t = o.at("thread").as_int64();
    EXPECT_EQ(o.at("caller").as_string(), StrCat("caller-", t));
    EXPECT_TRUE(seen.emplace(t, o.at("i").as_int64()).second) << lines[k];
  }
  EXPECT_EQ(seen.size(), size_t{kThreads} * kPerThread);
  std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("eddy_audit_records_total 40000\n"), std::string::npos) << text;
}

TEST(AuditLogTest, StopRefusesNewRecordsAndIsIdempotent) {
  testing::TempDir dir;
  auto log = AuditLog::Open({.path = dir.File("a")}, Clock::System());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("admin", "x", "").ok());
  ASSERT_TRUE((*log)->Stop().ok());
  ASSERT_TRUE((*log)->Stop().ok());
  EXPECT_EQ((*log)->Append("admin", "x", "").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(testing::ReadLines(dir.File("a")).size(), 1u);
}

TEST(AuditLogTest, FlushMakesRecordsVisible) {
  testing::TempDir dir;
  auto log = AuditLog::Open({.path = dir.File("a"), .flush_interval = Duration::Seconds(3600)},
                            Clock::System());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("admin", "x", "\"n\":1").ok());
  ASSERT_TRUE((*log)->Flush().ok());
  EXPECT_EQ(testing::ReadLines(dir.File("a")).size(), 1u);
}

TEST(AuditLogTest, AppendsToAnExistingFileAndReopensAfterRotation) {
  testing::TempDir dir;
  std::string path = dir.File("a");
  testing::WriteFile(path, "{\"old\":true}\n");
  auto log = AuditLog::Open({.path = path}, Clock::System());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("admin", "x", "\"n\":1").ok());
  ASSERT_TRUE((*log)->Flush().ok());
  ASSERT_EQ(std::rename(path.c_str(), dir.File("a.1").c_str()), 0);
  ASSERT_TRUE((*log)->Reopen().ok());
  ASSERT_TRUE((*log)->Append("admin", "x", "\"n\":2").ok());
  ASSERT_TRUE((*log)->Stop().ok());
  EXPECT_EQ(testing::ReadLines(dir.File("a.1")).size(), 2u);
  std::vector<std::string> now = testing::ReadLines(path);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0].find("\"n\":2"), std::string::npos);
}

TEST(AuditLogTest, RejectsFieldsWithNewlines) {
  testing::TempDir dir;
  auto log = AuditLog::Open({.path = dir.File("a")}, Clock::System());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->Append("admin", "x", "\"a\":\n1").code(), StatusCode::kInvalidArgument);
}

TEST(AuditLogTest, WriteFailuresAreReportedNotSilent) {
  // Writes to /dev/full fail with ENOSPC.
  auto log =
      AuditLog::Open({.path = "/dev/full", .flush_interval = Duration::Millis(5)}, Clock::System());
  if (!log.ok()) GTEST_SKIP() << "no /dev/full";
  ASSERT_TRUE((*log)->Append("admin", "x", "").ok());
  Status f = (*log)->Flush();
  EXPECT_EQ(f.code(), StatusCode::kIoError);
  EXPECT_EQ((*log)->Append("admin", "x", "").code(), StatusCode::kIoError);
  Status s = (*log)->Stop();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("1 records not written"), std::string::npos) << s.message();
}

TEST(AuditLogTest, OpenErrors) {
  EXPECT_EQ(AuditLog::Open({.path = "/nonexistent/dir/a"}, Clock::System()).status().code(),
            StatusCode::kIoError);
  EXPECT_EQ(AuditLog::Open({.path = ""}, Clock::System()).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace eddy
