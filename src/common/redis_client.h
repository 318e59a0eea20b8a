// RedisClient: a small thread-safe pool of synchronous hiredis connections, shared by the store
// tiers, the cluster registry and the event bus. Replies are copied into owned RedisReply values
// so no hiredis type leaks out of common/.
//
// Errors: a server error reply becomes a Status (see RedisErrorStatus); a connection that cannot
// be opened, breaks or times out becomes kUnavailable. Messages name the server by its redacted
// URL: a password never reaches a Status or a log line.
//
// Thread-safe: any number of threads may call Command/Pipeline/Transaction at once; each call
// takes one pooled connection for its duration (waiting when all pool_size are busy).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

struct redisContext;  // hiredis
struct redisReply;    // hiredis

namespace voxgate {

/// Where and how to connect. The URL may hold a password: ToString prints it as ***.
struct RedisClientOptions {
  /// redis://[[user]:password@]host[:port][/db] or unix:///path/to/socket[?db=N]
  std::string url = "redis://127.0.0.1:6379/0";
  int pool_size = 4;              // connections kept open at most
  int connect_timeout_ms = 1000;  // TCP/unix connect, then AUTH and SELECT, ms
  int command_timeout_ms = 2000;  // a reply slower than this breaks the connection, ms

  Status Validate() const;
  std::string ToString() const;
};

/// A parsed Redis URL. Plain data.
struct RedisEndpoint {
  bool unix_socket = false;
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // unix socket path
  std::string user;  // Redis 6 ACL user; empty: AUTH <password> only
  std::string password;
  int db = 0;

  /// Parses redis:// and unix:// URLs; never aborts. Errors never echo the password.
  static Result<RedisEndpoint> Parse(std::string_view url);
  /// "redis://host:port/db" or "unix:///path" with the password as *** when there is one.
  std::string Redacted() const;
};

/// An owned copy of a Redis reply.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;               // kInteger
  std::string str;                   // kString (binary-safe), kStatus, kError
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  bool is_string() const { return type == Type::kString || type == Type::kStatus; }
  bool is_array() const { return type == Type::kArray; }

  /// Deep copy of a hiredis reply (null: kNil).
  static RedisReply FromHiredis(const redisReply* reply);
};

/// Maps a server error reply ("WRONGTYPE ...", "LOADING ...") to a Status: LOADING, BUSY, READONLY,
/// MASTERDOWN, TRYAGAIN, CLUSTERDOWN, MISCONF -> kUnavailable; NOAUTH/WRONGPASS ->
/// kUnauthenticated; NOPERM -> kPermissionDenied; ERR/WRONGTYPE/NOSCRIPT -> kInvalidArgument;
/// anything else kInternal.
Status RedisErrorStatus(std::string_view error_text);

namespace redis_internal {
struct ContextDeleter {
  void operator()(redisContext* c) const;
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
/// Opens a connection with both timeouts set, then AUTH and SELECT. kUnavailable (URL redacted)
/// when the server cannot be reached; the AUTH/SELECT error otherwise.
Result<ContextPtr> Connect(const RedisEndpoint& endpoint, int connect_timeout_ms,
                           int command_timeout_ms);
/// Describes the I/O error held by `c` ("connection refused") as kUnavailable.
Status ConnectionError(const redisContext* c, const RedisEndpoint& endpoint, std::string_view what);
}  // namespace redis_internal

class RedisClient {
 public:
  /// Validates the options and parses the URL; does not connect (the first command does), so a
  /// process can start while Redis is still down.
  static Result<std::unique_ptr<RedisClient>> Create(RedisClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Runs one command (argv binary-safe). A server error reply is returned as its Status
  /// (RedisErrorStatus), so a returned reply is never kError.
  ///
  /// A pooled connection found broken (the server restarted since it was last used) is replaced
  /// and the command retried once on a fresh connection; a command that fails on a fresh
  /// connection returns kUnavailable at once.
  Result<RedisReply> Command(std::initializer_list<std::string_view> argv);
  Result<RedisReply> Command(const std::vector<std::string>& argv);

  /// Sends all commands in one round trip on one connection and returns their replies in order.
  /// Error replies stay in the vector as kError (one bad command does not hide the others).
  Result<std::vector<RedisReply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

  /// MULTI, the commands, EXEC on one connection: all or none run. Returns EXEC's replies (errors
  /// of single commands inside stay kError); a command rejected before EXEC aborts the whole
  /// transaction with its error.
  Result<std::vector<RedisReply>> Transaction(
      const std::vector<std::vector<std::string>>& commands);

  /// PING; OK when the server answers PONG.
  Status Ping();

  const RedisEndpoint& endpoint() const { return endpoint_; }
  /// The URL with its password as ***.
  std::string redacted_url() const { return endpoint_.Redacted(); }
  const RedisClientOptions& options() const { return options_; }

 private:
  RedisClient(RedisClientOptions options, RedisEndpoint endpoint);

  struct Lease {
    redis_internal::ContextPtr ctx;  // null: open a new connection
    bool reused = false;             // came from the idle list (may have died meanwhile)
  };
  Lease Acquire();
  void Release(redis_internal::ContextPtr ctx);
  void DropIdle();

  // Runs `commands` (one or more) on one connection and collects one reply each; with the
  // reconnect-and-retry-once rule of Command.
  Result<std::vector<RedisReply>> Run(const std::vector<std::vector<std::string_view>>& commands);

  const RedisClientOptions options_;
  const RedisEndpoint endpoint_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<redis_internal::ContextPtr> idle_;  // GUARDED_BY(mu_)
  int leased_ = 0;                                // GUARDED_BY(mu_)
};

}  // namespace voxgate
