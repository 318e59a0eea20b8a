#include "api/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/access_log.h"
#include "api/http_error.h"
#include "api/http_metrics.h"
#include "api/websocket_protocol.h"
#include "metrics/text_format.h"

namespace voxgate::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

using Seconds = std::chrono::duration<double>;
// After a response that closes the connection, the peer gets this long to stop sending before
// the socket is closed, so it can read the response instead of being reset (lingering close).
constexpr auto kLingerTimeout = std::chrono::seconds(3);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

std::chrono::steady_clock::duration ToDuration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(Seconds(seconds));
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_method).category();
}

bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IEquals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

// Connections, as the server sees them: told to finish (drain) or to close now.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void BeginShutdown() = 0;  // thread-safe
  virtual void ForceClose() = 0;     // thread-safe
};

}  // namespace

// Everything connections share. Connections hold it by shared_ptr, so it (and its io_context)
// outlives every socket even if the HttpServer object is gone.
struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  Core(HttpServerConfig cfg, HttpServerOptions options)
      : config(std::move(cfg)),
        registry(options.registry ? std::move(options.registry)
                                  : std::make_shared<metrics::Registry>()),
        keys(std::move(options.keys)),
        limiter(config.rate_limit),
        metrics(*registry),
        access_log(std::move(options.access_logger)) {}

  struct Prepared {
    const api::Route* route = nullptr;
    std::optional<Response> error;
  };
  // Routing, auth and rate limiting: fills in route, path parameters and principal.
  Prepared Prepare(Request& request);
  void Invoke(const api::Route& route, const Responder& responder);

  bool TryRegister(SessionBase* session, std::weak_ptr<SessionBase> weak);
  void Unregister(SessionBase* session);
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void RejectConnection(tcp::socket socket);

  const HttpServerConfig config;
  std::shared_ptr<metrics::Registry> registry;
  std::shared_ptr<ApiKeyManager> keys;
  Router router;
  HealthRegistry health;
  RateLimiter limiter;
  HttpMetrics metrics;
  AccessLog access_log;

  net::io_context ioc;
  std::unique_ptr<ssl::context> ssl_ctx;
  std::optional<tcp::acceptor> acceptor;          // used on its own strand
  std::optional<net::steady_timer> accept_retry;  // backs off after accept errors (EMFILE)
  std::atomic<bool> draining{false};

  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;  // guarded by mu: responses are no longer delivered
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;  // guarded by mu
};

namespace {

using Core = HttpServer::Core;

// One connection. Derived (PlainSession / TlsSession) provides stream(), Start() and
// CloseAfterResponse(). All members are touched only on the connection's strand (ex_).

// One WebSocket connection after the upgrade (see websocket.h). All members but the atomics are
// touched only on the connection's strand.
template <class Stream>
class WsSession : public SessionBase, public WebSocketConnection {
 public:
  WsSession(std::shared_ptr<Core> core, std::string remote, WebSocketOptions options)
      : core_(std::move(core)), remote_(std::move(remote)), options_(options) {}

  ~WsSession() override {
    if (registered_ && !finished_) core_->Unregister(this);
  }

  // Takes over the upgraded HTTP stream and accepts the handshake. On the stream's strand.
  void Start(Stream&& stream, http::request<http::string_body> upgrade,
             std::shared_ptr<WebSocketHandler> handler) {
    ws_.emplace(std::move(stream));
    ex_ = ws_->get_executor();
    handler_ = std::move(handler);
    retry_.emplace(ex_);
    registered_ = core_->TryRegister(this, this->weak_from_this());
    if (!registered_) {
      finished_ = true;
      beast::get_lowest_layer(*ws_).close();
      if (handler_) handler_->OnClose();
      handler_.reset();
      return;
    }
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout t =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    t.idle_timeout = ToDuration(options_.idle_timeout_s);
    t.keep_alive_pings = true;
    ws_->set_option(t);
    // Select our subprotocol when offered (a browser that offered its key as one requires an
    // answer); the key itself is never echoed.
    const bool offered =
        OffersWebSocketProtocol(upgrade[http::field::sec_websocket_protocol], kWebSocketProtocol);
    ws_->set_option(websocket::stream_base::decorator([offered](websocket::response_type& res) {
      res.set(http::field::server, "voxgate");
      if (offered) res.set(http::field::sec_websocket_protocol, kWebSocketProtocol);
    }));
    ws_->read_message_max(options_.max_message_bytes);
    ws_->async_accept(upgrade, [self = Self()](beast::error_code ec) {
      if (ec) return self->Finish();
      self->Read();
    });
  }

  bool SendText(std::string message, bool essential) override {
    if (closing_.load()) return false;
    if (!essential && queued_bytes_.load() > options_.max_queued_out_bytes) {
      ++dropped_;
      return false;
    }
    queued_bytes_ += message.size();
    net::post(ex_, [self = Self(), m = std::move(message)]() mutable {
      if (self->finished_) return;
      self->out_.push_back(std::move(m));
      if (!self->writing_) self->WriteNext();
    });
    return true;
  }

  void Close(uint16_t code, std::string reason) override {
    if (closing_.exchange(true)) return;
    net::post(ex_, [self = Self(), code, reason = std::move(reason)]() mutable {
      self->close_reason_ =
          websocket::close_reason(static_cast<websocket::close_code>(code), reason);
      self->close_requested_ = true;
      if (!self->writing_) self->WriteNext();
    });
  }

  uint64_t dropped_messages() const override { return dropped_.load(); }

  void BeginShutdown() override { Close(1001, "server shutting down"); }
  void ForceClose() override {
    net::post(ex_, [self = Self()] {
      if (self->ws_) beast::get_lowest_layer(*self->ws_).close();
    });
  }

 private:
  std::shared_ptr<WsSession> Self() {
    return std::static_pointer_cast<WsSession>(this->shared_from_this());
  }

  void Read() {
    ws_->async_read(buffer_,
                    [self = Self()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (finished_) return;
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        core_->metrics.ProtocolError("websocket_too_big");
      } else if (ec != websocket::error::closed && ec != net::error::operation_aborted &&
                 ec != net::error::eof && ec != beast::error::timeout) {
        core_->metrics.ProtocolError("websocket");
      }
      return Finish();
    }
    if (ws_->got_text()) {
      const auto data = buffer_.cdata();
      handler_->OnText(std::string_view(static_cast<const char*>(data.data()), data.size()));
      buffer_.consume(buffer_.size());
      return Read();
    }
    Deliver();
  }

  // Offers the binary message until the handler takes it; no reading meanwhile.
  void Deliver() {
    if (finished_) return;
    const auto data = buffer_.cdata();
    if (handler_->OnBinary({static_cast<const uint8_t*>(data.data()), data.size()})) {
      buffer_.consume(buffer_.size());
      return Read();
    }
    retry_->expires_after(std::chrono::milliseconds(5));
    retry_->async_wait([self = Self()](beast::error_code ec) {
      if (!ec) self->Deliver();
    });
  }

  void WriteNext() {
    if (finished_) return;
    if (out_.empty()) {
      if (close_requested_ && !close_sent_) {
        close_sent_ = true;
        ws_->async_close(close_reason_, [self = Self()](beast::error_code) {
          // The read loop sees the close (or the error) and finishes.
        });
      }
      return;
    }
    writing_ = true;
    ws_->text(true);
    ws_->async_write(net::buffer(out_.front()), [self = Self()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      self->queued_bytes_ -= self->out_.front().size();
      self->out_.pop_front();
      if (ec) return self->Finish();
      self->WriteNext();
    });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    closing_ = true;
    retry_->cancel();
    beast::error_code ec;
    beast::get_lowest_layer(*ws_).socket().close(ec);
    if (handler_) handler_->OnClose();
    handler_.reset();  // the handler holds us too: break the cycle
    core_->Unregister(this);
  }

  std::shared_ptr<Core> core_;  // first member: destroyed last
  std::string remote_;
  WebSocketOptions options_;
  std::optional<websocket::stream<Stream>> ws_;
  net::any_io_executor ex_;
  std::optional<net::steady_timer> retry_;
  std::shared_ptr<WebSocketHandler> handler_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool close_requested_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
  bool registered_ = false;
  websocket::close_reason close_reason_;
  std::atomic<bool> closing_{false};
  std::atomic<size_t> queued_bytes_{0};
  std::atomic<uint64_t> dropped_{0};
};

template <class Derived>
class HttpSession : public SessionBase {
 public:
  HttpSession(std::shared_ptr<Core> core, net::any_io_executor ex, std::string remote)
      : core_(std::move(core)), ex_(std::move(ex)), remote_(std::move(remote)) {}

  ~HttpSession() override {
    if (!closed_) core_->Unregister(this);
  }

  /// Starts the connection on its strand.
  void Run() {
    net::dispatch(ex_, [self = Self()] { self->derived().Start(); });
  }

  void BeginShutdown() override {
    net::post(ex_, [self = Self()] { self->OnShutdownRequested(); });
  }
  void ForceClose() override {
    net::post(ex_, [self = Self()] { self->DoClose(); });
  }

 protected:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing };

  Derived& derived() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> Self() {
    return std::static_pointer_cast<Derived>(this->shared_from_this());
  }
  auto& lowest() { return beast::get_lowest_layer(derived().stream()); }

  void OnShutdownRequested() {
    shutdown_requested_ = true;
    if (phase_ == Phase::kIdle) DoClose();  // nothing in flight: an idle keep-alive connection
  }

  // Waits for the next request. With nothing buffered, the connection is idle: it waits for
  // the first byte under the keep-alive timeout, then gives the header its own timeout.
  void ReadRequest() {
    if (closed_) return;
    if (shutdown_requested_ && buffer_.size() == 0) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_->config.max_header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(core_->config.max_body_bytes));
    if (buffer_.size() > 0) return ReadHeader();
    phase_ = Phase::kIdle;
    lowest().expires_after(ToDuration(first_request_ ? core_->config.header_timeout_s
                                                     : core_->config.keep_alive_timeout_s));
    derived().stream().async_read_some(
        buffer_.prepare(4096),
        [self = Self()](beast::error_code ec, std::size_t n) { self->OnFirstBytes(ec, n); });
  }

  void OnFirstBytes(beast::error_code ec, std::size_t n) {
    if (ec) return DoClose();  // peer closed, idle timeout or shutdown
    buffer_.commit(n);
    ReadHeader();
  }

  void ReadHeader() {
    phase_ = Phase::kReading;
    lowest().expires_after(ToDuration(core_->config.header_timeout_s));
    http::async_read_header(
        derived().stream(), buffer_, *parser_,
        [self = Self()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (closed_) return;
    header_done_at_ = std::chrono::steady_clock::now();
    if (ec == beast::error::timeout) {
      core_->metrics.ProtocolError("header_timeout");
      return DoClose();
    }
    if (ec == http::error::header_limit) {
      core_->metrics.ProtocolError("header_too_large");
      return SendProtocolError(431, "header_too_large", "request header is too large");
    }
    if (ec == http::error::body_limit) {  // Content-Length over the limit: 413, body unread
      core_->metrics.ProtocolError("body_too_large");
      return SendProtocolError(413, "too_large", BodyLimitMessage());
    }
    if (ec && IsHttpParseError(ec)) {
      core_->metrics.ProtocolError("bad_request");
      return SendProtocolError(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
    if (ec) return DoClose();  // end of stream, reset, shutdown
    const auto& req = parser_->get();
    if (req.version() != 11 && req.version() != 10) {
      core_->metrics.ProtocolError("bad_request");
      return SendProtocolError(505, "http_version_not_supported", "only HTTP/1.0 and 1.1");
    }
    if (parser_->is_done()) return Dispatch();
    auto expect = req[http::field::expect];
    if (!expect.empty() && IEquals(expect, "100-continue")) {
      continue_res_.emplace(http::status::continue_, 11);
      lowest().expires_after(ToDuration(core_->config.write_timeout_s));
      return http::async_write(derived().stream(), *continue_res_,
                               [self = Self()](beast::error_code ec, std::size_t) {
                                 if (ec) return self->DoClose();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    lowest().expires_after(ToDuration(core_->config.body_timeout_s));
    http::async_read(derived().stream(), buffer_, *parser_,
                     [self = Self()](beast::error_code ec, std::size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (closed_) return;
    if (ec == beast::error::timeout) {  // the stream has closed the socket already
      core_->metrics.ProtocolError("body_timeout");
      return DoClose();
    }
    if (ec == http::error::body_limit) {  // chunked body over the limit
      core_->metrics.ProtocolError("body_too_large");
      return SendProtocolError(413, "too_large", BodyLimitMessage());
    }
    if (ec && IsHttpParseError(ec) && ec != http::error::partial_message &&
        ec != http::error::end_of_stream) {
      core_->metrics.ProtocolError("bad_request");
      return SendProtocolError(400, "bad_request", "malformed HTTP body: " + ec.message());
    }
    if (ec) return DoClose();
    Dispatch();
  }

  std::string BodyLimitMessage() const {
    return "request body is larger than the limit of " +
           std::to_string(core_->config.max_body_bytes) + " bytes";
  }

  void Dispatch() {
    phase_ = Phase::kHandling;
    lowest().expires_never();
    http::request<http::string_body> msg = parser_->release();
    parser_.reset();

    Request request;
    request.set_method(std::string(msg.method_string()));
    request.set_target(std::string(msg.target()));
    for (const auto& field : msg) {
      request.AddHeader(std::string(field.name_string()), std::string(field.value()));
    }
    std::string_view xid = msg["X-Request-Id"];
    request.set_request_id(IsValidRequestId(xid) ? std::string(xid) : GenerateRequestId());
    request.set_remote_address(remote_);
    cur_.keep_alive = msg.keep_alive();
    cur_.bytes_in = static_cast<int64_t>(msg.body().size());
    request.set_body(std::move(msg.body()));

    Core::Prepared prepared = core_->Prepare(request);
    cur_.request_id = request.request_id();
    cur_.method =
        request.method() == Method::kOther ? "OTHER" : std::string(MethodName(request.method()));
    cur_.route = request.route().empty() ? "unmatched" : request.route();
    cur_.key_id = request.principal().key_id;

    const uint64_t serial = ++serial_;
    auto deliver = [self = Self(), core = core_, serial](Response response) {
      std::lock_guard lock(core->mu);
      if (core->stopped) return;  // the server is gone; nobody will write this
      net::post(self->ex_, [self, serial, response = std::move(response)]() mutable {
        self->OnResponse(serial, std::move(response));
      });
    };
    Responder responder = Responder::Create(std::move(request), std::move(deliver));
    if (prepared.error) {
      responder.Send(std::move(*prepared.error));
    } else if (prepared.route->options.websocket && websocket::is_upgrade(msg)) {
      Upgrade(std::move(msg), *prepared.route, responder);
    } else {
      core_->Invoke(*prepared.route, responder);
    }
  }

  // Hands the connection to a WebSocket session when the route's factory accepts it; otherwise
  // the factory's error is the HTTP answer.
  void Upgrade(http::request<http::string_body> msg, const api::Route& route,
               const Responder& responder) {
    using StreamT = std::remove_reference_t<decltype(derived().stream())>;
    auto ws = std::make_shared<WsSession<StreamT>>(core_, remote_, route.options.websocket_options);
    Result<std::shared_ptr<WebSocketHandler>> handler =
        route.options.websocket(responder.request(), ws);
    if (!handler.ok()) {
      responder.SendError(handler.status());
      return;
    }
    const double duration_s = Seconds(std::chrono::steady_clock::now() - header_done_at_).count();
    core_->metrics.RecordRequest(cur_.route, cur_.method, 101, duration_s);
    if (core_->config.access_log) {
      core_->access_log.Write(AccessLogEntry{cur_.request_id, cur_.method, cur_.route, 101,
                                             duration_s * 1000.0, remote_, cur_.key_id,
                                             cur_.bytes_in, 0});
    }
    // This HTTP session is done: the socket moves to the WebSocket session. The responder's
    // eventual default answer is ignored because closed_ is set.
    closed_ = true;
    phase_ = Phase::kClosing;
    core_->Unregister(this);
    ws->Start(std::move(derived().stream()), std::move(msg), std::move(*handler));
  }

  void OnResponse(uint64_t serial, Response response) {
    if (closed_ || phase_ != Phase::kHandling || serial != serial_) return;
    const double duration_s = Seconds(std::chrono::steady_clock::now() - header_done_at_).count();
    const bool keep_alive =
        cur_.keep_alive && !shutdown_requested_ && !core_->draining.load(std::memory_order_relaxed);
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->set(http::field::server, "voxgate");
    if (!response.content_type.empty() && !HasCrLf(response.content_type)) {
      res->set(http::field::content_type, response.content_type);
    }
    res->set("X-Request-Id", cur_.request_id);
    for (const auto& [name, value] : response.headers) {
      if (name.empty() || HasCrLf(name) || HasCrLf(value) || name.find(':') != std::string::npos ||
          IEquals(name, "Content-Length") || IEquals(name, "Transfer-Encoding") ||
          IEquals(name, "Connection")) {
        continue;
      }
      res->insert(name, value);
    }
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();

    core_->metrics.RecordRequest(cur_.route, cur_.method, response.status, duration_s);
    if (core_->config.access_log) {
      core_->access_log.Write(AccessLogEntry{
          cur_.request_id, cur_.method, cur_.route, response.status, duration_s * 1000.0, remote_,
          cur_.key_id, cur_.bytes_in, static_cast<int64_t>(res->body().size())});
    }
    Write(std::move(res), keep_alive);
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res, bool keep_alive) {
    phase_ = Phase::kWriting;
    res_ = std::move(res);
    lowest().expires_after(ToDuration(core_->config.write_timeout_s));
    http::async_write(derived().stream(), *res_,
                      [self = Self(), keep_alive](beast::error_code ec, std::size_t) {
                        self->OnWrite(ec, keep_alive);
                      });
  }

  void OnWrite(beast::error_code ec, bool keep_alive) {
    res_.reset();
    if (closed_) return;
    if (ec) return DoClose();
    if (!keep_alive) {
      phase_ = Phase::kClosing;
      return derived().CloseAfterResponse();
    }
    first_request_ = false;
    ReadRequest();
  }

  // Answers a request that could not be parsed (or is over a limit) and closes the connection.
  void SendProtocolError(int status, std::string_view code, const std::string& message) {
    parser_.reset();
    cur_ = Current{};
    cur_.request_id = GenerateRequestId();
    cur_.method = "OTHER";
    cur_.route = "unmatched";
    cur_.keep_alive = false;
    phase_ = Phase::kHandling;
    OnResponse(serial_, HttpErrorResponse(status, code, message, cur_.request_id));
  }

  // Reads and drops whatever the peer still sends, until it closes or the linger time is over.
  void LingerDiscard() {
    derived().stream().async_read_some(net::buffer(discard_),
                                       [self = Self()](beast::error_code ec, std::size_t) {
                                         if (ec) return self->DoClose();
                                         self->LingerDiscard();
                                       });
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    phase_ = Phase::kClosing;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    core_->Unregister(this);
  }

  struct Current {
    std::string request_id;
    std::string method;
    std::string route;
    std::string key_id;
    bool keep_alive = false;
    int64_t bytes_in = 0;
  };

  std::shared_ptr<Core> core_;  // first member: destroyed last, after the socket
  net::any_io_executor ex_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_res_;
  std::shared_ptr<http::response<http::string_body>> res_;
  Phase phase_ = Phase::kIdle;
  bool shutdown_requested_ = false;
  bool closed_ = false;
  bool first_request_ = true;
  uint64_t serial_ = 0;  // identifies the request a response belongs to
  std::chrono::steady_clock::time_point header_done_at_;
  Current cur_;
  std::array<char, 16384> discard_;
};

class PlainSession : public HttpSession<PlainSession> {
 public:
  PlainSession(std::shared_ptr<Core> core, tcp::socket socket, std::string remote)
      : HttpSession(std::move(core), socket.get_executor(), std::move(remote)),
        stream_(std::move(socket)) {}

  beast::tcp_stream& stream() { return stream_; }
  void Start() { ReadRequest(); }
  void CloseAfterResponse() {
    // Half-close, then drain: the peer sees the response and EOF rather than a reset.
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTimeout);
    LingerDiscard();
  }

 private:
  beast::tcp_stream stream_;
};

class TlsSession : public HttpSession<TlsSession> {
 public:
  TlsSession(std::shared_ptr<Core> core, tcp::socket socket, std::string remote)
      : HttpSession(core, socket.get_executor(), std::move(remote)),
        stream_(std::move(socket), *core->ssl_ctx) {}

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  void Start() {
    lowest().expires_after(ToDuration(core_->config.header_timeout_s));
    stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
      if (ec) {
        self->core_->metrics.ProtocolError("tls_handshake");
        return self->DoClose();
      }
      self->ReadRequest();
    });
  }
  void CloseAfterResponse() {
    lowest().expires_after(kTlsShutdownTimeout);
    stream_.async_shutdown([self = Self()](beast::error_code) { self->DoClose(); });
  }

 private:
  beast::ssl_stream<beast::tcp_stream> stream_;
};

std::string RemoteAddress(const tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

}  // namespace

// ---- Core -----------------------------------------------------------------------------------

HttpServer::Core::Prepared HttpServer::Core::Prepare(Request& request) {
  Prepared out;
  const std::string& id = request.request_id();
  auto target = SplitTarget(request.target());
  if (!target.ok()) {
    out.error = ErrorResponse(target.status(), id);
    return out;
  }
  request.set_path(std::move(target->path));
  auto query = ParseQuery(target->query);
  if (!query.ok()) {
    out.error = ErrorResponse(query.status().WithContext("query string"), id);
    return out;
  }
  request.set_query_params(std::move(*query));

  Router::Match match = router.Find(request.method(), request.path());
  switch (match.kind) {
    case Router::Match::Kind::kNotFound: {
      std::string path = request.path().substr(0, 200);
      out.error = HttpErrorResponse(
          404, "not_found", "no route for " + request.method_name().substr(0, 16) + " " + path, id);
      return out;
    }
    case Router::Match::Kind::kMethodNotAllowed:
      out.error = HttpErrorResponse(405, "method_not_allowed",
                                    "method " + request.method_name().substr(0, 16) +
                                        " is not allowed here; allowed: " + match.allow,
                                    id);
      out.error->headers.emplace_back("Allow", match.allow);
      return out;
    case Router::Match::Kind::kBadRequest:
      out.error = ErrorResponse(match.error, id);
      return out;
    case Router::Match::Kind::kFound:
      break;
  }
  const api::Route& route = *match.route;
  request.set_route(route.pattern);
  request.set_path_params(std::move(match.params));

  if (route.access != Access::kPublic) {
    if (!config.auth_enabled) {
      Principal dev;
      dev.key_name = "dev";
      dev.role = Role::kAdmin;
      request.set_principal(std::move(dev));
    } else {
      Result<Principal> principal =
          Status(StatusCode::kUnauthenticated,
                 "an API key is required: \"Authorization: Bearer <key>\" or \"X-API-Key: <key>\"");
      if (auto auth = request.Header("Authorization"); auth && keys) {
        principal = keys->Authenticate(*auth);
      } else if (auto api_key = request.Header("X-API-Key"); api_key && keys) {
        principal = keys->AuthenticateKey(*api_key);
      } else if (auto protocols = request.Header("Sec-WebSocket-Protocol");
                 protocols && keys && route.options.websocket) {
        // A browser's WebSocket: the key offered as a subprotocol (websocket_protocol.h).
        if (auto key = WebSocketProtocolKey(*protocols)) principal = keys->AuthenticateKey(*key);
      }
      if (!principal.ok()) {
        // Failed attempts spend the address's tokens, which slows down key guessing.
        RateLimiter::Decision d = limiter.Acquire("ip:" + request.remote_address());
        if (!d.allowed) {
          out.error = ErrorResponse(
              Status(StatusCode::kResourceExhausted, "too many requests; retry later"), id,
              d.retry_after_s);
          return out;
        }
        out.error = ErrorResponse(principal.status(), id);
        return out;
      }
      if (route.access == Access::kAdmin && principal->role != Role::kAdmin) {
        out.error = ErrorResponse(
            Status(StatusCode::kPermissionDenied, "this operation needs an admin API key"), id);
        request.set_principal(std::move(*principal));
        return out;
      }
      request.set_principal(std::move(*principal));
    }
  }

  if (route.options.rate_limited) {
    const Principal& p = request.principal();
    RateLimiter::Decision d =
        limiter.Acquire(p.authenticated ? "key:" + p.key_id : "ip:" + request.remote_address());
    if (!d.allowed) {
      out.error = ErrorResponse(
          Status(StatusCode::kResourceExhausted,
                 "rate limit exceeded; retry after " + std::to_string(d.retry_after_s) + " s"),
          id, d.retry_after_s);
      return out;
    }
  }
  out.route = &route;
  return out;
}

void HttpServer::Core::Invoke(const api::Route& route, const Responder& responder) {
  try {
    route.handler(responder.request(), responder);
  } catch (const std::exception& e) {
    if (!responder.sent()) responder.SendError(InternalError(std::string("handler: ") + e.what()));
  } catch (...) {
    if (!responder.sent()) responder.SendError(InternalError("handler threw"));
  }
}

bool HttpServer::Core::TryRegister(SessionBase* session, std::weak_ptr<SessionBase> weak) {
  std::lock_guard lock(mu);
  if (stopped || sessions.size() >= static_cast<size_t>(config.max_connections)) return false;
  sessions.emplace(session, std::move(weak));
  metrics.open_connections().Set(static_cast<double>(sessions.size()));
  return true;
}

void HttpServer::Core::Unregister(SessionBase* session) {
  std::lock_guard lock(mu);
  if (sessions.erase(session) > 0) {
    metrics.open_connections().Set(static_cast<double>(sessions.size()));
    cv.notify_all();
  }
}

void HttpServer::Core::DoAccept() {
  if (!acceptor || !acceptor->is_open()) return;
  // Each connection gets its own strand.
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Core::RejectConnection(tcp::socket socket) {
  metrics.rejected_connections().Increment();
  if (ssl_ctx) {  // no TLS handshake for a connection we will not serve
    beast::error_code ec;
    socket.close(ec);
    return;
  }
  static const std::string kResponse =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
      std::to_string(ErrorBody("unavailable", "too many connections", "").size()) + "\r\n\r\n" +
      ErrorBody("unavailable", "too many connections", "");
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  net::async_write(*sock, net::buffer(kResponse), [sock](beast::error_code, std::size_t) {
    beast::error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
    sock->close(ec);
  });
}

void HttpServer::Core::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor || !acceptor->is_open()) return;
  if (ec) {
    // Typically out of file descriptors: back off instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(100));
    accept_retry->async_wait([this](beast::error_code e) {
      if (!e) DoAccept();
    });
    return;
  }
  if (draining.load()) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  {
    std::lock_guard lock(mu);
    if (sessions.size() >= static_cast<size_t>(config.max_connections)) {
      RejectConnection(std::move(socket));
      DoAccept();
      return;
    }
  }
  std::string remote = RemoteAddress(socket);
  std::shared_ptr<Core> core = shared_from_this();
  if (ssl_ctx) {
    auto session = std::make_shared<TlsSession>(core, std::move(socket), std::move(remote));
    if (TryRegister(session.get(), session)) session->Run();
  } else {
    auto session = std::make_shared<PlainSession>(core, std::move(socket), std::move(remote));
    if (TryRegister(session.get(), session)) session->Run();
  }
  DoAccept();
}

// ---- HttpServer -----------------------------------------------------------------------------

struct HttpServer::Threads {
  std::vector<std::thread> threads;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;  // guarded by mu
};

HttpServer::HttpServer(HttpServerConfig config, HttpServerOptions options)
    : core_(std::make_shared<Core>(std::move(config), std::move(options))),
      threads_(std::make_unique<Threads>()) {
  Core* core = core_.get();  // the routes live inside Core, so a raw pointer cannot dangle
  RouteOptions builtin;
  builtin.rate_limited = false;
  core->router.Add(
      Method::kGet, "/health", Access::kPublic,
      [core](const Request&, Responder r) { r.SendJson(200, core->health.HealthJson()); }, builtin);
  core->router.Add(
      Method::kGet, "/ready", Access::kPublic,
      [core](const Request&, Responder r) {
        HealthRegistry::Readiness ready =
            core->health.Ready(core->draining.load() ? "shutting down" : "");
        r.SendJson(ready.ready ? 200 : 503, ready.body);
      },
      builtin);
  core->router.Add(
      Method::kGet, "/metrics", Access::kPublic,
      [core](const Request&, Responder r) {
        r.Send(Response::Text(200, core->registry->RenderText(),
                              std::string(metrics::kPrometheusContentType)));
      },
      builtin);
  core->health.Add(
      "http_server",
      [core] {
        ComponentHealth h;
        std::lock_guard lock(core->mu);
        h.details = {{"open_connections", core->sessions.size()},
                     {"tls", core->config.tls_enabled()},
                     {"auth", core->config.auth_enabled}};
        return h;
      },
      /*required_for_ready=*/false);
}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

Status HttpServer::Route(Method method, std::string_view pattern, Access access, Handler handler,
                         RouteOptions options) {
  if (started_) {
    return InvalidArgumentError("routes must be added before the server starts: " +
                                std::string(pattern));
  }
  return core_->router.Add(method, pattern, access, std::move(handler), options);
}

Status HttpServer::WebSocketRoute(std::string_view pattern, Access access, WebSocketFactory factory,
                                  WebSocketOptions options) {
  if (!factory) return InvalidArgumentError("WebSocket route without a factory");
  RouteOptions route_options;
  route_options.websocket = std::move(factory);
  route_options.websocket_options = options;
  return Route(
      Method::kGet, pattern, access,
      [](const Request&, Responder r) {
        Response res = HttpErrorResponse(426, "upgrade_required",
                                         "this endpoint speaks WebSocket: send an Upgrade request",
                                         r.request().request_id());
        res.headers.emplace_back("Upgrade", "websocket");
        r.Send(std::move(res));
      },
      std::move(route_options));
}

const Router& HttpServer::router() const { return core_->router; }
HealthRegistry& HttpServer::health() { return core_->health; }
metrics::Registry& HttpServer::registry() { return *core_->registry; }
const HttpMetrics& HttpServer::http_metrics() const { return core_->metrics; }
const HttpServerConfig& HttpServer::config() const { return core_->config; }
uint16_t HttpServer::port() const { return port_; }
bool HttpServer::tls() const { return core_->ssl_ctx != nullptr; }

size_t HttpServer::open_connections() const {
  std::lock_guard lock(core_->mu);
  return core_->sessions.size();
}

HttpMetrics::Totals HttpServer::request_totals() const { return core_->metrics.totals(); }

Status HttpServer::Start() {
  if (started_) return InvalidArgumentError("the server is already started");
  const HttpServerConfig& config = core_->config;
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (config.auth_enabled && !core_->keys) {
    return InvalidArgumentError(
        "server.auth_enabled is true but no API key store was given (dev mode runs without "
        "auth)");
  }

  if (config.tls_enabled()) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    try {
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
      ctx->use_certificate_chain_file(config.tls_cert_file);
    } catch (const std::exception& e) {
      return InvalidArgumentError("server.tls_cert_file \"" + config.tls_cert_file +
                                  "\": cannot load the certificate: " + e.what());
    }
    try {
      ctx->use_private_key_file(config.tls_key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      // The message names the file, never its content.
      return InvalidArgumentError("server.tls_key_file \"" + config.tls_key_file +
                                  "\": cannot load the private key: " + e.what());
    }
    core_->ssl_ctx = std::move(ctx);
  }

  beast::error_code ec;
  net::ip::address address = net::ip::make_address(config.host, ec);
  if (ec) {
    tcp::resolver resolver(core_->ioc);
    auto results = resolver.resolve(config.host, std::to_string(config.port), ec);
    if (ec || results.empty()) {
      return InvalidArgumentError("server.host \"" + config.host +
                                  "\" does not resolve: " + ec.message());
    }
    address = results.begin()->endpoint().address();
  }
  const std::string where = config.host + ":" + std::to_string(config.port);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(config.port));
  core_->acceptor.emplace(net::make_strand(core_->ioc));
  auto& acceptor = *core_->acceptor;
  auto fail = [&](const char* what) {
    core_->acceptor.reset();
    return Status(StatusCode::kUnavailable,
                  "cannot listen on " + where + ": " + what + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR");
  acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  port_ = acceptor.local_endpoint(ec).port();
  core_->accept_retry.emplace(acceptor.get_executor());

  started_ = true;
  threads_->work.emplace(core_->ioc.get_executor());
  threads_->running = config.io_threads;
  for (int i = 0; i < config.io_threads; ++i) {
    threads_->threads.emplace_back([core = core_.get(), t = threads_.get()] {
      while (true) {
        try {
          core->ioc.run();
          break;
        } catch (const std::exception& e) {
          spdlog::error("http: an I/O handler threw: {}", e.what());
        }
      }
      std::lock_guard lock(t->mu);
      --t->running;
      t->cv.notify_all();
    });
  }
  net::post(acceptor.get_executor(), [core = core_.get()] { core->DoAccept(); });

  spdlog::info("http: listening on {}://{}:{} ({} I/O threads, body limit {} bytes)",
               tls() ? "https" : "http", config.host, port_, config.io_threads,
               config.max_body_bytes);
  if (!config.auth_enabled) {
    spdlog::warn("**************************************************************************");
    spdlog::warn("* AUTH IS OFF (dev mode): every route is open to anyone who can connect. *");
    spdlog::warn("* Never run like this on a reachable network.                            *");
    spdlog::warn("**************************************************************************");
  }
  return Status::Ok();
}

void HttpServer::Shutdown(std::chrono::milliseconds drain_timeout) {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  Core& core = *core_;
  const auto deadline = std::chrono::steady_clock::now() + drain_timeout;
  core.draining = true;

  // 1. Stop accepting: once this returns, new connections are refused.
  auto closed = std::make_shared<std::promise<void>>();
  auto closed_future = closed->get_future();
  net::post(core.acceptor->get_executor(), [&core, closed] {
    beast::error_code ec;
    core.acceptor->close(ec);
    core.accept_retry->cancel();
    closed->set_value();
  });
  if (closed_future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    spdlog::warn("http: the I/O threads did not close the listener within 5 s");
  }

  // 2. Idle connections close now; busy ones after their current response.
  std::vector<std::shared_ptr<SessionBase>> sessions;
  auto snapshot = [&] {
    sessions.clear();
    std::lock_guard lock(core.mu);
    for (auto& [ptr, weak] : core.sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  };
  snapshot();
  for (auto& s : sessions) s->BeginShutdown();
  sessions.clear();

  // 3. Wait for the in-flight requests.
  {
    std::unique_lock lock(core.mu);
    core.cv.wait_until(lock, deadline, [&] { return core.sessions.empty(); });
    if (!core.sessions.empty()) {
      spdlog::warn("http: {} connections still busy after the drain time; closing them",
                   core.sessions.size());
    }
    core.stopped = true;  // from here on, late responses are dropped
  }
  snapshot();
  for (auto& s : sessions) s->ForceClose();
  sessions.clear();

  // 4. Let the I/O threads run out of work, then join them.
  threads_->work.reset();
  {
    std::unique_lock lock(threads_->mu);
    if (!threads_->cv.wait_for(lock, std::chrono::seconds(5),
                               [&] { return threads_->running == 0; })) {
      core.ioc.stop();
    }
  }
  for (auto& t : threads_->threads) t.join();
  threads_->threads.clear();
  spdlog::info("http: server on port {} stopped", port_);
}

}  // namespace voxgate::api
