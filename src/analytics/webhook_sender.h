// WebhookSender: pushes events from an EventBus to HTTP endpoints the operator configures (a CRM
// that wants "session.decision", an alerting hook for "session.qos"). Each event is POSTed as its
// Event::ToJson() to every URL, from one worker thread, with a timeout per attempt and a few
// retries with exponential backoff on network errors, 5xx, 408 and 429; other answers are final.
//
// The queue is the bus subscription itself (capacity queue_capacity): when the endpoints are slow
// or down, the OLDEST waiting events are dropped and counted, and publishers never wait.
//
// With secret_env set, every request carries X-Voxgate-Signature: sha256=<hex HMAC-SHA256 of the
// exact body bytes, keyed with the secret>, so the receiver can check that it came from us. The
// secret is read from that environment variable once, at Create, and is never logged; logs name
// an endpoint by scheme, host and port only, since webhook paths often embed tokens.
//
// Plain http:// only (TLS would go through a local proxy or a later change). Metrics:
// voxgate_webhook_deliveries_total{outcome=delivered|failed}, voxgate_webhook_retries_total,
// voxgate_webhook_events_dropped_total.
//
// Thread-safe: the counters may be read from any thread; Stop() (also run by the destructor) may
// be called from any thread but the worker's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "analytics/event_bus.h"
#include "common/config_node.h"
#include "common/result.h"
#include "metrics/registry.h"

namespace voxgate::analytics {

struct WebhookConfig {
  std::vector<std::string> urls;         // http://host[:port][/path] endpoints; empty: none
  std::vector<std::string> event_types;  // type prefixes to send ("session.ended"); empty: all
  int timeout_ms = 5000;                 // one attempt: connect, send, read the answer
  int max_retries = 3;                   // further attempts after a retryable failure
  int retry_backoff_ms = 500;            // wait before the first retry; doubles each time
  size_t queue_capacity = 1000;          // events waiting to be sent; beyond, the oldest drop
  std::string secret_env;                // env variable holding the HMAC key; "": unsigned

  Status Validate() const;
  /// Endpoint paths are shown as /*** (they often carry tokens).
  std::string ToString() const;
  /// Reads urls, event_types, timeout_ms, max_retries, retry_backoff_ms, queue_capacity,
  /// secret_env.
  Status Load(const ConfigNode& node);
};

class WebhookSender {
 public:
  /// Validates `config`, reads the secret (kInvalidArgument if secret_env is set but the variable
  /// is not), subscribes to `bus` and starts the worker. `registry`: null for the default one.
  static Result<std::unique_ptr<WebhookSender>> Create(
      WebhookConfig config, const std::shared_ptr<EventBus>& bus,
      std::shared_ptr<metrics::Registry> registry = nullptr);
  /// Stop().
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  /// Cancels the subscription (events still queued are not sent), interrupts a backoff wait and
  /// joins the worker, which finishes the attempt in flight (at most timeout_ms). Idempotent.
  void Stop();

  /// POSTs answered with 2xx.
  uint64_t delivered() const { return delivered_.load(); }
  /// POSTs given up: a final error answer, or retries exhausted.
  uint64_t failed() const { return failed_.load(); }
  /// Retries made.
  uint64_t retries() const { return retries_.load(); }
  /// Events dropped unsent because the queue was full.
  uint64_t dropped() const;

  /// Lower-case hex HMAC-SHA256 of `data` keyed with `key` (the signature header's value after
  /// "sha256=").
  static std::string HmacSha256Hex(std::string_view key, std::string_view data);

 private:
  struct Endpoint {
    std::string host;      // name or address (IPv6 without brackets)
    std::string port;      // "80" unless given
    std::string target;    // path and query, "/" at least
    std::string redacted;  // http://host:port, for logs
  };
  struct Outcome;
  WebhookSender(WebhookConfig config, std::vector<Endpoint> endpoints, std::string secret,
                std::shared_ptr<Subscription> subscription,
                std::shared_ptr<metrics::Registry> registry);
  void Run();
  bool Wanted(const std::string& type) const;
  // One endpoint, with retries; false once stopping.
  void Deliver(const Endpoint& endpoint, const std::string& body, const std::string& type);
  Outcome Post(const Endpoint& endpoint, const std::string& body, const std::string& type) const;
  bool Stopping();
  // Waits `delay` unless Stop() comes first; false if stopping.
  bool Sleep(std::chrono::milliseconds delay);
  void ExportDropped();

  const WebhookConfig config_;
  const std::vector<Endpoint> endpoints_;
  const std::string secret_;  // never logged
  const std::shared_ptr<Subscription> subscription_;
  std::shared_ptr<metrics::Registry> registry_;
  metrics::Counter& delivered_counter_;
  metrics::Counter& failed_counter_;
  metrics::Counter& retries_counter_;
  metrics::Counter& dropped_counter_;

  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> retries_{0};
  uint64_t dropped_exported_ = 0;  // worker thread only

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(stop_mu_)
  std::mutex join_mu_;     // serializes Stop()
  std::thread worker_;
};

}  // namespace voxgate::analytics
