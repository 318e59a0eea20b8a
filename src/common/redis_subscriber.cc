#include "common/redis_subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace voxgate {
namespace {

// How long one poll waits before looking at the stop flag again, ms.
constexpr int kPollSliceMs = 100;

Status Append(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
      REDIS_OK) {
    return UnavailableError("append");
  }
  return Status::Ok();
}

}  // namespace

Status RedisSubscriberOptions::Validate() const {
  RedisClientOptions conn = connection;
  conn.pool_size = 1;
  VOXGATE_RETURN_IF_ERROR(conn.Validate());
  if (channels.empty() && patterns.empty()) {
    return InvalidArgumentError("redis subscriber needs at least one channel or pattern");
  }
  if (min_backoff_ms < 1 || max_backoff_ms < min_backoff_ms) {
    return InvalidArgumentError("redis subscriber backoff must satisfy 1 <= min <= max (ms)");
  }
  if (ping_interval_ms < 100) {
    return InvalidArgumentError("redis subscriber ping_interval_ms must be >= 100");
  }
  return Status::Ok();
}

std::string RedisSubscriberOptions::ToString() const {
  std::string s = "{connection=" + connection.ToString() + ", channels=[";
  for (size_t i = 0; i < channels.size(); ++i) s += (i ? "," : "") + channels[i];
  s += "], patterns=[";
  for (size_t i = 0; i < patterns.size(); ++i) s += (i ? "," : "") + patterns[i];
  s += "], min_backoff_ms=" + std::to_string(min_backoff_ms) +
       ", max_backoff_ms=" + std::to_string(max_backoff_ms) +
       ", ping_interval_ms=" + std::to_string(ping_interval_ms) + "}";
  return s;
}

RedisSubscriber::RedisSubscriber(RedisSubscriberOptions options, RedisEndpoint endpoint,
                                 MessageCallback on_message, ConnectedCallback on_connected)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      on_message_(std::move(on_message)),
      on_connected_(std::move(on_connected)) {}

Result<std::unique_ptr<RedisSubscriber>> RedisSubscriber::Create(RedisSubscriberOptions options,
                                                                 MessageCallback on_message,
                                                                 ConnectedCallback on_connected) {
  VOXGATE_RETURN_IF_ERROR(options.Validate());
  if (!on_message) return InvalidArgumentError("redis subscriber needs a message callback");
  VOXGATE_ASSIGN_OR_RETURN(RedisEndpoint endpoint, RedisEndpoint::Parse(options.connection.url));
  return std::unique_ptr<RedisSubscriber>(new RedisSubscriber(
      std::move(options), std::move(endpoint), std::move(on_message), std::move(on_connected)));
}

RedisSubscriber::~RedisSubscriber() { Stop(); }

void RedisSubscriber::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void RedisSubscriber::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    stopping_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  connected_.store(false, std::memory_order_release);
}

bool RedisSubscriber::SleepUnlessStopped(int ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_; });
  return !stop_;
}

void RedisSubscriber::Loop() {
  int backoff_ms = options_.min_backoff_ms;
  Status last_logged;
  while (!stopping_.load(std::memory_order_acquire)) {
    const int64_t before = subscriptions_.load(std::memory_order_acquire);
    Status s = Session();
    connected_.store(false, std::memory_order_release);
    if (stopping_.load(std::memory_order_acquire)) break;
    // A session that got as far as subscribing resets the backoff: the next failure is new.
    if (subscriptions_.load(std::memory_order_acquire) != before) {
      backoff_ms = options_.min_backoff_ms;
    }
    if (s.message() != last_logged.message()) {
      spdlog::warn("redis subscriber: {}; reconnecting", s.ToString());
      last_logged = s;
    }
    if (!SleepUnlessStopped(backoff_ms)) break;
    backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
  }
}

Status RedisSubscriber::Session() {
  // Subscribed connections idle for long on purpose: no socket timeout after connecting, the
  // poll below and the PING keep-alive take its place.
  VOXGATE_ASSIGN_OR_RETURN(
      redis_internal::ContextPtr ctx,
      redis_internal::Connect(endpoint_, options_.connection.connect_timeout_ms,
                              options_.connection.connect_timeout_ms));
  redisContext* c = ctx.get();
  timeval no_timeout{};
  redisSetTimeout(c, no_timeout);

  auto flush = [&]() -> Status {
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c, &done) != REDIS_OK) {
        return redis_internal::ConnectionError(c, endpoint_, "write");
      }
    }
    return Status::Ok();
  };
  size_t pending_acks = 0;
  if (!options_.channels.empty()) {
    std::vector<std::string> argv{"SUBSCRIBE"};
    argv.insert(argv.end(), options_.channels.begin(), options_.channels.end());
    VOXGATE_RETURN_IF_ERROR(Append(c, argv));
    pending_acks += options_.channels.size();
  }
  if (!options_.patterns.empty()) {
    std::vector<std::string> argv{"PSUBSCRIBE"};
    argv.insert(argv.end(), options_.patterns.begin(), options_.patterns.end());
    VOXGATE_RETURN_IF_ERROR(Append(c, argv));
    pending_acks += options_.patterns.size();
  }
  VOXGATE_RETURN_IF_ERROR(flush());

  using Clock = std::chrono::steady_clock;
  auto last_data = Clock::now();
  bool ping_outstanding = false;
  const auto ping_interval = std::chrono::milliseconds(options_.ping_interval_ms);

  while (!stopping_.load(std::memory_order_acquire)) {
    // Drain every reply already buffered before waiting on the socket again.
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(c->reader, &raw) != REDIS_OK) {
        return UnavailableError("redis " + endpoint_.Redacted() + ": protocol error");
      }
      if (raw == nullptr) break;
      RedisReply reply = RedisReply::FromHiredis(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (reply.is_error()) return RedisErrorStatus(reply.str);
      if (!reply.is_array() || reply.elements.empty()) continue;
      const std::string& kind = reply.elements[0].str;
      if (kind == "message" && reply.elements.size() == 3) {
        on_message_({reply.elements[1].str, "", reply.elements[2].str});
      } else if (kind == "pmessage" && reply.elements.size() == 4) {
        on_message_({reply.elements[2].str, reply.elements[1].str, reply.elements[3].str});
      } else if (kind == "subscribe" || kind == "psubscribe") {
        if (pending_acks > 0 && --pending_acks == 0) {
          connected_.store(true, std::memory_order_release);
          subscriptions_.fetch_add(1, std::memory_order_acq_rel);
          if (on_connected_) on_connected_();
        }
      } else if (kind == "pong") {
        ping_outstanding = false;
      }
    }
    pollfd pfd{c->fd, POLLIN, 0};
    const int n = poll(&pfd, 1, kPollSliceMs);
    if (n < 0 && errno != EINTR) {
      return UnavailableError("redis " + endpoint_.Redacted() + ": poll failed");
    }
    if (n > 0) {
      if (redisBufferRead(c) != REDIS_OK) {
        return redis_internal::ConnectionError(c, endpoint_, "read");
      }
      last_data = Clock::now();
      continue;
    }
    const auto silent = Clock::now() - last_data;
    if (ping_outstanding && silent > 2 * ping_interval) {
      return UnavailableError("redis " + endpoint_.Redacted() + ": no answer to PING");
    }
    if (!ping_outstanding && silent > ping_interval) {
      VOXGATE_RETURN_IF_ERROR(Append(c, {"PING"}));
      VOXGATE_RETURN_IF_ERROR(flush());
      ping_outstanding = true;
    }
  }
  return Status::Ok();
}

}  // namespace voxgate
