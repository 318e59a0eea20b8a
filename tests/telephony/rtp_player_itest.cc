// voxgate_rtp_player against a receiver built from the telephony media classes, over loopback UDP
// in real time (about 4 s): the player's impairments reach the receiver, the jitter buffer puts
// the packets back in order, every played payload is the source audio at the offset its RTP
// timestamp says, the key presses come out once each, and the RTCP reports parse.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "telephony/dtmf_detector.h"
#include "telephony/jitter_buffer.h"
#include "telephony/rtcp_packet.h"
#include "telephony/rtp_packet.h"
#include "test_util.h"

namespace voxgate::telephony {
namespace {

int BindUdp(int port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// An RTP port and the RTCP port above it.
bool BindPair(int* rtp_fd, int* rtcp_fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int a = BindUdp(0);
    const int port = PortOf(a);
    if (port < 65535) {
      const int b = BindUdp(port + 1);
      if (b >= 0) {
        *rtp_fd = a;
        *rtcp_fd = b;
        return true;
      }
    }
    close(a);
  }
  return false;
}

std::string RunAndCapture(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  pclose(p);
  return out;
}

TEST(RtpPlayerTest, ImpairedStreamIsReorderedDecodedAndItsKeysDetected) {
  const std::string file = voxgate::testing::DevSetUtterance("1688-142285", 0);
  int rtp_fd = -1, rtcp_fd = -1;
  ASSERT_TRUE(BindPair(&rtp_fd, &rtcp_fd));
  const int port = PortOf(rtp_fd);
  const std::string player = std::string(VOXGATE_BINARY_DIR) + "/tests/voxgate_rtp_player";
  const std::string command = player + " --dest 127.0.0.1:" + std::to_string(port) +
                              " --codec pcmu --file " + file +
                              " --duration-s 3 --loss 0.1 --reorder 0.05 --jitter-ms 60"
                              " --seed 11 --ssrc 305419896 --dtmf 1#@1.0 --rtcp";
  auto player_output = std::async(std::launch::async, RunAndCapture, command);

  // 100 ms of margin: the player's jitter is up to 60 ms, and this process shares the machine.
  auto jb = JitterBuffer::Create({.min_delay_ms = 100, .max_delay_ms = 300});
  ASSERT_TRUE(jb.ok());
  DtmfDetector detector(8000);
  std::string keys;
  int64_t audio_packets = 0, event_packets = 0, srs = 0, byes = 0;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> played;  // RTP timestamp, payload
  std::vector<uint8_t> datagram(2048), out(1500);
  auto next_tick = std::chrono::steady_clock::now();
  auto quiet_since = std::chrono::steady_clock::now();
  for (;;) {
    next_tick += std::chrono::milliseconds(20);
    for (;;) {  // receive until the tick
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_tick) break;
      pollfd fds[2] = {{rtp_fd, POLLIN, 0}, {rtcp_fd, POLLIN, 0}};
      const int wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count());
      if (poll(fds, 2, std::max(wait_ms, 1)) <= 0) continue;
      for (const pollfd& f : fds) {
        if (!(f.revents & POLLIN)) continue;
        const ssize_t n = recv(f.fd, datagram.data(), datagram.size(), 0);
        if (n <= 0) continue;
        quiet_since = std::chrono::steady_clock::now();
        const std::span<const uint8_t> bytes(datagram.data(), static_cast<size_t>(n));
        if (f.fd == rtcp_fd) {
          auto rtcp = ParseRtcp(bytes);
          ASSERT_TRUE(rtcp.ok()) << rtcp.status().ToString();
          for (const auto& sr : rtcp->sender_reports) srs += sr.ssrc == 305419896u;
          byes += static_cast<int64_t>(rtcp->byes.size());
          continue;
        }
        auto view = ParseRtp(bytes);
        ASSERT_TRUE(view.ok()) << view.status().ToString();
        EXPECT_EQ(view->header.ssrc, 305419896u);
        if (view->header.payload_type == 101) {
          ++event_packets;
          for (const DtmfDigit& d : detector.OnPacket(view->header.timestamp, view->payload)) {
            keys += d.digit;
          }
        } else {
          ASSERT_EQ(view->header.payload_type, 0);
          ++audio_packets;
          (*jb)->Put(view->payload, view->header.timestamp, 8000, view->header.sequence);
        }
      }
    }
    const auto r = (*jb)->Get(out);
    if (r.status == JitterBuffer::GetStatus::kPacket) {
      played.emplace_back(r.timestamp, std::vector<uint8_t>(out.begin(), out.begin() + r.length));
    }
    if (player_output.wait_for(std::chrono::seconds(0)) == std::future_status::ready &&
        std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(400)) {
      break;
    }
  }
  close(rtp_fd);
  close(rtcp_fd);

  const std::string output = player_output.get();
  const auto summary = nlohmann::json::parse(output, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << output;
  EXPECT_EQ(summary["generated"], 150);
  EXPECT_EQ(summary["sent"].get<int64_t>() + summary["dropped"].get<int64_t>(), 150);
  EXPECT_GT(summary["dropped"].get<int64_t>(), 0);
  EXPECT_GT(summary["reordered"].get<int64_t>(), 0);
  EXPECT_EQ(summary["send_errors"], 0);
  EXPECT_EQ(summary["ssrc"], 305419896u);
  // Loopback loses nothing: what was sent arrived.
  EXPECT_EQ(audio_packets + event_packets, summary["sent"].get<int64_t>());

  EXPECT_EQ(keys, "1#");
  EXPECT_GE(srs, 1);
  EXPECT_EQ(byes, 1);

  // Played in timestamp order, each the source frame its timestamp points at (G.711 is exact:
  // the payload is the encoding of the same samples the player decoded from the file).
  audio::DecodeConfig decode;
  decode.target_sample_rate_hz = 8000;
  auto clip = audio::DecodeFile(file, decode);
  ASSERT_TRUE(clip.ok());
  ASSERT_GT(played.size(), 80u);
  const auto stats = (*jb)->stats();
  EXPECT_EQ(stats.played, static_cast<int64_t>(played.size()));
  EXPECT_EQ(stats.received, audio_packets);
  int64_t anchor = -1;  // frame index of the first played packet
  const auto& first = played.front().second;
  for (size_t f = 0; (f + 1) * 160 <= clip->samples.size() && anchor < 0; ++f) {
    if (audio::G711Encode(std::span<const float>(clip->samples).subspan(f * 160, 160),
                          audio::G711Law::kUlaw) == first) {
      anchor = static_cast<int64_t>(f);
    }
  }
  ASSERT_GE(anchor, 0) << "the first played payload is not a frame of the file";
  for (size_t i = 0; i < played.size(); ++i) {
    const int64_t frame = anchor + static_cast<int32_t>(played[i].first - played[0].first) / 160;
    if (i > 0) {
      EXPECT_GT(static_cast<int32_t>(played[i].first - played[i - 1].first), 0);
    }
    ASSERT_LE((frame + 1) * 160, static_cast<int64_t>(clip->samples.size()));
    EXPECT_EQ(played[i].second,
              audio::G711Encode(std::span<const float>(clip->samples).subspan(frame * 160, 160),
                                audio::G711Law::kUlaw))
        << "packet " << i;
  }
  // Every audio packet received is accounted for, and (with that margin) almost all played; a
  // packet only comes late if this process was descheduled for longer than the margin.
  EXPECT_EQ(stats.played + stats.late + stats.overflow_drops + stats.shrink_drops, audio_packets);
  EXPECT_GE(stats.played, audio_packets * 9 / 10);
}

}  // namespace
}  // namespace voxgate::telephony
