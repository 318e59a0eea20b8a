// WsClient: a blocking WebSocket client (Boost.Beast) for the end-to-end tests of `voxgate serve`.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace voxgate::testing {

// A blocking WebSocket client for tests.
class WsClient {
 public:
  using tcp = boost::asio::ip::tcp;

  /// `protocols`: offered as Sec-WebSocket-Protocol (a browser's way to send its key).
  bool Connect(uint16_t port, const std::string& target = "/api/v1/stream",
               const std::string& api_key = "", const std::vector<std::string>& protocols = {}) {
    try {
      tcp::resolver resolver(ioc_);
      auto endpoints = resolver.resolve("127.0.0.1", std::to_string(port));
      boost::asio::connect(ws_.next_layer(), endpoints);
      std::string offered;
      for (const auto& p : protocols) offered += (offered.empty() ? "" : ", ") + p;
      ws_.set_option(boost::beast::websocket::stream_base::decorator(
          [api_key, offered](boost::beast::websocket::request_type& req) {
            if (!api_key.empty()) req.set("X-API-Key", api_key);
            if (!offered.empty()) req.set("Sec-WebSocket-Protocol", offered);
          }));
      boost::beast::websocket::response_type res;
      ws_.handshake(res, "127.0.0.1:" + std::to_string(port), target);
      protocol_ = std::string(res["Sec-WebSocket-Protocol"]);
      return true;
    } catch (const std::exception& e) {
      error_ = e.what();
      return false;
    }
  }
  void SendText(const std::string& text) {
    ws_.text(true);
    ws_.write(boost::asio::buffer(text));
  }
  void SendBinary(const void* data, size_t size) {
    ws_.binary(true);
    ws_.write(boost::asio::buffer(data, size));
  }
  // Next text message as JSON; nullopt on close or error.
  std::optional<nlohmann::json> Read() {
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) {
      error_ = ec.message();
      return std::nullopt;
    }
    return nlohmann::json::parse(boost::beast::buffers_to_string(buffer.data()), nullptr, false);
  }
  // Reads until a message of `type` (or the end); returns everything read.
  std::vector<nlohmann::json> ReadUntil(const std::string& type) {
    std::vector<nlohmann::json> out;
    while (auto m = Read()) {
      out.push_back(*m);
      if (m->value("type", "") == type) break;
    }
    return out;
  }
  boost::beast::websocket::close_reason close_reason() const { return ws_.reason(); }
  const std::string& error() const { return error_; }
  /// The subprotocol the server selected ("" for none).
  const std::string& protocol() const { return protocol_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<tcp::socket> ws_{ioc_};
  std::string protocol_;
  std::string error_;
};

}  // namespace voxgate::testing
