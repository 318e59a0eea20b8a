// SipAgent against real SIPp (Debian sip-tester) on loopback: every scenario in
// tests/telephony/sipp/ runs as a real sipp process against a real agent, and the test checks
// sipp's exit code (its scenario checks the messages), the messages sipp traced, the handler's
// records and the agent's metrics.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "telephony/sip_agent.h"
#include "telephony/sipp_runner.h"
#include "test_util.h"

namespace voxgate::telephony {
namespace {

using namespace std::chrono_literals;
using testing::Describe;
using testing::kSipp;
using testing::ReadFile;
using testing::RunSipp;
using testing::SippResult;

std::string Scenario(const std::string& name) { return testing::SippScenario(name); }

// Stands in for the call manager another module provides: records what the agent tells it and
// hands out RTP endpoints. Request users "nobody" -> 404, "busy" -> 503, "broken" -> 500,
// "noport" -> an endpoint without a port (a handler bug the agent answers 500).
class RecordingHandler : public CallHandler {
 public:
  Result<MediaEndpoint> OnIncomingCall(const IncomingCall& call) override {
    std::lock_guard lock(mu_);
    offered_.push_back(call);
    cv_.notify_all();
    if (call.request_user == "nobody") return NotFoundError("no such scenario");
    if (call.request_user == "busy") return UnavailableError("all media ports busy");
    if (call.request_user == "broken") return InternalError("bug");
    if (call.request_user == "noport") return MediaEndpoint{"127.0.0.1", 0};
    accepted_.push_back(call);
    return MediaEndpoint{"127.0.0.1", static_cast<uint16_t>(40000 + 2 * accepted_.size())};
  }
  void OnCallEstablished(const std::string& call_id) override {
    std::lock_guard lock(mu_);
    established_.push_back(call_id);
    cv_.notify_all();
  }
  void OnCallEnded(const std::string& call_id, std::string_view reason) override {
    std::lock_guard lock(mu_);
    ended_[call_id].emplace_back(reason);
    cv_.notify_all();
  }

  // Waits up to `timeout` for `pred` over the records.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(*this); });
  }

  std::vector<IncomingCall> offered() const {
    std::lock_guard lock(mu_);
    return offered_;
  }
  std::vector<IncomingCall> accepted() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  std::vector<std::string> established() const {
    std::lock_guard lock(mu_);
    return established_;
  }
  std::map<std::string, std::vector<std::string>> ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

  // Unlocked accessors for WaitFor predicates.
  size_t accepted_count() const { return accepted_.size(); }
  size_t established_count() const { return established_.size(); }
  size_t ended_count() const { return ended_.size(); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<IncomingCall> offered_;
  std::vector<IncomingCall> accepted_;
  std::vector<std::string> established_;
  std::map<std::string, std::vector<std::string>> ended_;
};

// The value of a sample line "name{labels} value" in the registry's text, or -1.
double Metric(metrics::Registry& registry, const std::string& sample) {
  std::string text = registry.RenderText();
  size_t pos = text.find("\n" + sample + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + sample.size() + 2));
}

// A UDP socket on loopback for hand-written datagrams.
class UdpPeer {
 public:
  UdpPeer() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    socklen_t len = sizeof sin;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    port_ = ntohs(sin.sin_port);
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~UdpPeer() { close(fd_); }
  uint16_t port() const { return port_; }
  void Send(uint16_t to_port, const std::string& bytes) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(to_port);
    sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // The next datagram, or "" after 2 s.
  std::string Receive() {
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A request from the UdpPeer at `from_port` to the agent at `to_port`; `body` gets the given
// Content-Length (or its real one when content_length < 0).
std::string Request(const std::string& method, uint16_t from_port, uint16_t to_port,
                    const std::string& call_id, const std::string& body = "",
                    int content_length = -1, const std::string& extra_headers = "") {
  std::string text = method + " sip:identify@127.0.0.1:" + std::to_string(to_port) +
                     " SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:" +
                     std::to_string(from_port) + ";branch=z9hG4bK" + call_id +
                     "\r\n"
                     "From: <sip:raw@127.0.0.1:" +
                     std::to_string(from_port) +
                     ">;tag=raw1\r\n"
                     "To: <sip:identify@127.0.0.1>\r\n"
                     "Call-ID: " +
                     call_id +
                     "\r\n"
                     "CSeq: 1 " +
                     method +
                     "\r\n"
                     "Contact: <sip:raw@127.0.0.1:" +
                     std::to_string(from_port) +
                     ">\r\n"
                     "Max-Forwards: 70\r\n" +
                     extra_headers;
  if (!body.empty()) text += "Content-Type: application/sdp\r\n";
  text += "Content-Length: " +
          std::to_string(content_length >= 0 ? content_length : static_cast<int>(body.size())) +
          "\r\n\r\n" + body;
  return text;
}

// The status code of a SIP response, or 0.
int SipStatusOf(const std::string& response) {
  if (response.rfind("SIP/2.0 ", 0) != 0 || response.size() < 11) return 0;
  return std::stoi(response.substr(8, 3));
}

// Metric() once it reaches `value` (within 5 s), else its last value. The agent counts a response
// when sofia traces it, which is after the datagram left.
double WaitForMetric(metrics::Registry& registry, const std::string& sample, double value) {
  double now = Metric(registry, sample);
  for (int i = 0; i < 100 && now != value; ++i) {
    std::this_thread::sleep_for(50ms);
    now = Metric(registry, sample);
  }
  return now;
}

class SipAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VOXGATE_REQUIRE_PEER(access(kSipp, X_OK) == 0, "sipp (Debian sip-tester)");
  }
  void TearDown() override {
    if (agent_) agent_->Stop();
  }

  void StartAgent(SipConfig config = {}) {
    config.bind_address = "127.0.0.1";
    config.port = 0;
    auto agent = SipAgent::Start(config, &handler_, &registry_);
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
    ASSERT_NE(agent_->port(), 0);
  }

  std::string Target() const { return "127.0.0.1:" + std::to_string(agent_->port()); }

  // sipp as a UAC against the agent.
  SippResult Uac(const std::string& scenario, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {Target(),    "-sf", Scenario(scenario), "-i",
                                     "127.0.0.1", "-mi", "127.0.0.1"};
    bool has_m = false;
    for (const auto& a : extra) has_m = has_m || a == "-m";
    if (!has_m) args.insert(args.end(), {"-m", "1"});
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSipp(std::move(args));
  }

  // Runs a UAC scenario in the background.
  std::future<SippResult> UacAsync(const std::string& scenario,
                                   std::vector<std::string> extra = {}) {
    return std::async(std::launch::async, [this, scenario, extra] { return Uac(scenario, extra); });
  }

  // The Call-ID of the one call the handler accepted, once established.
  std::string WaitEstablished(size_t n = 1) {
    EXPECT_TRUE(handler_.WaitFor([n](auto& h) { return h.established_count() >= n; }, 15s));
    auto ids = handler_.established();
    return ids.size() >= n ? ids[n - 1] : std::string();
  }

  RecordingHandler handler_;
  metrics::Registry registry_;
  std::unique_ptr<SipAgent> agent_;
};

TEST_F(SipAgentTest, BasicCallOverUdp) {
  StartAgent();
  SippResult r = Uac("uac_basic.xml", {"-s", "identify"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  auto accepted = handler_.accepted();
  ASSERT_EQ(accepted.size(), 1u);
  const IncomingCall& call = accepted[0];
  EXPECT_EQ(call.request_user, "identify");
  EXPECT_NE(call.from_uri.find("sip:sipp@127.0.0.1"), std::string::npos) << call.from_uri;
  EXPECT_NE(call.to_uri.find("sip:identify@127.0.0.1"), std::string::npos) << call.to_uri;
  EXPECT_EQ(call.remote_signal_address.rfind("127.0.0.1:", 0), 0u) << call.remote_signal_address;
  EXPECT_EQ(call.media.audio.codec, Codec::kPcmu);
  EXPECT_EQ(call.media.telephone_event_pt, 101);
  EXPECT_EQ(call.media.remote_address, "127.0.0.1");
  EXPECT_NE(call.media.remote_rtp_port, 0);

  EXPECT_EQ(handler_.established(), std::vector<std::string>{call.call_id});
  auto ended = handler_.ended();
  ASSERT_EQ(ended.count(call.call_id), 1u);
  EXPECT_EQ(ended[call.call_id], std::vector<std::string>{"remote hangup"});
  EXPECT_EQ(agent_->active_calls(), 0u);

  // What went over the wire, as sipp saw it: 100 Trying, then our answer at the handler's port.
  EXPECT_NE(r.messages.find("SIP/2.0 100 Trying"), std::string::npos) << r.messages;
  EXPECT_NE(r.messages.find("m=audio 40002 RTP/AVP 0 101"), std::string::npos) << r.messages;
  EXPECT_NE(r.messages.find("c=IN IP4 127.0.0.1"), std::string::npos);
  EXPECT_NE(r.messages.find(std::string("User-Agent: Voxgate/") + VOXGATE_VERSION),
            std::string::npos);

  EXPECT_EQ(Metric(registry_, "voxgate_sip_calls_total{outcome=\"answered\"}"), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_active_calls"), 0);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"INVITE\"}"), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"ACK\"}"), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"BYE\"}"), 1);
  EXPECT_GE(Metric(registry_, "voxgate_sip_responses_total{code=\"100\"}"), 1);
  EXPECT_GE(Metric(registry_, "voxgate_sip_responses_total{code=\"200\"}"), 2);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_malformed_total"), 0);
}

TEST_F(SipAgentTest, ServerHangsUpWithBye) {
  StartAgent();
  auto sipp = UacAsync("uac_wait_bye.xml", {"-s", "verify-alice"});
  std::string call_id = WaitEstablished();
  ASSERT_FALSE(call_id.empty());
  EXPECT_EQ(agent_->active_calls(), 1u);
  ASSERT_TRUE(agent_->Hangup(call_id).ok());
  SippResult r = sipp.get();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  EXPECT_EQ(handler_.ended()[call_id], std::vector<std::string>{"local hangup"});
  EXPECT_EQ(handler_.accepted()[0].request_user, "verify-alice");
  EXPECT_EQ(agent_->active_calls(), 0u);
  // The call is gone: a second hangup has nothing to end.
  EXPECT_EQ(agent_->Hangup(call_id).code(), StatusCode::kNotFound);
  EXPECT_EQ(agent_->Hangup("no-such-call").code(), StatusCode::kNotFound);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_calls_total{outcome=\"answered\"}"), 1);
}

TEST_F(SipAgentTest, CancelBeforeAnswer) {
  // The agent rings for 3 s before answering, so the caller can cancel.
  SipConfig config;
  config.answer_delay_ms = 3000;
  StartAgent(config);
  SippResult r = Uac("uac_cancel.xml", {"-s", "record"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  auto accepted = handler_.accepted();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_TRUE(handler_.established().empty());
  EXPECT_EQ(handler_.ended()[accepted[0].call_id], std::vector<std::string>{"cancelled"});
  EXPECT_EQ(agent_->active_calls(), 0u);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_calls_total{outcome=\"cancelled\"}"), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_responses_total{code=\"487\"}"), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"CANCEL\"}"), 1);
  // Never answered.
  EXPECT_EQ(r.messages.find("m=audio 4"), std::string::npos) << r.messages;
}

TEST_F(SipAgentTest, NoCommonCodecIs488WithWarning) {
  StartAgent();
  SippResult r = Uac("uac_no_common_codec.xml");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(handler_.offered().empty());  // the handler is not asked
  EXPECT_EQ(WaitForMetric(registry_, "voxgate_sip_responses_total{code=\"488\"}", 1), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_calls_total{outcome=\"rejected\"}"), 1);
  EXPECT_EQ(agent_->active_calls(), 0u);
}

TEST_F(SipAgentTest, HandlerErrorsPickTheAnswer) {
  StartAgent();
  for (auto [user, code, count] :
       {std::tuple{"nobody", "404", 1}, std::tuple{"busy", "503", 1},
        std::tuple{"broken", "500", 1}, std::tuple{"noport", "500", 2}}) {
    SippResult r = Uac("uac_rejected.xml", {"-s", user});
    ASSERT_EQ(r.exit_code, 0) << user << "\n" << Describe(r);
    EXPECT_EQ(
        WaitForMetric(registry_, std::string("voxgate_sip_responses_total{code=\"") + code + "\"}",
                      count),
        count)
        << user;
  }
  EXPECT_EQ(handler_.offered().size(), 4u);
  EXPECT_TRUE(handler_.accepted().empty());
  EXPECT_TRUE(handler_.ended().empty());  // OnCallEnded only for accepted calls
  EXPECT_EQ(Metric(registry_, "voxgate_sip_calls_total{outcome=\"rejected\"}"), 4);
  EXPECT_EQ(agent_->active_calls(), 0u);
}

TEST_F(SipAgentTest, OpusOfferIsNegotiated) {
  StartAgent();
  SippResult r = Uac("uac_opus.xml");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  auto accepted = handler_.accepted();
  ASSERT_EQ(accepted.size(), 1u);
  const NegotiatedMedia& media = accepted[0].media;
  EXPECT_EQ(media.audio.codec, Codec::kOpus);
  EXPECT_EQ(media.audio.payload_type, 111);
  EXPECT_EQ(media.audio.clock_rate_hz, 48000);
  EXPECT_EQ(media.telephone_event_pt, 101);
  EXPECT_EQ(media.ptime_ms, 20);
}

TEST_F(SipAgentTest, BasicCallOverTcp) {
  StartAgent();
  SippResult r = Uac("uac_basic.xml", {"-t", "t1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.messages.find("Via: SIP/2.0/TCP"), std::string::npos);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  auto ended = handler_.ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended.begin()->second, std::vector<std::string>{"remote hangup"});
  EXPECT_EQ(handler_.established().size(), 1u);
  EXPECT_EQ(agent_->active_calls(), 0u);
}

TEST_F(SipAgentTest, BasicCallOverIpv6) {
  SipConfig config;
  config.bind_address = "::1";
  config.port = 0;
  auto agent = SipAgent::Start(config, &handler_, &registry_);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  agent_ = std::move(agent).value();
  SippResult r = RunSipp({"[::1]:" + std::to_string(agent_->port()), "-sf",
                          Scenario("uac_basic.xml"), "-i", "::1", "-mi", "::1", "-m", "1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  auto accepted = handler_.accepted();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].media.remote_address, "::1");
  EXPECT_EQ(accepted[0].remote_signal_address.rfind("[::1]:", 0), 0u)
      << accepted[0].remote_signal_address;
}

TEST_F(SipAgentTest, OptionsPing) {
  StartAgent();
  SippResult r = Uac("uac_options.xml");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"OPTIONS\"}"), 1);
  EXPECT_TRUE(handler_.offered().empty());
}

TEST_F(SipAgentTest, TwentySequentialCallsEndExactlyOnce) {
  StartAgent();
  SippResult r = Uac("uac_basic.xml", {"-m", "20", "-l", "1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 20; }));
  EXPECT_EQ(handler_.accepted().size(), 20u);
  EXPECT_EQ(handler_.established().size(), 20u);
  auto ended = handler_.ended();
  ASSERT_EQ(ended.size(), 20u);
  for (const auto& [id, reasons] : ended) {
    EXPECT_EQ(reasons, std::vector<std::string>{"remote hangup"}) << id;
  }
  EXPECT_EQ(agent_->active_calls(), 0u);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_calls_total{outcome=\"answered\"}"), 20);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_active_calls"), 0);
}

TEST_F(SipAgentTest, CallsBeyondMaxCallsGet503) {
  SipConfig config;
  config.max_calls = 1;
  StartAgent(config);
  auto first = UacAsync("uac_wait_bye.xml");
  std::string call_id = WaitEstablished();
  ASSERT_FALSE(call_id.empty());
  SippResult second = Uac("uac_rejected.xml");
  EXPECT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_EQ(WaitForMetric(registry_, "voxgate_sip_responses_total{code=\"503\"}", 1), 1);
  EXPECT_NE(second.messages.find("Retry-After:"), std::string::npos) << second.messages;
  ASSERT_TRUE(agent_->Hangup(call_id).ok());
  SippResult r = first.get();
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(handler_.offered().size(), 1u);  // the second never reached the handler
}

TEST_F(SipAgentTest, SessionRefreshReInviteGetsTheSameAnswer) {
  StartAgent();
  SippResult r = Uac("uac_session_refresh.xml");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.messages.find("Session-Expires: 1800;refresher=uac"), std::string::npos)
      << r.messages;
  // Both 200s carry the same SDP: same o= line (session id and version).
  std::vector<std::string> origins;
  std::istringstream lines(r.messages);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("o=voxgate ", 0) == 0) origins.push_back(line);
  }
  ASSERT_EQ(origins.size(), 2u) << r.messages;
  EXPECT_EQ(origins[0], origins[1]);
  ASSERT_TRUE(handler_.WaitFor([](auto& h) { return h.ended_count() == 1; }));
  EXPECT_EQ(handler_.accepted().size(), 1u);  // the refresh is not a new call
  EXPECT_EQ(handler_.established().size(), 1u);
  EXPECT_EQ(handler_.ended().begin()->second, std::vector<std::string>{"remote hangup"});
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"INVITE\"}"), 2);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"UPDATE\"}"), 1);
}

TEST_F(SipAgentTest, StopHangsUpActiveCalls) {
  StartAgent();
  auto sipp = UacAsync("uac_wait_bye.xml");
  std::string call_id = WaitEstablished();
  ASSERT_FALSE(call_id.empty());
  agent_->Stop();
  EXPECT_EQ(agent_->active_calls(), 0u);
  SippResult r = sipp.get();
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(handler_.ended()[call_id], std::vector<std::string>{"shutdown"});
  EXPECT_NE(r.messages.find("Reason: SIP;cause=503"), std::string::npos);
  agent_->Stop();  // idempotent
  EXPECT_EQ(agent_->Hangup(call_id).code(), StatusCode::kUnavailable);
}

TEST_F(SipAgentTest, MalformedInputIsCountedAndDoesNotHurt) {
  StartAgent();
  const uint16_t port = agent_->port();
  UdpPeer peer;
  // Binary noise, and noise that starts like a STUN packet.
  peer.Send(port, std::string("\xff\xfe\x00garbage\x01\x02\x03", 13) + std::string(200, '\x9c'));
  peer.Send(port, std::string("\x00\x01\x00\x50", 4) + std::string(60, 'x'));
  // tport answers STUN-looking datagrams with a STUN error even with its STUN server off.
  (void)peer.Receive();
  // A truncated INVITE: headers cut off after From.
  std::string truncated = Request("INVITE", peer.port(), port, "trunc1");
  truncated = truncated.substr(0, truncated.find("To:"));
  peer.Send(port, truncated);
  std::string bad_request = peer.Receive();
  // An INVITE whose Content-Length promises more body than the datagram has.
  peer.Send(port, Request("INVITE", peer.port(), port, "badlen1",
                          "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", 500));
  std::string bad_length = peer.Receive();
  // Binary noise over TCP.
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    std::string noise;
    for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) & 0xff);
    noise += "\r\n\r\n";
    ASSERT_EQ(send(fd, noise.data(), noise.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(noise.size()));
    // Noise without a line break that ends a request line is only known to be garbage when
    // the stream ends: hang up, then wait for nta's report.
    close(fd);
    for (int i = 0; i < 50 && Metric(registry_, "voxgate_sip_malformed_total") < 5; ++i) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_EQ(SipStatusOf(bad_request), 400) << bad_request;
  EXPECT_EQ(SipStatusOf(bad_length), 400) << bad_length;

  // Still answering calls.
  SippResult r = Uac("uac_basic.xml");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(handler_.accepted().size(), 1u);
  // Two datagrams, two bad INVITEs, one TCP stream.
  EXPECT_EQ(Metric(registry_, "voxgate_sip_malformed_total"), 5) << registry_.RenderText();
  EXPECT_EQ(Metric(registry_, "voxgate_sip_responses_total{code=\"400\"}"), 2);
  // A request that parses far enough to show its request line counts as received.
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"INVITE\"}"), 3);
}

TEST_F(SipAgentTest, SdpThatWouldHangSofiasParserIsRefused) {
  // An m= line on which sofia-sip 1.12.11's SDP parser allocates without end: the agent must
  // answer 488 (and stay up), not run out of memory.
  StartAgent();
  UdpPeer peer;
  const std::string sdp =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\nm=video 9 X ,\r\n";
  peer.Send(agent_->port(), Request("INVITE", peer.port(), agent_->port(), "hostile1", sdp));
  int final_status = 0;
  for (int i = 0; i < 5 && final_status < 200; ++i) {
    std::string response = peer.Receive();
    if (response.empty()) break;
    final_status = SipStatusOf(response);
  }
  EXPECT_EQ(final_status, 488);
  EXPECT_TRUE(handler_.offered().empty());
  SippResult r = Uac("uac_basic.xml");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

TEST_F(SipAgentTest, SessionIntervalBelowMinSeIs422) {
  StartAgent();
  UdpPeer peer;
  const std::string sdp =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\n";
  peer.Send(agent_->port(), Request("INVITE", peer.port(), agent_->port(), "short1", sdp, -1,
                                    "Supported: timer\r\nSession-Expires: 30\r\n"));
  std::string response;
  for (int i = 0; i < 5 && SipStatusOf(response) < 200; ++i) {
    response = peer.Receive();
    if (response.empty()) break;
  }
  EXPECT_EQ(SipStatusOf(response), 422) << response;
  EXPECT_NE(response.find("Min-SE: 90"), std::string::npos) << response;
  EXPECT_TRUE(handler_.offered().empty());
  // sofia answers this one without telling the agent: only the wire counter sees it.
  EXPECT_EQ(WaitForMetric(registry_, "voxgate_sip_responses_total{code=\"422\"}", 1), 1);
}

TEST_F(SipAgentTest, OtherMethodsAreRefusedAsSofiaDoes) {
  StartAgent();
  UdpPeer peer;
  peer.Send(agent_->port(), Request("MESSAGE", peer.port(), agent_->port(), "msg1", "hello"));
  std::string message = peer.Receive();
  EXPECT_EQ(SipStatusOf(message), 405) << message;
  EXPECT_NE(message.find("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"), std::string::npos)
      << message;
  peer.Send(agent_->port(), Request("FROB", peer.port(), agent_->port(), "frob1"));
  std::string frob = peer.Receive();
  EXPECT_EQ(SipStatusOf(frob), 501) << frob;
  // A BYE for a call that does not exist.
  peer.Send(agent_->port(), Request("BYE", peer.port(), agent_->port(), "nocall1"));
  std::string bye = peer.Receive();
  EXPECT_EQ(SipStatusOf(bye), 481) << bye;
  EXPECT_EQ(Metric(registry_, "voxgate_sip_requests_total{method=\"other\"}"), 1);
  EXPECT_EQ(Metric(registry_, "voxgate_sip_malformed_total"), 0);
  EXPECT_TRUE(handler_.offered().empty());
}

TEST_F(SipAgentTest, RegistersWithDigestAuthAndUnregistersOnStop) {
  // sipp plays the trunk's registrar on a port of its own.
  uint16_t registrar_port = 0;
  {
    UdpPeer probe;  // a free UDP port
    registrar_port = probe.port();
  }
  auto trunk = std::async(std::launch::async, [registrar_port] {
    return RunSipp({"-sf", Scenario("uas_registrar.xml"), "-i", "127.0.0.1", "-p",
                    std::to_string(registrar_port), "-m", "1"});
  });
  std::this_thread::sleep_for(500ms);  // let sipp bind
  ASSERT_EQ(setenv("VOXGATE_TEST_SIP_TRUNK_PASSWORD", "s3cret-trunk", 1), 0);
  auto yaml = ConfigNode::Parse(
      "registration:\n  registrar: sip:127.0.0.1:" + std::to_string(registrar_port) +
      "\n  username: gateway\n  password_env: VOXGATE_TEST_SIP_TRUNK_PASSWORD\n"
      "  expires_s: 600\n");
  ASSERT_TRUE(yaml.ok());
  SipConfig config;
  ASSERT_TRUE(config.Load(*yaml).ok());
  StartAgent(config);
  bool registered = false;
  for (int i = 0; i < 100 && !registered; ++i) {
    registered = Metric(registry_, "voxgate_sip_registered") == 1;
    if (!registered) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(registered) << registry_.RenderText();
  agent_->Stop();
  EXPECT_EQ(Metric(registry_, "voxgate_sip_registered"), 0);
  SippResult r = trunk.get();
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.messages.find("Expires: 0"), std::string::npos) << r.messages;
}

TEST(SipAgentStartTest, PortInUseIsUnavailableNamingHostAndPort) {
  UdpPeer taken;
  RecordingHandler handler;
  metrics::Registry registry;
  SipConfig config;
  config.port = taken.port();
  auto agent = SipAgent::Start(config, &handler, &registry);
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(agent.status().message().find("127.0.0.1:" + std::to_string(taken.port())),
            std::string::npos)
      << agent.status().message();
}

TEST(SipAgentStartTest, InvalidConfigIsRefused) {
  RecordingHandler handler;
  SipConfig config;
  config.codecs.clear();
  EXPECT_EQ(SipAgent::Start(config, &handler, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SipAgent::Start(SipConfig{}, nullptr, nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace voxgate::telephony
