#include "api/http_metrics.h"

#include <string>

namespace voxgate::api {

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
