#include "api/http_metrics.h"

#include <chrono>
#include <cmath>
#include <string>

namespace voxgate::api {

namespace {
int64_t NowSecond() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

HttpMetrics::HttpMetrics(metrics::Registry& registry)
    : requests_(registry.CounterFamily("voxgate_http_requests_total",
                                       "HTTP requests answered, by route pattern, method and "
                                       "status.",
                                       {"route", "method", "status"})),
      duration_(registry.HistogramFamily(
          "voxgate_http_request_duration_seconds",
          "Time from a request's complete header to its response being ready, seconds.", {"route"},
          metrics::DefaultLatencyBucketsS())),
      protocol_errors_(registry.CounterFamily("voxgate_http_protocol_errors_total",
                                              "Malformed, oversized or too slow HTTP requests.",
                                              {"reason"})),
      open_connections_(
          registry.GetGauge("voxgate_http_open_connections", "Open HTTP connections.")),
      rejected_connections_(registry.GetCounter("voxgate_http_connections_rejected_total",
                                                "Connections refused at max_connections.")) {}

void HttpMetrics::RecordRequest(std::string_view route, std::string_view method, int status,
                                double duration_s) {
  requests_.WithLabels({route, method, std::to_string(status)}).Increment();
  duration_.WithLabels({route}).Observe(duration_s);
  total_requests_.fetch_add(1, std::memory_order_relaxed);
  if (status >= 500) total_errors_.fetch_add(1, std::memory_order_relaxed);
  total_duration_s_.fetch_add(duration_s, std::memory_order_relaxed);

  int bucket = 0;
  for (double edge = 1e-4; bucket < kBuckets - 1 && duration_s > edge; edge *= 1.25) ++bucket;
  const int64_t now = NowSecond();
  std::lock_guard lock(recent_mu_);
  Second& slot = recent_[static_cast<size_t>(now % kRecentWindowS)];
  if (slot.second != now) slot = Second{now};
  ++slot.requests;
  if (status >= 500) ++slot.errors;
  ++slot.latency[static_cast<size_t>(bucket)];
}

HttpMetrics::Recent HttpMetrics::recent() const {
  const int64_t now = NowSecond();
  std::array<uint64_t, kBuckets> latency{};
  Recent r;
  {
    std::lock_guard lock(recent_mu_);
    for (const Second& slot : recent_) {
      if (slot.second < 0 || slot.second <= now - kRecentWindowS) continue;
      r.requests += slot.requests;
      r.errors += slot.errors;
      for (int i = 0; i < kBuckets; ++i) latency[i] += slot.latency[i];
    }
  }
  r.rate_per_s = static_cast<double>(r.requests) / kRecentWindowS;
  // A percentile is reported as its bucket's geometric middle.
  auto percentile = [&](double q) {
    const double rank = q * static_cast<double>(r.requests);
    uint64_t seen = 0;
    double upper_ms = 0.1;
    for (int i = 0; i < kBuckets; ++i, upper_ms *= 1.25) {
      seen += latency[i];
      if (static_cast<double>(seen) >= rank) return i == 0 ? upper_ms : upper_ms / std::sqrt(1.25);
    }
    return upper_ms;
  };
  if (r.requests > 0) {
    r.p50_ms = percentile(0.5);
    r.p99_ms = percentile(0.99);
  }
  return r;
}

HttpMetrics::Totals HttpMetrics::totals() const {
  Totals t;
  t.requests = total_requests_.load(std::memory_order_relaxed);
  t.errors = total_errors_.load(std::memory_order_relaxed);
  if (t.requests > 0) {
    t.mean_duration_s =
        total_duration_s_.load(std::memory_order_relaxed) / static_cast<double>(t.requests);
  }
  return t;
}

void HttpMetrics::ProtocolError(std::string_view reason) {
  protocol_errors_.WithLabels({reason}).Increment();
}

}  // namespace voxgate::api
