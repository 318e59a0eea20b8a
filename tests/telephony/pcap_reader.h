// Reads the UDP datagrams out of a classic libpcap capture (the format sipp ships its RTP in):
// the global header, then per packet a record header and an Ethernet / IPv4 / UDP frame. Other
// link types, non-IPv4 and non-UDP packets and fragments are skipped. Header-only test helper.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace voxgate::telephony::testing {

struct UdpDatagram {
  double time_s = 0;  // capture time
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  std::vector<uint8_t> payload;
};

/// Returns false with `error` set when the file is not a readable classic pcap.
inline bool ReadPcapUdp(const std::string& path, std::vector<UdpDatagram>* out,
                        std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  const std::vector<uint8_t> d((std::istreambuf_iterator<char>(in)), {});
  if (d.size() < 24) {
    *error = path + ": shorter than a pcap global header";
    return false;
  }
  const uint32_t magic_le = d[0] | d[1] << 8 | d[2] << 16 | static_cast<uint32_t>(d[3]) << 24;
  bool swapped = false;  // file written big-endian
  bool nanos = false;
  switch (magic_le) {
    case 0xA1B2C3D4u:
      break;
    case 0xA1B23C4Du:
      nanos = true;
      break;
    case 0xD4C3B2A1u:
      swapped = true;
      break;
    case 0x4D3CB2A1u:
      swapped = nanos = true;
      break;
    default:
      *error = path + ": not a classic pcap file";
      return false;
  }
  auto u32 = [&](size_t o) -> uint32_t {
    return swapped
               ? (static_cast<uint32_t>(d[o]) << 24 | d[o + 1] << 16 | d[o + 2] << 8 | d[o + 3])
               : (d[o] | d[o + 1] << 8 | d[o + 2] << 16 | static_cast<uint32_t>(d[o + 3]) << 24);
  };
  auto be16 = [&](size_t o) -> uint16_t { return static_cast<uint16_t>(d[o] << 8 | d[o + 1]); };
  const uint32_t link_type = u32(20);
  if (link_type != 1) {
    *error = path + ": link type " + std::to_string(link_type) + ", only Ethernet (1) is read";
    return false;
  }
  size_t off = 24;
  while (off + 16 <= d.size()) {
    const uint32_t ts_s = u32(off), ts_frac = u32(off + 4), incl = u32(off + 8);
    off += 16;
    if (incl > d.size() - off) {
      *error = path + ": truncated packet record";
      return false;
    }
    const size_t frame = off, frame_end = off + incl;
    off = frame_end;
    size_t ip = frame + 14;
    if (frame_end < ip) continue;
    uint16_t ether_type = be16(frame + 12);
    if (ether_type == 0x8100 && frame_end >= ip + 4) {  // one VLAN tag
      ether_type = be16(frame + 16);
      ip += 4;
    }
    if (ether_type != 0x0800 || frame_end < ip + 20 || (d[ip] >> 4) != 4) continue;
    const size_t ihl = (d[ip] & 0x0F) * 4u;
    const size_t ip_total = be16(ip + 2);
    const bool fragment = (be16(ip + 6) & 0x3FFF) != 0;
    if (d[ip + 9] != 17 || fragment || ihl < 20 || ip + ip_total > frame_end ||
        ip_total < ihl + 8) {
      continue;
    }
    const size_t udp = ip + ihl;
    const size_t udp_len = be16(udp + 4);
    if (udp_len < 8 || udp + udp_len > ip + ip_total) continue;
    UdpDatagram dg;
    dg.time_s = ts_s + ts_frac * (nanos ? 1e-9 : 1e-6);
    dg.src_port = be16(udp);
    dg.dst_port = be16(udp + 2);
    dg.payload.assign(d.begin() + udp + 8, d.begin() + udp + udp_len);
    out->push_back(std::move(dg));
  }
  return true;
}

}  // namespace voxgate::telephony::testing
