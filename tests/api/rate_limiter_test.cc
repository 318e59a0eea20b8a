#include "api/rate_limiter.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace voxgate::api {
namespace {

class FakeClock {
 public:
  std::chrono::steady_clock::time_point Now() const { return now_; }
  void Advance(double seconds) {
    now_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
  }
  RateLimiter::Clock AsClock() {
    return [this] { return Now(); };
  }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1000)};
};

RateLimiterConfig Config(double rate, double burst, int max_buckets = 1000) {
  RateLimiterConfig c;
  c.rate_per_s = rate;
  c.burst = burst;
  c.max_buckets = max_buckets;
  c.idle_evict_s = 60;
  return c;
}

TEST(RateLimiterTest, AllowsBurstThenRefusesWithRetryAfter) {
  FakeClock clock;
  RateLimiter limiter(Config(2, 3), clock.AsClock());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire("k").allowed) << i;
  RateLimiter::Decision d = limiter.Acquire("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1);  // 1 token at 2/s: 0.5 s, rounded up
  clock.Advance(0.5);
  EXPECT_TRUE(limiter.Acquire("k").allowed);
  EXPECT_FALSE(limiter.Acquire("k").allowed);
  // Other callers have their own buckets.
  EXPECT_TRUE(limiter.Acquire("other").allowed);
}

TEST(RateLimiterTest, RetryAfterRoundsUp) {
  FakeClock clock;
  RateLimiter limiter(Config(0.25, 1), clock.AsClock());
  EXPECT_TRUE(limiter.Acquire("k").allowed);
  RateLimiter::Decision d = limiter.Acquire("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 4);
  clock.Advance(1.5);
  d = limiter.Acquire("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 3);  // 2.5 s left, rounded up
}

TEST(RateLimiterTest, RefillIsCappedAtBurst) {
  FakeClock clock;
  RateLimiter limiter(Config(10, 2), clock.AsClock());
  EXPECT_TRUE(limiter.Acquire("k").allowed);
  clock.Advance(3600);
  EXPECT_TRUE(limiter.Acquire("k").allowed);
  EXPECT_TRUE(limiter.Acquire("k").allowed);
  EXPECT_FALSE(limiter.Acquire("k").allowed);
}

TEST(RateLimiterTest, MemoryIsBounded) {
  FakeClock clock;
  RateLimiter limiter(Config(1, 1, /*max_buckets=*/100), clock.AsClock());
  for (int i = 0; i < 10000; ++i) limiter.Acquire("caller-" + std::to_string(i));
  EXPECT_LE(limiter.bucket_count(), 100u);
  // Idle buckets go away on their own.
  clock.Advance(61);
  limiter.Acquire("fresh");
  EXPECT_EQ(limiter.bucket_count(), 1u);
}

TEST(RateLimiterTest, RecentlyUsedBucketSurvivesEviction) {
  FakeClock clock;
  RateLimiter limiter(Config(0.001, 1, /*max_buckets=*/3), clock.AsClock());
  EXPECT_TRUE(limiter.Acquire("hot").allowed);
  limiter.Acquire("a");
  limiter.Acquire("b");
  EXPECT_FALSE(limiter.Acquire("hot").allowed);  // touch: most recent again
  limiter.Acquire("c");                          // evicts "a", the least recently used
  EXPECT_FALSE(limiter.Acquire("hot").allowed);  // still limited: state kept
}

TEST(RateLimiterTest, DisabledAllowsEverything) {
  RateLimiterConfig c = Config(1, 1);
  c.enabled = false;
  RateLimiter limiter(c);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Acquire("k").allowed);
  EXPECT_EQ(limiter.bucket_count(), 0u);
}

TEST(RateLimiterTest, ConcurrentCallersNeverExceedBurst) {
  FakeClock clock;  // frozen: no refill
  RateLimiter limiter(Config(1, 500), clock.AsClock());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Acquire("shared").allowed) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 500);
}

TEST(RateLimiterTest, ConfigValidation) {
  EXPECT_TRUE(RateLimiterConfig().Validate().ok());
  RateLimiterConfig c;
  c.rate_per_s = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = RateLimiterConfig();
  c.burst = 0.5;
  EXPECT_FALSE(c.Validate().ok());
}

}  // namespace
}  // namespace voxgate::api
