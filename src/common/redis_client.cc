#include "common/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace voxgate {
namespace {

timeval Millis(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Passwords in URLs are percent-encoded when they hold ':', '@' or '/'.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A reply of hiredis is either an error of the connection (null reply, c->err set) or a value.
Status ReadReplies(redisContext* c, size_t count, std::vector<RedisReply>& out) {
  out.reserve(out.size() + count);
  for (size_t i = 0; i < count; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
      return InternalError("no reply");  // the caller looks at c->err
    }
    out.push_back(RedisReply::FromHiredis(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return Status::Ok();
}

}  // namespace

Status RedisClientOptions::Validate() const {
  auto endpoint = RedisEndpoint::Parse(url);
  if (!endpoint.ok()) return endpoint.status();
  if (pool_size < 1 || pool_size > 1024) {
    return InvalidArgumentError("redis pool_size must be in [1, 1024]");
  }
  if (connect_timeout_ms < 1 || command_timeout_ms < 1) {
    return InvalidArgumentError("redis timeouts must be > 0 ms");
  }
  return Status::Ok();
}

std::string RedisClientOptions::ToString() const {
  auto endpoint = RedisEndpoint::Parse(url);
  return "{url=" + (endpoint.ok() ? endpoint->Redacted() : std::string("<invalid>")) +
         ", pool_size=" + std::to_string(pool_size) +
         ", connect_timeout_ms=" + std::to_string(connect_timeout_ms) +
         ", command_timeout_ms=" + std::to_string(command_timeout_ms) + "}";
}

Result<RedisEndpoint> RedisEndpoint::Parse(std::string_view url) {
  RedisEndpoint e;
  if (StartsWith(url, "unix://")) {
    e.unix_socket = true;
    std::string_view rest = url.substr(7);
    const size_t q = rest.find('?');
    std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (rest.empty() || rest[0] != '/') {
      return InvalidArgumentError("redis unix URL needs an absolute path (unix:///path)");
    }
    e.path = std::string(rest);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
      if (StartsWith(kv, "db=")) {
        if (!ParseInt(kv.substr(3), e.db) || e.db < 0) {
          return InvalidArgumentError("redis unix URL: bad db");
        }
      } else if (StartsWith(kv, "password=")) {
        e.password = PercentDecode(kv.substr(9));
      }
    }
    return e;
  }
  if (!StartsWith(url, "redis://")) {
    return InvalidArgumentError("redis URL must start with redis:// or unix://");
  }
  std::string_view rest = url.substr(8);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // redis://secret@host is the common short form of a password-only URL.
      e.password = PercentDecode(userinfo);
    } else {
      e.user = PercentDecode(userinfo.substr(0, colon));
      e.password = PercentDecode(userinfo.substr(colon + 1));
    }
  }
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host[0] == '[') {  // [::1]:6379
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("redis URL: bad IPv6 host");
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return InvalidArgumentError("redis URL: bad host");
      port = host.substr(close + 2);
    }
    host = host.substr(1, close - 1);
  } else {
    const size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
  }
  if (host.empty()) return InvalidArgumentError("redis URL has no host");
  e.host = std::string(host);
  if (!port.empty() && (!ParseInt(port, e.port) || e.port < 1 || e.port > 65535)) {
    return InvalidArgumentError("redis URL: bad port");
  }
  const size_t q = path.find('?');
  path = path.substr(0, q);
  if (!path.empty() && (!ParseInt(path, e.db) || e.db < 0)) {
    return InvalidArgumentError("redis URL: bad database number");
  }
  return e;
}

std::string RedisEndpoint::Redacted() const {
  if (unix_socket) {
    std::string s = "unix://" + path + "?db=" + std::to_string(db);
    if (!password.empty()) s += "&password=***";
    return s;
  }
  std::string s = "redis://";
  if (!password.empty()) s += user + ":***@";
  const bool v6 = host.find(':') != std::string::npos;
  s += (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
  return s;
}

RedisReply RedisReply::FromHiredis(const redisReply* r) {
  RedisReply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(FromHiredis(r->element[i]));
      }
      break;
    default:
      out.type = Type::kNil;
  }
  return out;
}

Status RedisErrorStatus(std::string_view text) {
  const std::string_view word = text.substr(0, text.find(' '));
  const std::string msg = "redis: " + std::string(text);
  for (std::string_view w : {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN",
                             "MISCONF", "NOREPLICAS"}) {
    if (word == w) return UnavailableError(msg);
  }
  if (word == "NOAUTH" || word == "WRONGPASS") return Status(StatusCode::kUnauthenticated, msg);
  if (word == "NOPERM") return Status(StatusCode::kPermissionDenied, msg);
  if (word == "ERR" || word == "WRONGTYPE" || word == "NOSCRIPT" || word == "EXECABORT") {
    return InvalidArgumentError(msg);
  }
  return InternalError(msg);
}

namespace redis_internal {

void ContextDeleter::operator()(redisContext* c) const {
  if (c != nullptr) redisFree(c);
}

Status ConnectionError(const redisContext* c, const RedisEndpoint& endpoint,
                       std::string_view what) {
  std::string detail = "unknown error";
  if (c != nullptr && c->err != 0) {
    detail = c->errstr;
    // A timeout of a blocking socket shows as EAGAIN: say what it means.
    if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      detail = "timed out";
    }
    if (c->err == REDIS_ERR_EOF) detail = "connection closed by the server";
  } else if (c == nullptr) {
    detail = "out of memory";
  }
  return UnavailableError("redis " + endpoint.Redacted() + ": " + std::string(what) + ": " +
                          detail);
}

Result<ContextPtr> Connect(const RedisEndpoint& endpoint, int connect_timeout_ms,
                           int command_timeout_ms) {
  ContextPtr ctx(
      endpoint.unix_socket
          ? redisConnectUnixWithTimeout(endpoint.path.c_str(), Millis(connect_timeout_ms))
          : redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port,
                                    Millis(connect_timeout_ms)));
  if (!ctx || ctx->err != 0) return ConnectionError(ctx.get(), endpoint, "connect");
  if (redisSetTimeout(ctx.get(), Millis(command_timeout_ms)) != REDIS_OK) {
    return ConnectionError(ctx.get(), endpoint, "setting the timeout");
  }
  auto run = [&](std::vector<std::string_view> argv, const char* what) -> Status {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (auto a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(ctx.get(), static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (raw == nullptr) return ConnectionError(ctx.get(), endpoint, what);
    RedisReply reply = RedisReply::FromHiredis(raw);
    freeReplyObject(raw);
    if (reply.is_error()) {
      return RedisErrorStatus(reply.str).WithContext("redis " + endpoint.Redacted() + ": " + what);
    }
    return Status::Ok();
  };
  if (!endpoint.password.empty()) {
    Status s = endpoint.user.empty() ? run({"AUTH", endpoint.password}, "AUTH")
                                     : run({"AUTH", endpoint.user, endpoint.password}, "AUTH");
    if (!s.ok()) return s;
  }
  if (endpoint.db != 0) {
    const std::string db = std::to_string(endpoint.db);
    Status s = run({"SELECT", db}, "SELECT");
    if (!s.ok()) return s;
  }
  return ctx;
}

}  // namespace redis_internal

using redis_internal::ContextPtr;

RedisClient::RedisClient(RedisClientOptions options, RedisEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

RedisClient::~RedisClient() = default;

Result<std::unique_ptr<RedisClient>> RedisClient::Create(RedisClientOptions options) {
  VOXGATE_RETURN_IF_ERROR(options.Validate());
  VOXGATE_ASSIGN_OR_RETURN(RedisEndpoint endpoint, RedisEndpoint::Parse(options.url));
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(options), std::move(endpoint)));
}

RedisClient::Lease RedisClient::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || leased_ < options_.pool_size; });
  ++leased_;
  Lease lease;
  if (!idle_.empty()) {
    lease.ctx = std::move(idle_.back());
    idle_.pop_back();
    lease.reused = true;
  }
  return lease;
}

void RedisClient::Release(ContextPtr ctx) {
  {
    std::lock_guard lock(mu_);
    --leased_;
    if (ctx) idle_.push_back(std::move(ctx));
  }
  cv_.notify_one();
}

void RedisClient::DropIdle() {
  // When one connection broke, the others opened before it almost certainly did too (a restart):
  // dropping them spares every later caller its own failed attempt.
  std::vector<ContextPtr> dead;
  {
    std::lock_guard lock(mu_);
    dead.swap(idle_);
  }
}

Result<std::vector<RedisReply>> RedisClient::Run(
    const std::vector<std::vector<std::string_view>>& commands) {
  for (int attempt = 0;; ++attempt) {
    Lease lease = Acquire();
    if (!lease.ctx) {
      auto ctx = redis_internal::Connect(endpoint_, options_.connect_timeout_ms,
                                         options_.command_timeout_ms);
      if (!ctx.ok()) {
        Release(nullptr);
        return ctx.status();
      }
      lease.ctx = std::move(ctx).value();
    }
    redisContext* c = lease.ctx.get();
    bool io_error = false;
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& argv : commands) {
      ptrs.clear();
      lens.clear();
      for (auto a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
      }
      if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
          REDIS_OK) {
        io_error = true;
        break;
      }
    }
    std::vector<RedisReply> replies;
    if (!io_error && !ReadReplies(c, commands.size(), replies).ok()) io_error = true;
    if (!io_error) {
      Release(std::move(lease.ctx));
      return replies;
    }
    Status error = redis_internal::ConnectionError(c, endpoint_, "command");
    lease.ctx.reset();
    Release(nullptr);
    DropIdle();
    // A connection that sat idle may have died with a restart of the server: its command never
    // reached a live server, so one retry on a fresh connection is safe. A fresh connection
    // failing means the server is down or too slow; retrying would only double the wait.
    if (lease.reused && attempt == 0) continue;
    return error;
  }
}

Result<RedisReply> RedisClient::Command(std::initializer_list<std::string_view> argv) {
  std::vector<std::vector<std::string_view>> commands(1, std::vector<std::string_view>(argv));
  VOXGATE_ASSIGN_OR_RETURN(auto replies, Run(commands));
  if (replies[0].is_error()) return RedisErrorStatus(replies[0].str);
  return std::move(replies[0]);
}

Result<RedisReply> RedisClient::Command(const std::vector<std::string>& argv) {
  std::vector<std::vector<std::string_view>> commands(1);
  commands[0].assign(argv.begin(), argv.end());
  VOXGATE_ASSIGN_OR_RETURN(auto replies, Run(commands));
  if (replies[0].is_error()) return RedisErrorStatus(replies[0].str);
  return std::move(replies[0]);
}

Result<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  std::vector<std::vector<std::string_view>> views;
  views.reserve(commands.size());
  for (const auto& c : commands) views.emplace_back(c.begin(), c.end());
  return Run(views);
}

Result<std::vector<RedisReply>> RedisClient::Transaction(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::vector<std::string_view>> views;
  views.reserve(commands.size() + 2);
  views.push_back({"MULTI"});
  for (const auto& c : commands) views.emplace_back(c.begin(), c.end());
  views.push_back({"EXEC"});
  VOXGATE_ASSIGN_OR_RETURN(auto replies, Run(views));
  // replies: OK, QUEUED..., EXEC's array (or EXECABORT when a command was rejected on queueing).
  for (size_t i = 1; i + 1 < replies.size(); ++i) {
    if (replies[i].is_error()) return RedisErrorStatus(replies[i].str);
  }
  RedisReply& exec = replies.back();
  if (exec.is_error()) return RedisErrorStatus(exec.str);
  if (exec.is_nil()) return UnavailableError("redis transaction aborted");
  return std::move(exec.elements);
}

Status RedisClient::Ping() {
  VOXGATE_ASSIGN_OR_RETURN(RedisReply reply, Command({"PING"}));
  if (reply.str != "PONG") return InternalError("redis PING answered \"" + reply.str + "\"");
  return Status::Ok();
}

}  // namespace voxgate
