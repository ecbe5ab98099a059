// WatermarkTracker: the event-time rules of docs/concepts/event-time.md,
// driven with explicit processing times.

#include "time/watermark.h"

#include <gtest/gtest.h>

namespace eddy {
namespace {

EventTime Sec(int64_t s) { return EventTime::FromMicros(s * 1000000); }
Watermark WmSec(int64_t s) { return Watermark(Sec(s)); }
ProcessingTime At(int64_t s) { return ProcessingTime::FromMicros(s * 1000000); }
constexpr Partition kP0(0), kP1(1), kP2(2);

WatermarkSpec Spec(Duration ooo, Duration lateness, Duration idle) {
  WatermarkSpec s;
  s.max_out_of_orderness = ooo;
  s.allowed_lateness = lateness;
  s.idle_timeout = idle;
  return s;
}

TEST(WatermarkTest, StartsAtMinusInfinity) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 1, At(0));
  EXPECT_TRUE(w.current().is_min());
  EXPECT_TRUE(w.partition_watermark(kP0).is_min());
  EXPECT_FALSE(w.is_idle(kP0));
  EXPECT_FALSE(w.has_ended(kP0));
}

TEST(WatermarkTest, FirstRecordIsNeverLateEvenAtTheStartOfTime) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 1, At(0));
  auto a = w.Admit(kP0, EventTime::Min(), At(0));
  EXPECT_FALSE(a.late);
  EXPECT_TRUE(a.watermark.is_min());
}

TEST(WatermarkTest, PartitionWatermarkIsHighestSeenMinusBound) {
  WatermarkTracker w(Spec(Duration::Seconds(10), Duration::Zero(), Duration::Zero()), 1, At(0));
  EXPECT_FALSE(w.Admit(kP0, Sec(100), At(0)).late);
  EXPECT_EQ(w.partition_watermark(kP0), WmSec(90));
  EXPECT_EQ(w.current(), WmSec(90));
  // Out of order within the bound: accepted, watermark unchanged.
  auto a = w.Admit(kP0, Sec(95), At(0));
  EXPECT_FALSE(a.late);
  EXPECT_EQ(a.watermark, WmSec(90));
  EXPECT_EQ(w.current(), WmSec(90));
  // Newer record moves it.
  w.Admit(kP0, Sec(120), At(0));
  EXPECT_EQ(w.current(), WmSec(110));
}

TEST(WatermarkTest, ExactlyAtWatermarkIsOnTimeOneMicroBelowIsLate) {
  WatermarkTracker w(Spec(Duration::Seconds(10), Duration::Zero(), Duration::Zero()), 1, At(0));
  w.Admit(kP0, Sec(100), At(0));  // watermark 90
  auto on_time = w.Admit(kP0, Sec(90), At(0));
  EXPECT_FALSE(on_time.late);
  auto late = w.Admit(kP0, Sec(90) - Duration::Micros(1), At(0));
  EXPECT_TRUE(late.late);
  EXPECT_EQ(late.watermark, WmSec(90));
  EXPECT_EQ(late.lateness, Duration::Micros(1));
}

TEST(WatermarkTest, AllowedLatenessWidensTheOnTimeRange) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Seconds(5), Duration::Zero()), 1, At(0));
  w.Admit(kP0, Sec(100), At(0));  // watermark 100
  EXPECT_FALSE(w.Admit(kP0, Sec(95), At(0)).late) << "exactly watermark - allowed_lateness";
  auto late = w.Admit(kP0, Sec(94), At(0));
  EXPECT_TRUE(late.late);
  EXPECT_EQ(late.watermark, WmSec(100));
  // Lateness is measured from the watermark, not from the lateness bound.
  EXPECT_EQ(late.lateness, Duration::Seconds(6));
  EXPECT_EQ(w.current(), WmSec(100));
}

TEST(WatermarkTest, LateRecordsDoNotAdvanceTheirPartition) {
  // P1 goes idle, the source watermark moves to P0's; P1 then sends a record
  // that is late against the source watermark but newer than anything P1 saw.
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(1));
  EXPECT_TRUE(w.current().is_min());
  EXPECT_TRUE(w.Tick(At(10)));  // P1 silent since 0: idle
  EXPECT_TRUE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(100));
  auto a = w.Admit(kP1, Sec(50), At(10));
  EXPECT_TRUE(a.late);
  EXPECT_EQ(a.lateness, Duration::Seconds(50));
  EXPECT_FALSE(w.is_idle(kP1)) << "any record shows the partition is alive";
  EXPECT_TRUE(w.partition_watermark(kP1).is_min()) << "a late record must not advance it";
  EXPECT_EQ(w.current(), WmSec(100)) << "never backwards";
}

TEST(WatermarkTest, SourceWatermarkIsMinimumOverPartitions) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  EXPECT_TRUE(w.current().is_min()) << "P1 never spoke: it holds the watermark at -inf";
  w.Admit(kP1, Sec(50), At(0));
  EXPECT_EQ(w.current(), WmSec(50));
  w.Admit(kP0, Sec(200), At(0));
  EXPECT_EQ(w.current(), WmSec(50));
  w.Admit(kP1, Sec(300), At(0));
  EXPECT_EQ(w.current(), WmSec(200));
  EXPECT_EQ(w.partition_watermark(kP0), WmSec(200));
  EXPECT_EQ(w.partition_watermark(kP1), WmSec(300));
}

TEST(WatermarkTest, LatenessIsJudgedAgainstTheSourceWatermark) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  w.Admit(kP1, Sec(100), At(0));
  w.Admit(kP0, Sec(500), At(0));  // source watermark still 100 (P1)
  // P1 may go back to 100 although P0 is far ahead.
  EXPECT_FALSE(w.Admit(kP1, Sec(100), At(0)).late);
  EXPECT_TRUE(w.Admit(kP1, Sec(99), At(0)).late);
}

TEST(WatermarkTest, SilentPartitionBecomesIdleAfterTimeout) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(1));
  w.Admit(kP1, Sec(50), At(2));
  EXPECT_EQ(w.current(), WmSec(50));
  w.Admit(kP0, Sec(200), At(5));
  // P1 last spoke at 2s: idle at 12s, not before.
  EXPECT_FALSE(w.Tick(At(11)));
  EXPECT_FALSE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(50));
  // At 12s P1 is idle. P0 spoke at 5s, so it is still active.
  EXPECT_TRUE(w.Tick(At(12)));
  EXPECT_TRUE(w.is_idle(kP1));
  EXPECT_FALSE(w.is_idle(kP0));
  EXPECT_EQ(w.num_idle(), 1);
  EXPECT_EQ(w.current(), WmSec(200));
}

TEST(WatermarkTest, IdlenessIsAlsoNoticedWhenAnotherPartitionSpeaks) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(1));
  EXPECT_TRUE(w.current().is_min());
  // No Tick: the record at 10s itself notices that P1 has been silent 10s.
  auto a = w.Admit(kP0, Sec(101), At(10));
  EXPECT_TRUE(a.watermark.is_min()) << "the verdict uses the watermark before the record";
  EXPECT_TRUE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(101));
}

TEST(WatermarkTest, IdlePartitionRejoinsWithoutMovingWatermarkBack) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(1));
  w.Admit(kP1, Sec(50), At(1));
  EXPECT_EQ(w.current(), WmSec(50));
  w.Admit(kP0, Sec(200), At(8));
  EXPECT_TRUE(w.Tick(At(11)));  // P1 idle
  EXPECT_EQ(w.current(), WmSec(200));
  // P1 rejoins at 150: late against 200, so it keeps max_seen 50 and the
  // source watermark stays at 200 (it never moves backwards).
  EXPECT_TRUE(w.Admit(kP1, Sec(150), At(12)).late);
  EXPECT_FALSE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(200));
  // P1 holds the watermark again: P0 advancing alone does not move it.
  w.Admit(kP0, Sec(300), At(13));
  EXPECT_EQ(w.current(), WmSec(200));
  // P1 catches up: the minimum is P1.
  w.Admit(kP1, Sec(250), At(14));
  EXPECT_EQ(w.current(), WmSec(250));
  w.Admit(kP1, Sec(400), At(15));
  EXPECT_EQ(w.current(), WmSec(300));
}

TEST(WatermarkTest, RejoinedPartitionCanBecomeIdleAgain) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  w.Admit(kP1, Sec(100), At(0));
  w.Admit(kP0, Sec(110), At(9));
  EXPECT_TRUE(w.Tick(At(10)));  // P1 idle
  EXPECT_TRUE(w.is_idle(kP1));
  w.Admit(kP0, Sec(120), At(15));
  w.Admit(kP1, Sec(130), At(16));  // rejoins; idle again at 26s
  EXPECT_FALSE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(120));
  w.Admit(kP0, Sec(140), At(20));
  w.Admit(kP0, Sec(150), At(24));
  EXPECT_EQ(w.current(), WmSec(130));
  EXPECT_FALSE(w.Tick(At(25)));
  EXPECT_FALSE(w.is_idle(kP1));
  EXPECT_TRUE(w.Tick(At(26)));
  EXPECT_TRUE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(150));
}

TEST(WatermarkTest, AllLivePartitionsIdleHoldsTheWatermark) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  w.Admit(kP1, Sec(50), At(0));
  EXPECT_EQ(w.current(), WmSec(50));
  // Both become idle at once: the watermark neither jumps to P0's 100 nor to
  // the end of time.
  EXPECT_FALSE(w.Tick(At(100)));
  EXPECT_TRUE(w.is_idle(kP0));
  EXPECT_TRUE(w.is_idle(kP1));
  EXPECT_EQ(w.num_idle(), 2);
  EXPECT_EQ(w.current(), WmSec(50));
  // The first to speak again defines it.
  w.Admit(kP1, Sec(70), At(101));
  EXPECT_EQ(w.current(), WmSec(70));
}

TEST(WatermarkTest, StaggeredIdlenessAdvancesToTheLastActivePartition) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 3, At(0));
  w.Admit(kP0, Sec(10), At(0));
  w.Admit(kP1, Sec(20), At(5));
  w.Admit(kP2, Sec(30), At(8));
  EXPECT_EQ(w.current(), WmSec(10));
  EXPECT_TRUE(w.Tick(At(10)));  // P0 idle
  EXPECT_EQ(w.current(), WmSec(20));
  EXPECT_TRUE(w.Tick(At(15)));  // P1 idle
  EXPECT_EQ(w.current(), WmSec(30));
  EXPECT_FALSE(w.Tick(At(18)));  // P2 idle too: hold
  EXPECT_EQ(w.current(), WmSec(30));
  EXPECT_EQ(w.num_idle(), 3);
}

TEST(WatermarkTest, NeverSpokenPartitionGoesIdle) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(3));
  EXPECT_TRUE(w.current().is_min());
  EXPECT_FALSE(w.Tick(At(9)));
  EXPECT_TRUE(w.current().is_min());
  EXPECT_TRUE(w.Tick(At(10)));  // idle clock started at construction
  EXPECT_TRUE(w.is_idle(kP1));
  EXPECT_EQ(w.current(), WmSec(100));
}

TEST(WatermarkTest, ZeroIdleTimeoutDisablesIdleness) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  EXPECT_FALSE(w.Tick(At(1000000)));
  w.Admit(kP0, Sec(200), At(2000000));
  EXPECT_FALSE(w.is_idle(kP1));
  EXPECT_EQ(w.num_idle(), 0);
  EXPECT_TRUE(w.current().is_min());
}

TEST(WatermarkTest, EndedPartitionStopsHoldingTheWatermark) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  EXPECT_TRUE(w.current().is_min());
  w.EndPartition(kP1);  // never spoke
  EXPECT_TRUE(w.has_ended(kP1));
  EXPECT_TRUE(w.partition_watermark(kP1).is_end_of_time());
  EXPECT_EQ(w.current(), WmSec(100));
  w.EndPartition(kP1);  // idempotent
  EXPECT_EQ(w.current(), WmSec(100));
}

TEST(WatermarkTest, AllPartitionsEndedIsEndOfTime) {
  WatermarkTracker w(Spec(Duration::Seconds(5), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(100), At(0));
  w.Admit(kP1, Sec(100), At(0));
  w.EndPartition(kP0);
  EXPECT_EQ(w.current(), WmSec(95));
  w.EndPartition(kP1);
  EXPECT_TRUE(w.current().is_end_of_time());
  EXPECT_FALSE(w.Tick(At(1000)));
  EXPECT_TRUE(w.current().is_end_of_time());
}

TEST(WatermarkTest, EndingTheLastActivePartitionWhileOthersAreIdleHolds) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Seconds(10)), 2, At(0));
  w.Admit(kP0, Sec(50), At(0));
  w.Admit(kP1, Sec(100), At(9));
  EXPECT_TRUE(w.Tick(At(10)));  // P0 idle: watermark 100
  EXPECT_EQ(w.current(), WmSec(100));
  w.EndPartition(kP1);  // the only live partition left is idle: hold
  EXPECT_EQ(w.current(), WmSec(100));
  EXPECT_EQ(w.num_idle(), 1);
  w.EndPartition(kP0);
  EXPECT_TRUE(w.current().is_end_of_time());
  EXPECT_EQ(w.num_idle(), 0) << "ended partitions are not counted as idle";
}

TEST(WatermarkTest, NoPartitionsIsEndOfTime) {
  WatermarkTracker w(Spec(Duration::Zero(), Duration::Zero(), Duration::Zero()), 0, At(0));
  EXPECT_TRUE(w.current().is_end_of_time());
}

TEST(WatermarkTest, HugeBoundsSaturateInsteadOfOverflowing) {
  WatermarkTracker w(Spec(Duration::Infinite(), Duration::Infinite(), Duration::Zero()), 1, At(0));
  EXPECT_FALSE(w.Admit(kP0, Sec(100), At(0)).late);
  EXPECT_LT(w.current(), WmSec(0));
  EXPECT_FALSE(w.Admit(kP0, EventTime::Min(), At(0)).late);
}

TEST(WatermarkTest, WatermarkNeverMovesBackwards) {
  // A deterministic pseudo-random walk over records, ticks and rejoins.
  WatermarkTracker w(Spec(Duration::Seconds(3), Duration::Seconds(1), Duration::Seconds(5)), 3,
                     At(0));
  uint64_t x = 12345;
  auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  Watermark prev = w.current();
  int64_t now = 0;
  for (int i = 0; i < 5000; ++i) {
    now += static_cast<int64_t>(next() % 3);
    uint64_t r = next();
    if (r % 5 == 0) {
      w.Tick(At(now));
    } else {
      Partition p(static_cast<int32_t>(r % 3));
      // Partition 2 only speaks now and then, so it goes idle and rejoins.
      if (p == kP2 && next() % 10 != 0) p = kP0;
      auto a = w.Admit(p, Sec(i / 2 + static_cast<int64_t>(next() % 20)), At(now));
      EXPECT_EQ(a.watermark, prev);
    }
    ASSERT_GE(w.current(), prev) << "step " << i;
    prev = w.current();
  }
}

}  // namespace
}  // namespace eddy
