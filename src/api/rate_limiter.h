// RateLimiter: one token bucket per caller (an API key id, or the remote address when the caller
// is not authenticated). Each request takes one token; tokens refill at rate_per_s up to burst.
// Memory is bounded: at most max_buckets buckets, least-recently-used first out, and buckets idle
// for idle_evict_s are dropped (an idle bucket has refilled, so dropping it loses nothing).
// Thread-safe (one mutex; each call is O(1) amortised).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/config_node.h"
#include "common/status.h"

namespace voxgate::api {

struct RateLimiterConfig {
  bool enabled = true;
  double rate_per_s = 20.0;     // sustained requests per second per caller
  double burst = 40.0;          // bucket size: requests allowed at once after idling
  int max_buckets = 100000;     // callers tracked at once (memory bound)
  double idle_evict_s = 300.0;  // buckets unused this long are dropped, seconds

  Status Validate() const;
  std::string ToString() const;
  /// Reads enabled, rate_per_s, burst, max_buckets, idle_evict_s.
  Status Load(const ConfigNode& node);
};

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Decision {
    bool allowed = true;
    int retry_after_s = 0;  // when refused: seconds until a token is back, rounded up (>= 1)
    double remaining = 0;   // tokens left after this call
  };

  /// `clock` replaces steady_clock::now (tests).
  explicit RateLimiter(RateLimiterConfig config, Clock clock = {});

  /// Takes `cost` tokens from `key`'s bucket if it has them.
  Decision Acquire(std::string_view key, double cost = 1.0);
  size_t bucket_count() const;
  const RateLimiterConfig& config() const { return config_; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
    std::list<std::string>::iterator lru_pos;
  };

  std::chrono::steady_clock::time_point Now() const;
  void EvictIdle(std::chrono::steady_clock::time_point now);

  const RateLimiterConfig config_;
  const Clock clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
  std::list<std::string> lru_;                       // front: most recent; guarded by mu_
};

}  // namespace voxgate::api
