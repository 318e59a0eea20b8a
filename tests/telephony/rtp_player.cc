// voxgate_rtp_player: sends a speech file as one RTP stream over UDP in real time, with network
// impairments (loss, reordering, jitter), optional RFC 4733 key presses and RTCP sender reports.
// A test peer for the end-to-end tests and the N-call benchmark: one stream per process.
//
//   voxgate_rtp_player --dest 127.0.0.1:40000 --codec pcmu --file speech.flac
//       [--pt N] [--loop N] [--loss 0.10] [--reorder 0.05] [--jitter-ms 60] [--seed S]
//       [--ssrc X] [--dtmf 1234@2.0] [--bind-port P] [--duration-s D] [--rtcp]
//
// Packets are generated every 20 ms on the monotonic clock; each is dropped with probability
// --loss, else held back behind the next packet with probability --reorder, and delayed by a
// uniform 0..--jitter-ms; a priority queue of send times sends them. With --rtcp an SR (with
// SDES CNAME) goes to the destination port + 1 every 5 s, and SR + BYE at the end. On exit one
// line of JSON: {"sent":..,"dropped":..,"reordered":..,...}. Exit status 2 on bad arguments, 1
// when the file or the socket fails, 0 otherwise (also when stopped by SIGINT/SIGTERM).
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audio/audio_decoder.h"
#include "telephony/dtmf_event.h"
#include "telephony/rtcp_packet.h"
#include "telephony/rtp_packetizer.h"

namespace {

using Clock = std::chrono::steady_clock;
using voxgate::telephony::Codec;
using voxgate::telephony::RtpPacketizer;

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

constexpr auto kFrame = std::chrono::milliseconds(20);
constexpr auto kRtcpInterval = std::chrono::seconds(5);
constexpr int kDtmfToneMs = 160;
constexpr double kDtmfSpacingS = 0.3;  // tone + three end packets + a pause

struct Scheduled {
  Clock::time_point when;
  uint64_t order;  // FIFO among equal times
  std::vector<uint8_t> bytes;
  bool operator>(const Scheduled& o) const {
    return when != o.when ? when > o.when : order > o.order;
  }
};

struct DtmfPress {
  double at_s;
  char key;
};

bool ParseHostPort(const std::string& s, std::string* host, int* port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = s.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    size_t used = 0;
    *port = std::stoi(s.substr(colon + 1), &used);
    return used == s.size() - colon - 1 && *port > 0 && *port < 65535;
  } catch (...) {
    return false;
  }
}

// "1234@2.0,#@5" -> presses at 2.0, 2.3, 2.6, 2.9 and 5.0 s.
bool ParseDtmf(const std::string& spec, std::vector<DtmfPress>* out) {
  size_t start = 0;
  while (start < spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    const std::string group = spec.substr(start, end - start);
    const auto at = group.find('@');
    if (at == std::string::npos || at == 0) return false;
    double t = 0;
    try {
      size_t used = 0;
      t = std::stod(group.substr(at + 1), &used);
      if (used != group.size() - at - 1 || t < 0) return false;
    } catch (...) {
      return false;
    }
    for (size_t i = 0; i < at; ++i) {
      if (voxgate::telephony::DtmfCharToEvent(group[i]) < 0) return false;
      out->push_back({t + kDtmfSpacingS * static_cast<double>(i), group[i]});
    }
    start = end + 1;
  }
  std::sort(out->begin(), out->end(),
            [](const DtmfPress& a, const DtmfPress& b) { return a.at_s < b.at_s; });
  return true;
}

struct Socket {
  int fd = -1;
  sockaddr_storage dest{};
  socklen_t dest_len = 0;
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

// Opens a UDP socket towards host:port, bound to bind_port when > 0.
bool OpenSocket(const std::string& host, int port, int bind_port, Socket* s, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    *error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&s->dest, res->ai_addr, res->ai_addrlen);
  s->dest_len = res->ai_addrlen;
  const int family = res->ai_family;
  freeaddrinfo(res);
  s->fd = socket(family, SOCK_DGRAM, 0);
  if (s->fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (bind_port > 0) {
    sockaddr_storage local{};
    socklen_t len = 0;
    if (family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&local);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_any;
      a->sin6_port = htons(static_cast<uint16_t>(bind_port));
      len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&local);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_ANY);
      a->sin_port = htons(static_cast<uint16_t>(bind_port));
      len = sizeof(sockaddr_in);
    }
    if (bind(s->fd, reinterpret_cast<sockaddr*>(&local), len) != 0) {
      *error = "bind to port " + std::to_string(bind_port) + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sends a speech file as RTP over UDP in real time, with network impairments."};
  std::string dest, codec_name = "pcmu", file, dtmf_spec;
  int pt = -1, loops = 1, jitter_ms = 0, bind_port = 0, dtmf_pt = 101, opus_bitrate = 24000;
  double loss = 0, reorder = 0, duration_s = 0;
  uint64_t seed = 0;
  int64_t ssrc = -1;
  bool rtcp = false;
  app.add_option("--dest", dest, "destination host:port of the RTP stream")->required();
  app.add_option("--codec", codec_name, "pcmu, pcma or opus")
      ->check(CLI::IsMember({"pcmu", "pcma", "opus"}));
  app.add_option("--pt", pt, "RTP payload type (default 0 pcmu, 8 pcma, 111 opus)")
      ->check(CLI::Range(0, 127));
  app.add_option("--file", file,
                 "speech file (WAV, FLAC, ...); several separated by commas: one picked at random "
                 "(--seed, else the process id, seeds the pick), e.g. one speaker per call in a "
                 "load test")
      ->required();
  app.add_option("--loop", loops, "play the file N times (0: until --duration-s or a signal)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--loss", loss, "packet loss probability")->check(CLI::Range(0.0, 1.0));
  app.add_option("--reorder", reorder, "probability a packet is sent after the next one")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--jitter-ms", jitter_ms, "uniform extra delay per packet, 0..N ms")
      ->check(CLI::Range(0, 10000));
  app.add_option("--seed", seed, "random seed for impairments and SSRC/sequence/timestamp");
  app.add_option("--ssrc", ssrc, "fixed SSRC")->check(CLI::Range(int64_t{0}, int64_t{0xFFFFFFFF}));
  app.add_option("--dtmf", dtmf_spec, "key presses KEYS@SECONDS[,KEYS@SECONDS...], e.g. 1234@2.0");
  app.add_option("--dtmf-pt", dtmf_pt, "telephone-event payload type")->check(CLI::Range(96, 127));
  app.add_option("--bind-port", bind_port, "local UDP source port (RTCP from port + 1)")
      ->check(CLI::Range(0, 65534));
  app.add_option("--duration-s", duration_s, "stop after this much media, seconds (0: no limit)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--opus-bitrate", opus_bitrate, "Opus bitrate, bps")
      ->check(CLI::Range(6000, 510000));
  app.add_flag("--rtcp", rtcp, "send RTCP SR every 5 s to the destination port + 1");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::string host;
  int port = 0;
  std::vector<DtmfPress> presses;
  if (!ParseHostPort(dest, &host, &port)) {
    std::cerr << "--dest must be host:port, got " << dest << "\n";
    return 2;
  }
  if (!dtmf_spec.empty() && !ParseDtmf(dtmf_spec, &presses)) {
    std::cerr << "--dtmf must be KEYS@SECONDS[,...], got " << dtmf_spec << "\n";
    return 2;
  }
  if (loops == 0 && duration_s <= 0) {
    std::cerr << "--loop 0 needs --duration-s (or is stopped by a signal)\n";
  }

  voxgate::telephony::RtpPacketizerConfig config;
  if (codec_name == "pcmu") {
    config.codec = {Codec::kPcmu, pt >= 0 ? pt : 0, 8000, 1};
    config.input_rate_hz = 8000;
  } else if (codec_name == "pcma") {
    config.codec = {Codec::kPcma, pt >= 0 ? pt : 8, 8000, 1};
    config.input_rate_hz = 8000;
  } else {
    config.codec = {Codec::kOpus, pt >= 0 ? pt : 111, 48000, 2};
    config.input_rate_hz = 16000;
    config.opus_bitrate_bps = opus_bitrate;
  }
  config.telephone_event_pt = presses.empty() ? -1 : dtmf_pt;
  config.ssrc = ssrc;
  config.random_seed = seed;
  auto packetizer = RtpPacketizer::Create(config);
  if (!packetizer.ok()) {
    std::cerr << packetizer.status().ToString() << "\n";
    return 2;
  }
  RtpPacketizer& rtp = **packetizer;

  voxgate::audio::DecodeConfig decode;
  decode.target_sample_rate_hz = config.input_rate_hz;
  decode.max_duration_s = 3600;
  if (file.find(',') != std::string::npos) {
    std::vector<std::string> files;
    for (size_t at = 0; at <= file.size();) {
      const size_t comma = std::min(file.find(',', at), file.size());
      if (comma > at) files.push_back(file.substr(at, comma - at));
      at = comma + 1;
    }
    std::mt19937_64 pick(seed != 0 ? seed : static_cast<uint64_t>(getpid()));
    file = files.empty() ? "" : files[pick() % files.size()];
  }
  auto clip = voxgate::audio::DecodeFile(file, decode);
  if (!clip.ok()) {
    std::cerr << clip.status().ToString() << "\n";
    return 1;
  }
  const size_t frame = static_cast<size_t>(rtp.frame_samples());
  std::vector<float> audio = std::move(clip->samples);
  audio.resize((audio.size() + frame - 1) / frame * frame, 0.0f);  // whole frames
  const int64_t frames_per_loop = static_cast<int64_t>(audio.size() / frame);
  int64_t total_frames = loops == 0 ? INT64_MAX : frames_per_loop * loops;
  if (duration_s > 0) total_frames = std::min<int64_t>(total_frames, std::llround(duration_s * 50));

  Socket rtp_sock, rtcp_sock;
  std::string error;
  if (!OpenSocket(host, port, bind_port, &rtp_sock, &error) ||
      (rtcp &&
       !OpenSocket(host, port + 1, bind_port > 0 ? bind_port + 1 : 0, &rtcp_sock, &error))) {
    std::cerr << error << "\n";
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  std::mt19937_64 rng(seed != 0 ? seed ^ 0x5DEECE66Dull : std::random_device{}());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue;
  uint64_t order = 0;
  std::optional<Scheduled> held;  // a packet waiting to go out after the next one
  int64_t generated = 0, sent = 0, dropped = 0, reordered = 0, send_errors = 0, dtmf_packets = 0;
  int64_t rtcp_sent = 0;
  double max_lag_ms = 0;
  size_t next_press = 0;
  const std::string cname = "voxgate-rtp-player@" + host;
  std::vector<uint8_t> buf(RtpPacketizer::kMaxPacketBytes);

  auto send_rtcp = [&](bool bye) {
    auto sr = voxgate::telephony::BuildSenderReport(
        rtp.ssrc(), rtp.MakeSenderInfo(voxgate::telephony::NtpNow()), {}, cname);
    if (bye) {
      const uint32_t s = rtp.ssrc();
      voxgate::telephony::AppendBye(sr, std::span<const uint32_t>(&s, 1), "end of file");
    }
    if (sendto(rtcp_sock.fd, sr.data(), sr.size(), 0,
               reinterpret_cast<const sockaddr*>(&rtcp_sock.dest), rtcp_sock.dest_len) >= 0) {
      ++rtcp_sent;
    }
  };

  const Clock::time_point start = Clock::now();
  Clock::time_point next_rtcp = start + kRtcpInterval;
  int64_t k = 0;
  while (!g_stop && (k < total_frames || !queue.empty() || held)) {
    const Clock::time_point next_gen =
        k < total_frames ? start + k * kFrame : Clock::time_point::max();
    Clock::time_point wake = next_gen;
    if (!queue.empty()) wake = std::min(wake, queue.top().when);
    if (rtcp) wake = std::min(wake, next_rtcp);
    if (held && k >= total_frames) wake = Clock::now();  // nothing follows: send it now
    std::this_thread::sleep_until(wake);
    const Clock::time_point now = Clock::now();

    if (k < total_frames && now >= next_gen) {
      const double media_s = static_cast<double>(k) * 0.02;
      if (next_press < presses.size() && !rtp.dtmf_active() &&
          presses[next_press].at_s <= media_s) {
        (void)rtp.StartDtmf(presses[next_press++].key, kDtmfToneMs);
      }
      const bool event = rtp.dtmf_active();
      const size_t offset = static_cast<size_t>(k % frames_per_loop) * frame;
      auto n = rtp.WriteFrame(std::span<const float>(audio).subspan(offset, frame), buf);
      ++k;
      if (!n.ok()) {
        std::cerr << n.status().ToString() << "\n";
        return 1;
      }
      ++generated;
      dtmf_packets += event ? 1 : 0;
      if (uniform(rng) < loss) {
        ++dropped;
      } else {
        Scheduled s{next_gen + std::chrono::microseconds(
                                   static_cast<int64_t>(uniform(rng) * jitter_ms * 1000.0)),
                    order++, std::vector<uint8_t>(buf.begin(), buf.begin() + *n)};
        if (held) {
          // The held packet goes right after this one.
          held->when = s.when + std::chrono::microseconds(1);
          held->order = order++;
          queue.push(std::move(s));
          queue.push(std::move(*held));
          held.reset();
        } else if (uniform(rng) < reorder) {
          held = std::move(s);
          ++reordered;
        } else {
          queue.push(std::move(s));
        }
      }
    }
    if (held && k >= total_frames) {
      held->when = now;
      queue.push(std::move(*held));
      held.reset();
    }
    while (!queue.empty() && queue.top().when <= Clock::now()) {
      const Scheduled& s = queue.top();
      max_lag_ms = std::max(
          max_lag_ms, std::chrono::duration<double, std::milli>(Clock::now() - s.when).count());
      if (sendto(rtp_sock.fd, s.bytes.data(), s.bytes.size(), 0,
                 reinterpret_cast<const sockaddr*>(&rtp_sock.dest), rtp_sock.dest_len) >= 0) {
        ++sent;
      } else {
        ++send_errors;
      }
      queue.pop();
    }
    if (rtcp && Clock::now() >= next_rtcp) {
      send_rtcp(false);
      next_rtcp += kRtcpInterval;
    }
  }
  if (rtcp) send_rtcp(true);

  nlohmann::json summary = {
      {"sent", sent},
      {"dropped", dropped},
      {"reordered", reordered},
      {"generated", generated},
      {"dtmf_packets", dtmf_packets},
      {"send_errors", send_errors},
      {"rtcp_sent", rtcp_sent},
      {"ssrc", rtp.ssrc()},
      {"codec", codec_name},
      {"file", file},
      {"payload_type", config.codec.payload_type},
      {"media_s", static_cast<double>(generated) * 0.02},
      {"max_send_lag_ms", std::round(max_lag_ms * 100) / 100},
      {"interrupted", g_stop != 0},
  };
  std::cout << summary.dump() << std::endl;
  return 0;
}
