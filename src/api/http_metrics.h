// HttpMetrics: the HTTP server's metrics in a Registry. Thread-safe.
//   voxgate_http_requests_total{route,method,status}   answered requests
//   voxgate_http_request_duration_seconds{route}        header received -> response ready
//   voxgate_http_open_connections                       connections open now
//   voxgate_http_connections_rejected_total             refused at max_connections
//   voxgate_http_protocol_errors_total{reason}          bad_request, header_too_large,
//                                                       body_too_large, header_timeout,
//                                                       body_timeout, tls_handshake
// Route labels are route patterns (or "unmatched"), never raw paths, so cardinality stays bounded.
// Besides the families it keeps plain totals (Totals) for the node's own cluster entry, which
// would otherwise have to sum every label set on each heartbeat, and the last minute's requests
// (Recent: rate and latency percentiles, for the console's overview).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "metrics/registry.h"

namespace voxgate::api {

class HttpMetrics {
 public:
  explicit HttpMetrics(metrics::Registry& registry);

  void RecordRequest(std::string_view route, std::string_view method, int status,
                     double duration_s);
  void ProtocolError(std::string_view reason);
  metrics::Gauge& open_connections() { return open_connections_; }
  metrics::Counter& rejected_connections() { return rejected_connections_; }

  struct Totals {
    int64_t requests = 0;        // answered requests
    int64_t errors = 0;          // of which answered with a 5xx status
    double mean_duration_s = 0;  // mean time to a response, seconds (0 before any)
  };
  Totals totals() const;

  /// The requests answered in the last `kRecentWindowS` seconds (whole seconds: up to one
  /// second of the oldest may be left out). Latency percentiles are resolved to about 12 %.
  static constexpr int kRecentWindowS = 60;
  struct Recent {
    int64_t requests = 0;
    int64_t errors = 0;     // 5xx
    double rate_per_s = 0;  // requests / window
    double p50_ms = 0;      // 0 when there were none
    double p99_ms = 0;
  };
  Recent recent() const;

 private:
  // Latency buckets: upper edges 0.1 ms * 1.25^i, i < kBuckets (the last one open-ended).
  static constexpr int kBuckets = 64;
  struct Second {
    int64_t second = -1;  // steady-clock second this slot counts, -1: unused
    int64_t requests = 0;
    int64_t errors = 0;
    std::array<uint32_t, kBuckets> latency{};
  };

  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Counter>& protocol_errors_;
  metrics::Gauge& open_connections_;
  metrics::Counter& rejected_connections_;
  std::atomic<int64_t> total_requests_{0};
  std::atomic<int64_t> total_errors_{0};
  std::atomic<double> total_duration_s_{0.0};
  mutable std::mutex recent_mu_;
  std::array<Second, kRecentWindowS> recent_;  // GUARDED_BY(recent_mu_): slot = second % size
};

}  // namespace voxgate::api
