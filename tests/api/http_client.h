// Test helpers for talking to a real HttpServer over loopback (header-only, Boost.Beast):
//
//   HttpClient client(server.port());                 // keep-alive, reconnects when needed
//   client.SetHeader("Authorization", "Bearer " + key);
//   HttpResponse r = client.Post("/api/v1/x", R"({"a":1})");
//   EXPECT_EQ(r.status, 200);
//   EXPECT_EQ(r.Json()["success"], true);
//   client.PostMultipart("/api/v1/voiceprint/register",
//                        {{"name", "alice"}, {"audio", wav_bytes, "a.wav", "audio/wav"}});
//
//   RawConnection raw(server.port());                 // bytes on the wire, for malformed input
//   raw.Send("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n");
//   std::string reply = raw.ReadUntilClose(std::chrono::seconds(2));
//
// Every call has a timeout (Options::timeout), so a server bug fails a test instead of hanging
// it. Not thread-safe: one client per thread.
#pragma once

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_server_config.h"

namespace voxgate::testing {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;     // 0: no response at all; `error` says why
  std::string error;  // transport error, "" on success
  std::string body;
  Headers headers;

  /// The first value of header `name` (case-insensitive), "" when absent.
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (boost::beast::iequals(k, name)) return v;
    }
    return "";
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (boost::beast::iequals(k, name)) return true;
    }
    return false;
  }
  /// The body as JSON; a discarded (is_discarded()) value when it is not JSON.
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

/// One field of a multipart/form-data body: a plain field (name, data) or a file (with filename).
struct FormPart {
  std::string name;
  std::string data;
  std::string filename;      // set for file parts
  std::string content_type;  // e.g. "audio/wav"; default application/octet-stream for files
};

/// Builds a multipart/form-data body; returns {body, content type with boundary}.
/// A server config for tests: loopback, ephemeral port, no auth, no access log, no rate limit.
inline api::HttpServerConfig TestServerConfig() {
  api::HttpServerConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.auth_enabled = false;
  c.access_log = false;
  c.rate_limit.enabled = false;
  return c;
}

inline std::pair<std::string, std::string> BuildMultipart(const std::vector<FormPart>& parts) {
  std::string boundary = "----voxgate-test-";
  std::mt19937_64 rng{std::random_device{}()};
  boundary += std::to_string(rng());
  std::string body;
  for (const auto& p : parts) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"";
    body += "\r\n";
    if (!p.filename.empty() || !p.content_type.empty()) {
      body += "Content-Type: " +
              (p.content_type.empty() ? std::string("application/octet-stream") : p.content_type) +
              "\r\n";
    }
    body += "\r\n";
    body += p.data;
    body += "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return {std::move(body), "multipart/form-data; boundary=" + boundary};
}

class HttpClient {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    bool tls = false;  // HTTPS without certificate verification (self-signed test certs)
    std::chrono::milliseconds timeout{10000};  // per connect / write / read
    bool keep_alive = true;                    // false: "Connection: close" on every request
  };

  explicit HttpClient(uint16_t port) : HttpClient(port, Options{}) {}
  HttpClient(uint16_t port, Options options)
      : port_(port), options_(std::move(options)), ssl_ctx_(ssl::context::tls_client) {
    ssl_ctx_.set_verify_mode(ssl::verify_none);
  }
  ~HttpClient() { Close(); }

  HttpResponse Get(std::string_view target, const Headers& headers = {}) {
    return Request("GET", target, "", headers);
  }
  HttpResponse Delete(std::string_view target, const Headers& headers = {}) {
    return Request("DELETE", target, "", headers);
  }
  HttpResponse Post(std::string_view target, std::string body, const Headers& headers = {},
                    std::string_view content_type = "application/json") {
    return Request("POST", target, std::move(body), headers, content_type);
  }
  HttpResponse Put(std::string_view target, std::string body, const Headers& headers = {},
                   std::string_view content_type = "application/json") {
    return Request("PUT", target, std::move(body), headers, content_type);
  }
  HttpResponse PostJson(std::string_view target, const nlohmann::json& body,
                        const Headers& headers = {}) {
    return Post(target, body.dump(), headers, "application/json");
  }
  HttpResponse PostMultipart(std::string_view target, const std::vector<FormPart>& parts,
                             const Headers& headers = {}) {
    auto [body, content_type] = BuildMultipart(parts);
    return Post(target, std::move(body), headers, content_type);
  }

  /// Any method. A request on a reused keep-alive connection that the server has closed in the
  /// meantime is retried once on a new connection.
  HttpResponse Request(std::string_view method, std::string_view target, std::string body,
                       const Headers& headers = {}, std::string_view content_type = "") {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, options_.host + ":" + std::to_string(port_));
    req.set(http::field::user_agent, "voxgate-test-client");
    for (const auto& [k, v] : default_headers_) req.set(k, v);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      if (!content_type.empty()) req.set(http::field::content_type, content_type);
      req.body() = std::move(body);
      req.prepare_payload();
    }
    req.keep_alive(options_.keep_alive);

    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!connected_) {
        std::string error = Connect();
        if (!error.empty()) return Failed("connect: " + error);
      }
      const bool reused = requests_on_connection_ > 0;
      ++requests_on_connection_;
      beast::error_code ec = Write(req);
      if (ec) {
        Close();
        if (reused && attempt == 0) continue;
        return Failed("write: " + ec.message());
      }
      HttpResponse r;
      bool got_bytes = false;
      ec = Read(&r, &got_bytes);
      if (ec) {
        Close();
        if (reused && attempt == 0 && !got_bytes) continue;
        return Failed("read: " + ec.message());
      }
      if (!keep_alive_response_) Close();
      return r;
    }
    return Failed("unreachable");
  }

  /// Sent with every request (e.g. Authorization); replaces an earlier value.
  void SetHeader(const std::string& name, const std::string& value) {
    for (auto& [k, v] : default_headers_) {
      if (beast::iequals(k, name)) {
        v = value;
        return;
      }
    }
    default_headers_.emplace_back(name, value);
  }

  /// TCP connections opened so far (1 after many keep-alive requests).
  int connects() const { return connects_; }
  bool connected() const { return connected_; }

  void Close() {
    if (!connected_) return;
    connected_ = false;
    beast::error_code ec;
    if (tls_) {
      beast::get_lowest_layer(*tls_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*tls_).close();
      tls_.reset();
    }
    if (plain_) {
      plain_->socket().shutdown(tcp::socket::shutdown_both, ec);
      plain_->close();
      plain_.reset();
    }
  }

 private:
  template <class Op>
  beast::error_code Run(Op&& start) {
    beast::error_code result = boost::asio::error::would_block;
    ioc_.restart();
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.run();
    return result;
  }

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  std::string Connect() {
    Close();
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(options_.host, std::to_string(port_), ec);
    if (ec) return ec.message();
    if (options_.tls) {
      tls_.emplace(ioc_, ssl_ctx_);
    } else {
      plain_.emplace(ioc_);
    }
    Lowest().expires_after(options_.timeout);
    ec = Run([&](auto handler) { Lowest().async_connect(results, handler); });
    if (ec) {
      tls_.reset();
      plain_.reset();
      return ec.message();
    }
    if (tls_) {
      Lowest().expires_after(options_.timeout);
      ec = Run([&](auto handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        tls_.reset();
        return "TLS handshake: " + ec.message();
      }
    }
    connected_ = true;
    ++connects_;
    requests_on_connection_ = 0;
    buffer_.clear();
    return "";
  }

  beast::error_code Write(http::request<http::string_body>& req) {
    Lowest().expires_after(options_.timeout);
    if (tls_) return Run([&](auto handler) { http::async_write(*tls_, req, handler); });
    return Run([&](auto handler) { http::async_write(*plain_, req, handler); });
  }

  beast::error_code Read(HttpResponse* out, bool* got_bytes) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    Lowest().expires_after(options_.timeout);
    beast::error_code ec;
    if (tls_) {
      ec = Run([&](auto handler) { http::async_read(*tls_, buffer_, parser, handler); });
    } else {
      ec = Run([&](auto handler) { http::async_read(*plain_, buffer_, parser, handler); });
    }
    *got_bytes = parser.got_some();
    if (ec) return ec;
    auto res = parser.release();
    out->status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out->body = std::move(res.body());
    keep_alive_response_ = res.keep_alive();
    return {};
  }

  static HttpResponse Failed(std::string error) {
    HttpResponse r;
    r.error = std::move(error);
    return r;
  }

  uint16_t port_;
  Options options_;
  boost::asio::io_context ioc_;
  ssl::context ssl_ctx_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  Headers default_headers_;
  bool connected_ = false;
  bool keep_alive_response_ = true;
  int connects_ = 0;
  int requests_on_connection_ = 0;
};

/// A plain TCP connection for sending arbitrary bytes (malformed requests, slow bodies). Timeouts
/// cancel the operation but keep the connection open, so reads and writes can alternate.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port, const std::string& host = "127.0.0.1")
      : socket_(ioc_), timer_(ioc_) {
    tcp::endpoint endpoint(boost::asio::ip::make_address(host), port);
    beast::error_code result = boost::asio::error::would_block;
    Run(std::chrono::seconds(5), [&](auto done) {
      socket_.async_connect(endpoint, [&, done](beast::error_code ec) {
        result = ec;
        done();
      });
    });
    connected_ = !result;
  }

  bool connected() const { return connected_; }

  /// Writes all of `bytes`; false when the connection failed (e.g. reset by the server) or the
  /// write did not finish within `timeout`.
  bool Send(std::string_view bytes,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    if (!connected_) return false;
    bool ok = false;
    Run(timeout, [&](auto done) {
      boost::asio::async_write(socket_, boost::asio::buffer(bytes.data(), bytes.size()),
                               [&, done](beast::error_code ec, std::size_t) {
                                 ok = !ec;
                                 done();
                               });
    });
    return ok;
  }

  /// Reads until the server closes the connection (`*closed` true) or `timeout` passes (false;
  /// the connection stays usable).
  std::string ReadUntilClose(std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string out;
    bool peer_closed = false;
    if (connected_) {
      Run(timeout, [&](auto done) {
        ReadLoop(&out, [&, done](beast::error_code ec) {
          peer_closed = ec != boost::asio::error::operation_aborted;
          done();
        });
      });
    }
    if (closed) *closed = peer_closed;
    return out;
  }

  /// Writes `bytes` while reading what comes back, until the server closes the connection or
  /// `timeout` passes. For a server that answers before reading the whole request (413).
  std::string SendWhileReading(const std::string& bytes, std::chrono::milliseconds timeout,
                               bool* closed = nullptr) {
    std::string out;
    bool peer_closed = false;
    if (connected_) {
      Run(timeout, [&](auto done) {
        boost::asio::async_write(socket_, boost::asio::buffer(bytes),
                                 [](beast::error_code, std::size_t) {});
        ReadLoop(&out, [&, done](beast::error_code ec) {
          peer_closed = ec != boost::asio::error::operation_aborted;
          done();  // also cancels a write that is still going
        });
      });
    }
    if (closed) *closed = peer_closed;
    return out;
  }

  void Close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  // Runs the operations `start` begins until they call done() or `timeout` passes; either way
  // whatever is still pending is cancelled and completes before Run returns.
  template <class Start>
  void Run(std::chrono::milliseconds timeout, Start start) {
    ioc_.restart();
    bool finished = false;
    auto done = [this, &finished] {
      if (finished) return;
      finished = true;
      timer_.cancel();
      beast::error_code ec;
      socket_.cancel(ec);
    };
    timer_.expires_after(timeout);
    timer_.async_wait([this, &finished](beast::error_code ec) {
      if (ec || finished) return;
      finished = true;
      beast::error_code ignored;
      socket_.cancel(ignored);
    });
    start(done);
    ioc_.run();
  }

  void ReadLoop(std::string* out, std::function<void(beast::error_code)> on_end) {
    socket_.async_read_some(boost::asio::buffer(chunk_),
                            [this, out, on_end](beast::error_code ec, std::size_t n) {
                              out->append(chunk_.data(), n);
                              if (ec) return on_end(ec);
                              ReadLoop(out, on_end);
                            });
  }

  boost::asio::io_context ioc_;
  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  bool connected_ = false;
  std::array<char, 65536> chunk_;
};

/// The status code of the first response in raw bytes ("HTTP/1.1 413 ..." -> 413), 0 if none.
inline int RawStatus(std::string_view raw) {
  if (raw.size() < 12 || raw.substr(0, 5) != "HTTP/") return 0;
  size_t sp = raw.find(' ');
  if (sp == std::string_view::npos || sp + 4 > raw.size()) return 0;
  int code = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (raw[i] < '0' || raw[i] > '9') return 0;
    code = code * 10 + (raw[i] - '0');
  }
  return code;
}

}  // namespace voxgate::testing
