#include "stream/av_sync_clock.h"

#include <gtest/gtest.h>

#include <cmath>

namespace voxgate::stream {
namespace {

// Feeds 20 ms audio chunks and a renderer that produces frame k at a time given by `ready_at`
// (or never); returns the clock after `seconds`.
template <typename ReadyFn>
AvSyncClock RunClock(int rate, int fps, double seconds, ReadyFn ready_for) {
  AvSyncClock clock(rate, fps);
  const int chunk = rate / 50;
  int64_t renderer_next = 0;  // next frame index the renderer has ready
  for (int i = 0; i < seconds * 50; ++i) {
    clock.AddAudioSamples(chunk);
    int64_t due;
    while (clock.NextFrameDue(&due)) {
      const int64_t ready = ready_for(due, &renderer_next);
      AvSyncClock::Action a = clock.Match(ready);
      if (a == AvSyncClock::Action::kDrop || a == AvSyncClock::Action::kUse) ++renderer_next;
    }
    EXPECT_GT(clock.DriftMs(), 0.0);
    EXPECT_LE(clock.DriftMs(), 1000.0 / fps + 1e-9);
  }
  return clock;
}

TEST(AvSyncClockTest, RendererOnTimeUsesEveryFrame) {
  AvSyncClock c = RunClock(44100, 25, 10, [](int64_t, int64_t* next) { return *next; });
  EXPECT_EQ(c.frames_sent(), 250 + 1);  // slot 0 at t=0 .. slot 250 at t=10 s
  EXPECT_EQ(c.frames_dropped(), 0);
  EXPECT_EQ(c.frames_repeated(), 0);
  EXPECT_NEAR(c.AudioTimeS(), 10.0, 1e-9);
}

TEST(AvSyncClockTest, SlowRendererIsRepeatedFastOneDropped) {
  // A renderer that has nothing for every third slot: repeats, counted, sync held.
  AvSyncClock slow = RunClock(16000, 30, 5, [](int64_t due, int64_t* next) -> int64_t {
    if (due % 3 == 2) return -1;
    *next = due;
    return due;
  });
  EXPECT_EQ(slow.frames_repeated(), 50);
  EXPECT_EQ(slow.frames_dropped(), 0);
  EXPECT_EQ(slow.frames_sent(), 151);

  // A renderer stuck one frame behind for a stretch (its frames are for passed slots): they are
  // dropped until it catches up, and the slots are still filled on time.
  AvSyncClock behind(16000, 25);
  behind.AddAudioSamples(16000);  // 1 s: slots 0..25 due
  int64_t due;
  ASSERT_TRUE(behind.NextFrameDue(&due));
  EXPECT_EQ(due, 0);
  EXPECT_EQ(behind.Match(0), AvSyncClock::Action::kUse);
  EXPECT_EQ(behind.Match(-1), AvSyncClock::Action::kRepeat);  // slot 1: nothing
  EXPECT_EQ(behind.Match(1), AvSyncClock::Action::kDrop);     // late frame for slot 1
  EXPECT_EQ(behind.Match(2), AvSyncClock::Action::kUse);      // slot 2
  EXPECT_EQ(behind.Match(5), AvSyncClock::Action::kRepeat);   // ahead: hold slot 3
  EXPECT_EQ(behind.frames_dropped(), 1);
  EXPECT_EQ(behind.frames_repeated(), 2);
  EXPECT_EQ(behind.frames_sent(), 4);
}

TEST(AvSyncClockTest, NoDriftOverLongRunsWithOddRates) {
  // 22050 Hz audio and 30 fps share no whole number of samples per frame: integer arithmetic keeps
  // the video clock on the audio clock after an hour.
  AvSyncClock c(22050, 30);
  int64_t due;
  for (int i = 0; i < 3600 * 100; ++i) {  // 10 ms chunks of 220.5 -> alternate 220/221
    c.AddAudioSamples(i % 2 == 0 ? 220 : 221);
    while (c.NextFrameDue(&due)) c.Match(due);
  }
  EXPECT_NEAR(c.AudioTimeS(), 3600.0, 1e-9);
  EXPECT_EQ(c.frames_sent(), 3600 * 30 + 1);
  EXPECT_LE(std::abs(c.DriftMs()), 1000.0 / 30);
}

}  // namespace
}  // namespace voxgate::stream
