#include "analytics/webhook_sender.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "analytics/in_process_event_bus.h"
#include "common/config_node.h"

namespace voxgate::analytics {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

// A tiny real HTTP/1.1 server on 127.0.0.1 for webhook tests: records every request and answers
// it with the status the test picks for that request's index. Hold() makes it keep requests
// unanswered until Release(), to play a stalled endpoint.
class TestHttpServer {
 public:
  struct Request {
    std::string target;
    std::string body;
    std::map<std::string, std::string> headers;
  };
  using StatusFor = std::function<int(int index)>;

  explicit TestHttpServer(StatusFor status_for = [](int) { return 200; })
      : status_for_(std::move(status_for)),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestHttpServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      held_ = false;
    }
    cv_.notify_all();
    net::post(ioc_, [this] { acceptor_.close(); });
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  void Hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  /// Waits until at least n requests arrived (false after `timeout`: the test then fails).
  bool WaitForRequests(size_t n, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      Serve(std::move(socket));
      Accept();
    });
  }
  // One request per connection (the sender asks for Connection: close).
  void Serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    beast::error_code ec;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    int index;
    {
      std::unique_lock lock(mu_);
      Request r{std::string(req.target()), req.body(), {}};
      for (const auto& field : req) {
        r.headers[std::string(field.name_string())] = std::string(field.value());
      }
      index = static_cast<int>(requests_.size());
      requests_.push_back(std::move(r));
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_ || stopping_; });
    }
    http::response<http::string_body> res{static_cast<http::status>(status_for_(index)), 11};
    res.body() = "{}";
    res.keep_alive(false);
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  StatusFor status_for_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  bool held_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// A loopback port with nothing listening on it.
unsigned short ClosedPort() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  unsigned short port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

Event Make(std::string type, int n) {
  Event e;
  e.type = std::move(type);
  e.session_id = "call-" + std::to_string(n);
  e.time_ms = 1700000000000 + n;
  e.data = {{"n", n}, {"text", "caf\xc3\xa9"}};
  return e;
}

WebhookConfig Config(std::vector<std::string> urls) {
  WebhookConfig c;
  c.urls = std::move(urls);
  c.timeout_ms = 5000;
  c.max_retries = 2;
  c.retry_backoff_ms = 5;
  c.queue_capacity = 100;
  return c;
}

double CounterValue(metrics::Registry& r, const std::string& name) {
  return r.GetCounter(name, "").value();
}

TEST(WebhookConfigTest, Validate) {
  EXPECT_TRUE(Config({"http://127.0.0.1:8080/hook", "http://example.com", "HTTP://[::1]:9/x?a=1"})
                  .Validate()
                  .ok());
  EXPECT_TRUE(Config({}).Validate().ok());
  for (const char* bad : {"https://example.com/hook", "ftp://x", "example.com/hook", "http://",
                          "http://:80/", "http://host:0/", "http://host:99999/", "http://host:8a/",
                          "http://user:pw@host/", "http://[::1/"}) {
    EXPECT_FALSE(Config({bad}).Validate().ok()) << bad;
  }
  WebhookConfig c = Config({});
  c.timeout_ms = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = Config({});
  c.queue_capacity = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = Config({});
  c.max_retries = -1;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(WebhookConfigTest, ToStringHidesPathsAndSecrets) {
  WebhookConfig c =
      Config({"http://hooks.example.com/services/T000/B000/XXXXSECRET", "http://10.0.0.5:8080/"});
  c.event_types = {"session.ended"};
  c.secret_env = "VOXGATE_WEBHOOK_SECRET";
  const std::string s = c.ToString();
  EXPECT_EQ(s.find("XXXXSECRET"), std::string::npos) << s;
  EXPECT_NE(s.find("http://hooks.example.com:80/***"), std::string::npos) << s;
  EXPECT_NE(s.find("http://10.0.0.5:8080/"), std::string::npos) << s;
  EXPECT_NE(s.find("secret_env=VOXGATE_WEBHOOK_SECRET"), std::string::npos) << s;
  EXPECT_NE(s.find("event_types=[session.ended]"), std::string::npos) << s;
}

TEST(WebhookConfigTest, LoadFromYamlAndEnvironment) {
  auto root = ConfigNode::Parse(R"(
webhooks:
  urls: ["http://127.0.0.1:9000/a"]
  event_types: ["session.ended", "session.decision"]
  timeout_ms: 1500
  max_retries: 4
  queue_capacity: 50
  secret_env: HOOK_KEY
)");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  ConfigNode node = root->Child("webhooks");
  node.SetEnvForTesting(std::make_shared<ConfigNode::EnvLookup>(ConfigNode::EnvLookup{
      {"VOXGATE_WEBHOOKS_RETRY_BACKOFF_MS", "250"},
      {"VOXGATE_WEBHOOKS_URLS", "http://127.0.0.1:9001/b,http://127.0.0.1:9002/c"}}));
  WebhookConfig c;
  ASSERT_TRUE(c.Load(node).ok());
  EXPECT_EQ(c.urls,
            (std::vector<std::string>{"http://127.0.0.1:9001/b", "http://127.0.0.1:9002/c"}));
  EXPECT_EQ(c.event_types, (std::vector<std::string>{"session.ended", "session.decision"}));
  EXPECT_EQ(c.timeout_ms, 1500);
  EXPECT_EQ(c.max_retries, 4);
  EXPECT_EQ(c.retry_backoff_ms, 250);
  EXPECT_EQ(c.queue_capacity, 50u);
  EXPECT_EQ(c.secret_env, "HOOK_KEY");
  EXPECT_TRUE(c.Validate().ok());

  auto bad = ConfigNode::Parse("webhooks:\n  timeout_ms: soon\n");
  ASSERT_TRUE(bad.ok());
  WebhookConfig d;
  EXPECT_FALSE(d.Load(bad->Child("webhooks")).ok());
}

TEST(WebhookSenderTest, HmacMatchesRfc4231) {
  // RFC 4231 test cases 1 and 2.
  EXPECT_EQ(WebhookSender::HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(WebhookSender::HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSenderTest, DeliversTheWantedEventsInOrder) {
  TestHttpServer server;
  auto bus = std::make_shared<InProcessEventBus>();
  auto registry = std::make_shared<metrics::Registry>();
  WebhookConfig config = Config({server.Url("/hooks/voxgate?tenant=7")});
  config.event_types = {"session.ended", "session.decision"};
  auto sender = WebhookSender::Create(config, bus, registry);
  ASSERT_TRUE(sender.ok()) << sender.status().ToString();

  std::vector<Event> wanted = {Make("session.decision", 1), Make("session.ended", 4)};
  bus->Publish(wanted[0]);
  bus->Publish(Make("session.qos", 2));  // not wanted, though it shares "session."
  bus->Publish(Make("node.joined", 3));  // not even delivered to the subscription
  bus->Publish(wanted[1]);
  ASSERT_TRUE(server.WaitForRequests(2));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->delivered() == 2; }));
  (*sender)->Stop();

  std::vector<TestHttpServer::Request> got = server.requests();
  ASSERT_EQ(got.size(), 2u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].target, "/hooks/voxgate?tenant=7");
    EXPECT_EQ(nlohmann::json::parse(got[i].body), wanted[i].ToJson());
    EXPECT_EQ(got[i].headers["Content-Type"], "application/json");
    EXPECT_EQ(got[i].headers["X-Voxgate-Event"], wanted[i].type);
    EXPECT_EQ(got[i].headers.count("X-Voxgate-Signature"), 0u);  // no secret configured
    EXPECT_EQ(got[i].headers["Host"], "127.0.0.1:" + std::to_string(server.port()));
  }
  EXPECT_EQ((*sender)->failed(), 0u);
  EXPECT_EQ((*sender)->retries(), 0u);
  EXPECT_EQ(registry->CounterFamily("voxgate_webhook_deliveries_total", "", {"outcome"})
                .WithLabels({"delivered"})
                .value(),
            2.0);
}

TEST(WebhookSenderTest, SignsTheExactBodyWithTheSecretFromTheEnvironment) {
  constexpr const char* kVar = "VOXGATE_TEST_WEBHOOK_SECRET";
  const std::string secret = "whsec-0123456789";
  ASSERT_EQ(setenv(kVar, secret.c_str(), 1), 0);
  TestHttpServer server;
  auto bus = std::make_shared<InProcessEventBus>();
  WebhookConfig config = Config({server.Url()});
  config.secret_env = kVar;
  EXPECT_EQ(config.ToString().find(secret), std::string::npos);
  auto sender = WebhookSender::Create(config, bus, std::make_shared<metrics::Registry>());
  ASSERT_TRUE(sender.ok()) << sender.status().ToString();
  bus->Publish(Make("session.score", 1));
  ASSERT_TRUE(server.WaitForRequests(1));
  (*sender)->Stop();
  unsetenv(kVar);

  const TestHttpServer::Request r = server.requests().at(0);
  const std::string header = r.headers.at("X-Voxgate-Signature");
  EXPECT_EQ(header, "sha256=" + WebhookSender::HmacSha256Hex(secret, r.body));
  EXPECT_NE(header, "sha256=" + WebhookSender::HmacSha256Hex("another secret", r.body));
  EXPECT_EQ(header.size(), 7u + 64u);
}

TEST(WebhookSenderTest, MissingSecretVariableIsAnError) {
  unsetenv("VOXGATE_TEST_WEBHOOK_UNSET");
  WebhookConfig config = Config({"http://127.0.0.1:9/"});
  config.secret_env = "VOXGATE_TEST_WEBHOOK_UNSET";
  auto sender = WebhookSender::Create(config, std::make_shared<InProcessEventBus>(),
                                      std::make_shared<metrics::Registry>());
  ASSERT_FALSE(sender.ok());
  EXPECT_EQ(sender.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      WebhookSender::Create(Config({"https://x/"}), std::make_shared<InProcessEventBus>()).ok());
  EXPECT_FALSE(WebhookSender::Create(Config({"http://x/"}), nullptr).ok());
}

TEST(WebhookSenderTest, RetriesAfterA500) {
  TestHttpServer server([](int index) { return index == 0 ? 500 : 200; });
  auto bus = std::make_shared<InProcessEventBus>();
  auto registry = std::make_shared<metrics::Registry>();
  auto sender = WebhookSender::Create(Config({server.Url()}), bus, registry);
  ASSERT_TRUE(sender.ok());
  bus->Publish(Make("session.ended", 1));
  ASSERT_TRUE(server.WaitForRequests(2));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->delivered() == 1; }));
  (*sender)->Stop();
  std::vector<TestHttpServer::Request> got = server.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body);  // the same event again
  EXPECT_EQ((*sender)->retries(), 1u);
  EXPECT_EQ((*sender)->failed(), 0u);
  EXPECT_EQ(CounterValue(*registry, "voxgate_webhook_retries_total"), 1.0);
}

TEST(WebhookSenderTest, ClientErrorsAreNotRetried) {
  TestHttpServer server([](int index) { return index == 0 ? 400 : 200; });
  auto bus = std::make_shared<InProcessEventBus>();
  auto sender =
      WebhookSender::Create(Config({server.Url()}), bus, std::make_shared<metrics::Registry>());
  ASSERT_TRUE(sender.ok());
  bus->Publish(Make("session.ended", 1));
  bus->Publish(Make("session.ended", 2));
  ASSERT_TRUE(server.WaitForRequests(2));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->failed() + (*sender)->delivered() == 2; }));
  (*sender)->Stop();
  EXPECT_EQ((*sender)->failed(), 1u);  // the 400
  EXPECT_EQ((*sender)->delivered(), 1u);
  EXPECT_EQ((*sender)->retries(), 0u);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(WebhookSenderTest, UnreachableEndpointFailsAfterRetries) {
  auto bus = std::make_shared<InProcessEventBus>();
  auto registry = std::make_shared<metrics::Registry>();
  WebhookConfig config = Config({"http://127.0.0.1:" + std::to_string(ClosedPort()) + "/hook"});
  config.max_retries = 2;
  auto sender = WebhookSender::Create(config, bus, registry);
  ASSERT_TRUE(sender.ok());
  for (int i = 0; i < 3; ++i) bus->Publish(Make("session.ended", i));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->failed() == 3; }));
  (*sender)->Stop();
  EXPECT_EQ((*sender)->delivered(), 0u);
  EXPECT_EQ((*sender)->retries(), 6u);  // 2 per event
  EXPECT_EQ(registry->CounterFamily("voxgate_webhook_deliveries_total", "", {"outcome"})
                .WithLabels({"failed"})
                .value(),
            3.0);
}

TEST(WebhookSenderTest, StalledEndpointTimesOut) {
  TestHttpServer server;
  server.Hold();
  auto bus = std::make_shared<InProcessEventBus>();
  WebhookConfig config = Config({server.Url()});
  config.timeout_ms = 200;
  config.max_retries = 0;
  auto sender = WebhookSender::Create(config, bus, std::make_shared<metrics::Registry>());
  ASSERT_TRUE(sender.ok());
  bus->Publish(Make("session.ended", 1));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->failed() == 1; }));
  EXPECT_EQ((*sender)->delivered(), 0u);
  (*sender)->Stop();
  server.Release();
}

TEST(WebhookSenderTest, FullQueueDropsTheOldestAndCountsThem) {
  TestHttpServer server;
  server.Hold();
  auto bus = std::make_shared<InProcessEventBus>();
  auto registry = std::make_shared<metrics::Registry>();
  WebhookConfig config = Config({server.Url()});
  config.queue_capacity = 2;
  auto sender = WebhookSender::Create(config, bus, registry);
  ASSERT_TRUE(sender.ok());
  bus->Publish(Make("session.vad", 0));
  ASSERT_TRUE(server.WaitForRequests(1));  // the worker is now stuck on event 0
  for (int i = 1; i < 10; ++i) bus->Publish(Make("session.vad", i));
  // Nine more into a queue of two: seven dropped, the newest two (8, 9) kept.
  EXPECT_EQ((*sender)->dropped(), 7u);
  server.Release();
  ASSERT_TRUE(server.WaitForRequests(3));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->delivered() == 3; }));
  ASSERT_TRUE(WaitUntil(
      [&] { return CounterValue(*registry, "voxgate_webhook_events_dropped_total") == 7.0; }));
  (*sender)->Stop();
  std::vector<TestHttpServer::Request> got = server.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(got[1].body)["data"]["n"], 8);
  EXPECT_EQ(nlohmann::json::parse(got[2].body)["data"]["n"], 9);
}

TEST(WebhookSenderTest, EveryUrlGetsEveryEvent) {
  TestHttpServer a;
  TestHttpServer b;
  auto bus = std::make_shared<InProcessEventBus>();
  auto sender = WebhookSender::Create(Config({a.Url("/a"), b.Url("/b")}), bus,
                                      std::make_shared<metrics::Registry>());
  ASSERT_TRUE(sender.ok());
  bus->Publish(Make("session.ended", 1));
  bus->Publish(Make("session.ended", 2));
  ASSERT_TRUE(a.WaitForRequests(2));
  ASSERT_TRUE(b.WaitForRequests(2));
  ASSERT_TRUE(WaitUntil([&] { return (*sender)->delivered() == 4; }));
  EXPECT_EQ(a.requests()[1].target, "/a");
  EXPECT_EQ(b.requests()[1].target, "/b");
}

TEST(WebhookSenderTest, StopInterruptsABackoff) {
  TestHttpServer server([](int) { return 503; });
  auto bus = std::make_shared<InProcessEventBus>();
  WebhookConfig config = Config({server.Url()});
  config.retry_backoff_ms = 600000;  // ten minutes: only Stop() can end the wait
  auto sender = WebhookSender::Create(config, bus, std::make_shared<metrics::Registry>());
  ASSERT_TRUE(sender.ok());
  bus->Publish(Make("session.ended", 1));
  ASSERT_TRUE(server.WaitForRequests(1));
  (*sender)->Stop();
  EXPECT_EQ((*sender)->failed(), 1u);
  EXPECT_EQ((*sender)->retries(), 0u);
  (*sender)->Stop();  // idempotent
}

}  // namespace
}  // namespace voxgate::analytics
