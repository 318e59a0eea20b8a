#include "api/rate_limiter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace voxgate::api {

Status RateLimiterConfig::Validate() const {
  if (!(rate_per_s > 0)) return InvalidArgumentError("rate_limit.rate_per_s must be > 0");
  if (!(burst >= 1)) return InvalidArgumentError("rate_limit.burst must be >= 1");
  if (max_buckets < 1) return InvalidArgumentError("rate_limit.max_buckets must be >= 1");
  if (!(idle_evict_s > 0)) return InvalidArgumentError("rate_limit.idle_evict_s must be > 0");
  return Status::Ok();
}

std::string RateLimiterConfig::ToString() const {
  return fmt::format("{{enabled={}, rate_per_s={}, burst={}, max_buckets={}, idle_evict_s={}}}",
                     enabled, rate_per_s, burst, max_buckets, idle_evict_s);
}

Status RateLimiterConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("enabled", &enabled));
  VOXGATE_RETURN_IF_ERROR(node.Get("rate_per_s", &rate_per_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("burst", &burst));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_buckets", &max_buckets));
  VOXGATE_RETURN_IF_ERROR(node.Get("idle_evict_s", &idle_evict_s));
  return Status::Ok();
}

RateLimiter::RateLimiter(RateLimiterConfig config, Clock clock)
    : config_(std::move(config)), clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point RateLimiter::Now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void RateLimiter::EvictIdle(std::chrono::steady_clock::time_point now) {
  const auto idle = std::chrono::duration<double>(config_.idle_evict_s);
  while (!lru_.empty()) {
    auto it = buckets_.find(lru_.back());
    if (it != buckets_.end() && now - it->second.last < idle) break;
    if (it != buckets_.end()) buckets_.erase(it);
    lru_.pop_back();
  }
}

RateLimiter::Decision RateLimiter::Acquire(std::string_view key, double cost) {
  Decision d;
  if (!config_.enabled) {
    d.remaining = config_.burst;
    return d;
  }
  const auto now = Now();
  std::lock_guard lock(mu_);
  EvictIdle(now);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    while (buckets_.size() >= static_cast<size_t>(config_.max_buckets) && !lru_.empty()) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.emplace_front(key);
    it = buckets_.emplace(lru_.front(), Bucket{config_.burst, now, lru_.begin()}).first;
  } else {
    Bucket& b = it->second;
    double elapsed_s = std::chrono::duration<double>(now - b.last).count();
    if (elapsed_s > 0) {
      b.tokens = std::min(config_.burst, b.tokens + elapsed_s * config_.rate_per_s);
      b.last = now;
    }
    lru_.splice(lru_.begin(), lru_, b.lru_pos);
  }
  Bucket& b = it->second;
  if (b.tokens >= cost) {
    b.tokens -= cost;
    d.allowed = true;
    d.remaining = b.tokens;
  } else {
    d.allowed = false;
    d.remaining = b.tokens;
    double wait_s = (cost - b.tokens) / config_.rate_per_s;
    d.retry_after_s = std::max(1, static_cast<int>(std::ceil(wait_s - 1e-9)));
  }
  return d;
}

size_t RateLimiter::bucket_count() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace voxgate::api
