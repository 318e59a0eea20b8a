#include "telephony/rtp_packet.h"

#include <cstring>
#include <string>

#include "telephony/big_endian.h"

namespace voxgate::telephony {

Result<RtpPacketView> ParseRtp(std::span<const uint8_t> datagram) {
  const size_t size = datagram.size();
  if (size < kRtpHeaderBytes) {
    return InvalidArgumentError("RTP packet of " + std::to_string(size) +
                                " bytes is shorter than the 12-byte header");
  }
  const uint8_t* p = datagram.data();
  RtpPacketView view;
  RtpHeader& h = view.header;
  h.version = p[0] >> 6;
  if (h.version != 2) {
    return InvalidArgumentError("RTP version " + std::to_string(h.version) + ", expected 2");
  }
  if (p[1] >= 192 && p[1] <= 223) {
    return InvalidArgumentError("RTCP packet type " + std::to_string(p[1]) +
                                " where RTP was expected (RFC 5761)");
  }
  h.padding = (p[0] & 0x20) != 0;
  h.extension = (p[0] & 0x10) != 0;
  h.csrc_count = p[0] & 0x0F;
  h.marker = (p[1] & 0x80) != 0;
  h.payload_type = p[1] & 0x7F;
  h.sequence = LoadBe16(p + 2);
  h.timestamp = LoadBe32(p + 4);
  h.ssrc = LoadBe32(p + 8);

  size_t offset = kRtpHeaderBytes;
  if (size < offset + size_t{4} * h.csrc_count) {
    return InvalidArgumentError("RTP CSRC list of " + std::to_string(h.csrc_count) +
                                " entries runs past the end of a " + std::to_string(size) +
                                "-byte packet");
  }
  for (int i = 0; i < h.csrc_count; ++i, offset += 4) h.csrc[i] = LoadBe32(p + offset);

  if (h.extension) {
    if (size < offset + 4) {
      return InvalidArgumentError("RTP header extension header runs past the end of the packet");
    }
    view.extension_profile = LoadBe16(p + offset);
    const size_t ext_bytes = size_t{4} * LoadBe16(p + offset + 2);
    offset += 4;
    if (size - offset < ext_bytes) {
      return InvalidArgumentError("RTP header extension of " + std::to_string(ext_bytes) +
                                  " bytes runs past the end of the packet");
    }
    view.extension_data = datagram.subspan(offset, ext_bytes);
    offset += ext_bytes;
  }

  size_t end = size;
  if (h.padding) {
    const uint8_t pad = p[size - 1];
    if (pad == 0 || pad > size - offset) {
      return InvalidArgumentError("RTP padding count " + std::to_string(pad) + " is invalid with " +
                                  std::to_string(size - offset) + " bytes after the header");
    }
    view.padding_bytes = pad;
    end -= pad;
  }
  view.payload = datagram.subspan(offset, end - offset);
  return view;
}

size_t RtpPacketSize(const RtpHeader& header, size_t payload_bytes) {
  return kRtpHeaderBytes + size_t{4} * header.csrc_count + payload_bytes;
}

size_t WriteRtp(const RtpHeader& header, std::span<const uint8_t> payload, std::span<uint8_t> out) {
  if (header.csrc_count > kMaxCsrcs || header.payload_type > 127) return 0;
  const size_t total = RtpPacketSize(header, payload.size());
  if (out.size() < total) return 0;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(2 << 6 | header.csrc_count);
  p[1] = static_cast<uint8_t>((header.marker ? 0x80 : 0) | header.payload_type);
  StoreBe16(p + 2, header.sequence);
  StoreBe32(p + 4, header.timestamp);
  StoreBe32(p + 8, header.ssrc);
  size_t offset = kRtpHeaderBytes;
  for (int i = 0; i < header.csrc_count; ++i, offset += 4) StoreBe32(p + offset, header.csrc[i]);
  // memmove: the caller may build the payload in place inside `out`.
  if (!payload.empty()) std::memmove(p + offset, payload.data(), payload.size());
  return total;
}

bool IsRtcp(std::span<const uint8_t> datagram) {
  return datagram.size() >= 2 && datagram[1] >= 192 && datagram[1] <= 223;
}

}  // namespace voxgate::telephony
