#include "telephony/sip_log_sink.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace voxgate::telephony {
namespace {

constexpr char kSeparator[] =
    "   ------------------------------------------------------------------------\n";

// A message trace the way sofia-sip 1.12.11's tport_log_msg() writes it: the stamp, a
// separator, then every line in two su_log() calls ("   <line>" and "\n"), then a separator.
std::vector<std::string> Trace(const std::string& stamp, const std::vector<std::string>& lines) {
  std::vector<std::string> pieces = {stamp + "\n", kSeparator};
  for (const auto& line : lines) {
    pieces.push_back("   " + line);
    pieces.push_back("\n");
  }
  pieces.push_back(kSeparator);
  return pieces;
}

double Value(metrics::Registry& registry, const std::string& sample) {
  std::string text = registry.RenderText();
  size_t pos = text.find("\n" + sample + " ");
  if (pos == std::string::npos) return 0;
  return std::stod(text.substr(pos + sample.size() + 2));
}

class SipLogSinkTest : public ::testing::Test {
 protected:
  void Feed(const std::vector<std::string>& pieces) {
    for (const auto& p : pieces) sink_.Feed(p);
  }
  metrics::Registry registry_;
  SipLogSink sink_{registry_};
};

TEST_F(SipLogSinkTest, CountsReceivedRequestsAndSentResponses) {
  Feed(Trace(
      "recv 514 bytes from udp/[127.0.0.1]:15061 at 11:36:20.682011:",
      {"INVITE sip:service@127.0.0.1:15060 SIP/2.0",
       "Via: SIP/2.0/UDP 127.0.0.1:15061;branch=z9hG4bK-32599-1-0", "Content-Length: 0", ""}));
  Feed(Trace("send 288 bytes to udp/[127.0.0.1]:15061 at 11:36:20.682404:",
             {"SIP/2.0 100 Trying", "Content-Length: 0", ""}));
  Feed(Trace("send 643 bytes to udp/[127.0.0.1]:15061 at 11:36:20.682753:",
             {"SIP/2.0 200 OK", "Content-Type: application/sdp", "", "v=0"}));
  Feed(Trace("recv 362 bytes from udp/[127.0.0.1]:15061 at 11:36:20.682866:",
             {"ACK sip:service@127.0.0.1:15060 SIP/2.0", ""}));
  // Our own BYE and its answer are not what the counters count.
  Feed(Trace("send 400 bytes to tcp/[127.0.0.1]:15061 at 11:36:21.000000:",
             {"BYE sip:sipp@127.0.0.1:15061 SIP/2.0", ""}));
  Feed(Trace("recv 300 bytes from tcp/[127.0.0.1]:15061 at 11:36:21.100000:",
             {"SIP/2.0 200 OK", ""}));
  Feed(Trace("recv 100 bytes from udp/[127.0.0.1]:15061 at 11:36:22.000000:",
             {"FROB sip:service@127.0.0.1:15060 SIP/2.0", ""}));

  EXPECT_EQ(Value(registry_, "voxgate_sip_requests_total{method=\"INVITE\"}"), 1);
  EXPECT_EQ(Value(registry_, "voxgate_sip_requests_total{method=\"ACK\"}"), 1);
  EXPECT_EQ(Value(registry_, "voxgate_sip_requests_total{method=\"BYE\"}"), 0);
  EXPECT_EQ(Value(registry_, "voxgate_sip_requests_total{method=\"other\"}"), 1);
  EXPECT_EQ(Value(registry_, "voxgate_sip_responses_total{code=\"100\"}"), 1);
  EXPECT_EQ(Value(registry_, "voxgate_sip_responses_total{code=\"200\"}"), 1);
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 0);
}

TEST_F(SipLogSinkTest, AcceptsTheOneCallTraceOfNewerSofia) {
  // Newer sofia-sip writes the whole trace in one su_log() call.
  sink_.Feed(std::string("recv 98 bytes from tcp/[::1]:5062 at 10:00:00.000001:\n") + kSeparator +
             "   OPTIONS sip:a@b SIP/2.0\n   Content-Length: 0\n   \n" + kSeparator);
  EXPECT_EQ(Value(registry_, "voxgate_sip_requests_total{method=\"OPTIONS\"}"), 1);
}

TEST_F(SipLogSinkTest, CountsEachMalformedMessageOnce) {
  Feed({"nta: received INVITE sip:x@127.0.0.1 SIP/2.0 (CSeq 0)\n",
        "nta: INVITE (0) failed sanity check\n", "nta: INVITE (0) is Bad Request\n"});
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 1);
  Feed({"nta: received INVITE sip:x@127.0.0.1 SIP/2.0 (CSeq 1)\n",
        "nta: INVITE has bad Content-Length header\n",
        "nta: INVITE (1) is Bad Content-Length Header\n"});
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 2);
  Feed({"nta: received 200 OK for <UNKNOWN> (0)\n", "nta: 200 OK has fatal syntax errors\n"});
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 3);
  Feed({"nta_agent: received garbage from tcp/127.0.0.1:59276/sip\n"});
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 4);
  // A datagram tport could not parse; a send error (with the peer named) is not malformed input.
  Feed({"nta_agent: tport: Bad message\n", "nta_agent: tport: 127.0.0.1:9: Connection refused\n"});
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 5);
  // Well-formed traffic.
  Feed({"nta: received OPTIONS sip:a@b SIP/2.0 (CSeq 1)\n",
        "nta: OPTIONS (1) going to a default leg\n"});
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 5);
}

TEST_F(SipLogSinkTest, SurvivesArbitraryText) {
  std::string noise;
  for (int i = 0; i < 70000; ++i) noise += static_cast<char>((i * 131) & 0xff);
  sink_.Feed(noise);
  sink_.Feed("recv 5 bytes from udp/[x]:1 at 0:\n");  // a header with no trace after it
  sink_.Feed("not a separator\n");
  sink_.Feed(std::string("send 1 bytes to udp/[x]:1 at 0:\n") + kSeparator + kSeparator);
  EXPECT_EQ(Value(registry_, "voxgate_sip_malformed_total"), 0);
  EXPECT_EQ(registry_.RenderText().find("voxgate_sip_responses_total{"), std::string::npos);
}

TEST(SipMethodLabelTest, KnownMethodsAndOther) {
  EXPECT_EQ(SipMethodLabel("INVITE"), "INVITE");
  EXPECT_EQ(SipMethodLabel("PUBLISH"), "PUBLISH");
  EXPECT_EQ(SipMethodLabel("invite"), "other");
  EXPECT_EQ(SipMethodLabel("X-EVIL\"}"), "other");
}

}  // namespace
}  // namespace voxgate::telephony
