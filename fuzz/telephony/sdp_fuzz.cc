// libFuzzer: SDP offers as the SIP agent gets them (an INVITE body, arbitrary bytes) through
// NegotiateOffer, and every answer it would send back. Checks what the media side and the caller
// rely on: a negotiated stream has a port, a payload type and a sane ptime; the address is one
// token; and our answer is itself valid SDP that negotiates to the same codec at our address.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "telephony/sdp_negotiator.h"

namespace {

using voxgate::telephony::BuildAnswer;
using voxgate::telephony::Codec;
using voxgate::telephony::MediaEndpoint;
using voxgate::telephony::NegotiateOffer;
using voxgate::telephony::SipConfig;

const SipConfig& Config(uint8_t selector) {
  static const SipConfig* configs = [] {
    auto* c = new SipConfig[3];
    c[1].codecs = {Codec::kOpus, Codec::kPcma};
    c[2].codecs = {Codec::kPcma};
    c[2].ptime_ms = 40;
    return c;
  }();
  return configs[selector % 3];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const SipConfig& config = Config(data[0]);
  std::string_view offer(reinterpret_cast<const char*>(data + 1), size - 1);
  auto media = NegotiateOffer(offer, config);
  if (!media.ok()) {
    if (media.status().code() == voxgate::StatusCode::kInternal) __builtin_trap();
    return 0;
  }
  if (media->remote_rtp_port == 0 || media->audio.payload_type < 0 ||
      media->audio.payload_type > 127 || media->telephone_event_pt > 127 || media->ptime_ms < 10 ||
      media->ptime_ms > 60 || media->remote_address.empty()) {
    __builtin_trap();
  }
  for (unsigned char c : media->remote_address) {
    if (c <= 0x20 || c >= 0x7f) __builtin_trap();
  }
  for (const auto& line : media->answer_media_lines) {
    for (unsigned char c : line) {
      if (c < 0x20 || c >= 0x7f) __builtin_trap();  // nothing may break our SDP's lines
    }
  }

  const MediaEndpoint local{"192.0.2.1", 40000};
  std::string answer = BuildAnswer(*media, local, 42, 1);
  auto back = NegotiateOffer(answer, config);
  if (!back.ok() || back->audio.codec != media->audio.codec ||
      back->audio.payload_type != media->audio.payload_type ||
      back->telephone_event_pt != media->telephone_event_pt ||
      back->remote_address != local.address || back->remote_rtp_port != local.rtp_port ||
      back->answer_media_lines.size() != media->answer_media_lines.size()) {
    __builtin_trap();
  }
  return 0;
}
