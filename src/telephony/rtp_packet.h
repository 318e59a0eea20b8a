// RTP fixed header (RFC 3550 section 5.1): parsing a received datagram into a view over its bytes,
// writing a packet into a caller's buffer, and telling RTP from RTCP on a shared port (RFC 5761).
// Pure functions on caller-provided memory: thread-safe, and the success paths never allocate
// (they run once per received or sent packet). A rejected datagram costs one Status (its message).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace voxgate::telephony {

inline constexpr size_t kRtpHeaderBytes = 12;  // the fixed header, without CSRCs or extension
inline constexpr int kMaxCsrcs = 15;           // CC is 4 bits

struct RtpHeader {
  uint8_t version = 2;
  bool padding = false;      // the packet ends with padding (its last byte counts the padding)
  bool extension = false;    // a header extension follows the CSRC list
  bool marker = false;       // first packet of a talkspurt (audio) or of an event (RFC 4733)
  uint8_t payload_type = 0;  // 0..127
  uint16_t sequence = 0;
  uint32_t timestamp = 0;  // in the payload format's clock units
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;  // 0..15 valid entries in `csrc`
  std::array<uint32_t, kMaxCsrcs> csrc{};
};

/// A parsed packet. The spans point into the datagram passed to ParseRtp and live as long as it.
struct RtpPacketView {
  RtpHeader header;
  std::span<const uint8_t> payload;         // without padding
  uint16_t extension_profile = 0;           // "defined by profile" word when header.extension
  std::span<const uint8_t> extension_data;  // the extension's words (without its 4-byte header)
  uint8_t padding_bytes = 0;                // removed from the end (0 unless header.padding)
};

/// Parses one RTP datagram. kInvalidArgument, naming the problem, for: fewer than 12 bytes, a
/// version other than 2, a second byte in 192..223 (an RTCP packet, RFC 5761 section 4), a CSRC
/// list or header extension that runs past the end, or a padding count that is 0 or larger than
/// what follows the header. An empty payload is valid (e.g. keep-alives).
Result<RtpPacketView> ParseRtp(std::span<const uint8_t> datagram);

/// Bytes WriteRtp needs for a header like `header` and `payload_bytes` of payload.
size_t RtpPacketSize(const RtpHeader& header, size_t payload_bytes);

/// Writes a version-2 packet with header.csrc_count CSRCs, no extension and no padding
/// (header.version, .padding and .extension are ignored). Returns the packet size, or 0 when `out`
/// is too small, csrc_count > 15 or payload_type > 127.
size_t WriteRtp(const RtpHeader& header, std::span<const uint8_t> payload, std::span<uint8_t> out);

/// RFC 5761 section 4 demultiplexing of RTP and RTCP on one port: the second byte (RTCP packet
/// type, or RTP marker + payload type) is in 192..223 for RTCP.
bool IsRtcp(std::span<const uint8_t> datagram);

}  // namespace voxgate::telephony
