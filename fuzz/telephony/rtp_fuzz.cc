// libFuzzer: RTP datagrams (outside input on every call's media port) through ParseRtp, and the
// payloads of those that parse through DtmfDetector and a JitterBuffer, as a receiver does.
// The input is a sequence of datagrams, each prefixed by its length byte, so that the stateful
// parts (detector, jitter buffer) see streams rather than single packets. Seed corpus: RTP
// datagrams, e.g. those of sipp's captures (/usr/share/sip-tester/*.pcap), one per file with its
// length byte in front.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "telephony/dtmf_detector.h"
#include "telephony/jitter_buffer.h"
#include "telephony/rtp_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace voxgate::telephony;
  static constexpr int kClockRates[] = {8000, 16000, 48000};
  DtmfDetector detector(8000);
  JitterBufferConfig config;
  config.max_packets = 16;  // small, so that overflow is reached
  auto jb = JitterBuffer::Create(config);
  if (!jb.ok()) __builtin_trap();
  std::array<uint8_t, 1500> out{};
  std::span<const uint8_t> rest(data, size);
  while (!rest.empty()) {
    const size_t len = std::min<size_t>(rest[0], rest.size() - 1);
    const std::span<const uint8_t> datagram = rest.subspan(1, len);
    rest = rest.subspan(1 + len);

    auto view = ParseRtp(datagram);
    if (!view.ok()) {
      if (view.status().message().empty()) __builtin_trap();
      continue;
    }
    const RtpHeader& h = view->header;
    // The views lie inside the datagram.
    const uint8_t* begin = datagram.data();
    const uint8_t* end = begin + datagram.size();
    if (!view->payload.empty() &&
        (view->payload.data() < begin || view->payload.data() + view->payload.size() > end)) {
      __builtin_trap();
    }
    if (h.version != 2 || h.csrc_count > 15 || IsRtcp(datagram)) __builtin_trap();

    // Writing the header back (without extension/padding) reparses to the same fields.
    std::array<uint8_t, 1600> rewritten{};
    const size_t n = WriteRtp(h, view->payload, rewritten);
    if (n == 0) __builtin_trap();
    auto again = ParseRtp(std::span<const uint8_t>(rewritten.data(), n));
    if (!again.ok() || again->header.sequence != h.sequence ||
        again->header.timestamp != h.timestamp || again->header.ssrc != h.ssrc ||
        again->header.payload_type != h.payload_type || again->header.marker != h.marker ||
        again->payload.size() != view->payload.size()) {
      __builtin_trap();
    }

    for (const DtmfDigit& d : detector.OnPacket(h.timestamp, view->payload)) {
      if (d.digit == '\0' || d.duration_ms < 0) __builtin_trap();
    }
    (void)detector.Poll(h.timestamp);
    (*jb)->Put(view->payload, h.timestamp, kClockRates[h.payload_type % 3], h.sequence);
    const auto r = (*jb)->Get(out);
    if (r.length > out.size()) __builtin_trap();
    if ((*jb)->queued_packets() > config.max_packets) __builtin_trap();
  }
  (void)detector.Flush();
  return 0;
}
