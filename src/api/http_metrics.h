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
// would otherwise have to sum every label set on each heartbeat.
#pragma once

#include <atomic>
#include <cstdint>
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

 private:
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Counter>& protocol_errors_;
  metrics::Gauge& open_connections_;
  metrics::Counter& rejected_connections_;
  std::atomic<int64_t> total_requests_{0};
  std::atomic<int64_t> total_errors_{0};
  std::atomic<double> total_duration_s_{0.0};
};

}  // namespace voxgate::api
