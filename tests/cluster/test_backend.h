// Test helper: a small real HTTP/1.1 node on loopback for the cluster tests (Boost.Beast,
// synchronous, a thread per connection). GET /health answers health_status(); any other request
// answers status() with a JSON echo of what arrived (method, target, body, X-API-Key,
// X-Forwarded-For) and X-Backend: <name>. Stop() closes the listener and every connection, like a
// dead process; Start() again listens on the same port.
//
// Thread-safe: the setters and counters may be used from any thread while it runs.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::testing {

class TestBackend {
 public:
  explicit TestBackend(std::string name) : name_(std::move(name)) {}
  ~TestBackend() { Stop(); }

  /// Listens on 127.0.0.1:`port` (0: any free port, remembered for later restarts).
  bool Start(uint16_t port = 0) {
    namespace asio = boost::asio;
    using tcp = asio::ip::tcp;
    if (port == 0) port = port_;
    acceptor_ = std::make_unique<tcp::acceptor>(io_);
    boost::system::error_code ec;
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(128, ec);
    if (ec) return false;
    port_ = acceptor_->local_endpoint().port();
    running_ = true;
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return true;
  }

  void Stop() {
    if (!running_.exchange(false)) return;
    boost::system::error_code ec;
    // close() alone does not wake a thread blocked in accept(); shutdown() does (Linux).
    ::shutdown(acceptor_->native_handle(), SHUT_RDWR);
    acceptor_->close(ec);
    {
      std::lock_guard lock(mu_);
      for (auto* s : sockets_) {
        s->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
        s->close(ec);
      }
    }
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    acceptor_.reset();
  }

  uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }
  void set_status(int status) { status_ = status; }
  void set_health_status(int status) { health_status_ = status; }
  void set_delay_ms(int ms) { delay_ms_ = ms; }
  /// Requests answered, /health excluded.
  int requests() const { return requests_.load(); }
  int health_checks() const { return health_checks_.load(); }
  int connections() const { return connections_.load(); }
  /// Connections that carried at least one request other than /health.
  int request_connections() const { return request_connections_.load(); }

 private:
  void AcceptLoop() {
    while (running_) {
      auto socket = std::make_unique<boost::asio::ip::tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_->accept(*socket, ec);
      if (ec) {
        if (!running_) return;
        continue;
      }
      ++connections_;
      std::lock_guard lock(mu_);
      sockets_.insert(socket.get());
      threads_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(std::unique_ptr<boost::asio::ip::tcp::socket> socket) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    bool counted = false;
    while (running_) {
      http::request<http::string_body> req;
      http::read(*socket, buffer, req, ec);
      if (ec) break;
      http::response<http::string_body> res;
      res.version(11);
      res.set("X-Backend", name_);
      res.set(http::field::content_type, "application/json");
      if (req.target() == "/health") {
        ++health_checks_;
        res.result(health_status_.load());
        res.body() = R"({"status":"ok"})";
      } else {
        ++requests_;
        if (!counted) {
          counted = true;
          ++request_connections_;
        }
        if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
        res.result(status_.load());
        nlohmann::json echo{{"backend", name_},
                            {"method", std::string(req.method_string())},
                            {"target", std::string(req.target())},
                            {"body", req.body()},
                            {"x_api_key", std::string(req["X-API-Key"])},
                            {"x_forwarded_for", std::string(req["X-Forwarded-For"])},
                            {"connection", std::string(req[http::field::connection])}};
        res.body() = echo.dump();
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(*socket, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    std::lock_guard lock(mu_);
    sockets_.erase(socket.get());
    socket->close(ec);
  }

  const std::string name_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::atomic<bool> running_{false};
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::set<boost::asio::ip::tcp::socket*> sockets_;  // guarded by mu_
  std::vector<std::thread> threads_;                 // guarded by mu_
  std::atomic<int> status_{200};
  std::atomic<int> health_status_{200};
  std::atomic<int> delay_ms_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> health_checks_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> request_connections_{0};
};

}  // namespace voxgate::testing
