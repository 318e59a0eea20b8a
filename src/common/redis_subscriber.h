// RedisSubscriber: one connection and one thread that SUBSCRIBE (and PSUBSCRIBE) to fixed channels
// and hand every message to a callback. When Redis goes away (restart, network) it reconnects
// with exponential backoff and subscribes again; messages published while it was away are lost
// (Redis pub/sub does not queue), which is why on_connected is called after every (re)subscribe:
// a cache kept coherent by the messages must be dropped then.
//
// A silent connection is checked with PING every ping_interval_ms; no answer within another
// interval counts as a broken connection (a half-open TCP connection would otherwise look idle).
//
// Thread-safe: Start/Stop/connected may be called from any thread. The callbacks run on the
// subscriber's own thread, one at a time; they must not block for long and must not call Stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/redis_client.h"
#include "common/status.h"

namespace voxgate {

struct RedisMessage {
  std::string channel;  // the channel it was published on
  std::string pattern;  // the matching pattern for PSUBSCRIBE deliveries, else empty
  std::string payload;  // binary-safe
};

struct RedisSubscriberOptions {
  RedisClientOptions connection;      // url and connect timeout (pool_size is not used)
  std::vector<std::string> channels;  // SUBSCRIBE
  std::vector<std::string> patterns;  // PSUBSCRIBE
  int min_backoff_ms = 50;            // first wait before reconnecting, ms; doubles per failure
  int max_backoff_ms = 2000;          // cap of the backoff, ms
  int ping_interval_ms = 5000;        // PING after this much silence, ms

  Status Validate() const;
  std::string ToString() const;
};

class RedisSubscriber {
 public:
  using MessageCallback = std::function<void(const RedisMessage&)>;
  using ConnectedCallback = std::function<void()>;

  /// `on_message` is required; `on_connected` (may be empty) runs after each successful
  /// (re)subscription, before the messages that follow it.
  static Result<std::unique_ptr<RedisSubscriber>> Create(RedisSubscriberOptions options,
                                                         MessageCallback on_message,
                                                         ConnectedCallback on_connected = {});
  /// Stop().
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  /// Starts the thread; it keeps trying to connect until Stop. Idempotent.
  void Start();
  /// Stops the thread and closes the connection within ~100 ms. Idempotent.
  void Stop();

  /// True while subscribed on a live connection.
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  /// Successful subscriptions so far (1 after the first connect, +1 per reconnect).
  int64_t subscriptions() const { return subscriptions_.load(std::memory_order_acquire); }

 private:
  RedisSubscriber(RedisSubscriberOptions options, RedisEndpoint endpoint,
                  MessageCallback on_message, ConnectedCallback on_connected);
  void Loop();
  // Subscribes and reads until the connection breaks or Stop; returns why it ended.
  Status Session();
  // Waits `ms` or until Stop; false when stopping.
  bool SleepUnlessStopped(int ms);

  const RedisSubscriberOptions options_;
  const RedisEndpoint endpoint_;
  const MessageCallback on_message_;
  const ConnectedCallback on_connected_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> subscriptions_{0};
};

}  // namespace voxgate
