#include "telephony/rtcp_packet.h"

#include <algorithm>
#include <cmath>

#include "telephony/big_endian.h"

namespace voxgate::telephony {
namespace {

constexpr uint64_t kNtpUnixOffsetS = 2208988800ull;  // 1900-01-01 to 1970-01-01
constexpr size_t kReportBlockBytes = 24;
constexpr size_t kSenderInfoBytes = 20;
constexpr uint8_t kSdesCname = 1;

std::string Where(size_t index, uint8_t type) {
  return "RTCP sub-packet " + std::to_string(index) + " (type " + std::to_string(type) + ")";
}

ReportBlock ReadBlock(const uint8_t* p) {
  ReportBlock b;
  b.ssrc = LoadBe32(p);
  b.fraction_lost = p[4];
  // 24-bit two's complement.
  const uint32_t raw = LoadBe24(p + 5);
  b.cumulative_lost = static_cast<int32_t>(raw << 8) >> 8;
  b.ext_highest_seq = LoadBe32(p + 8);
  b.jitter = LoadBe32(p + 12);
  b.lsr = LoadBe32(p + 16);
  b.dlsr = LoadBe32(p + 20);
  return b;
}

Status ParseBlocks(std::span<const uint8_t> body, int count, std::vector<ReportBlock>& out) {
  if (body.size() < count * kReportBlockBytes) {
    return InvalidArgumentError(std::to_string(count) + " report blocks need " +
                                std::to_string(count * kReportBlockBytes) + " bytes, " +
                                std::to_string(body.size()) + " present");
  }
  out.reserve(count);
  for (int i = 0; i < count; ++i) out.push_back(ReadBlock(body.data() + i * kReportBlockBytes));
  return Status::Ok();
}

Status ParseSdes(std::span<const uint8_t> body, int count, std::vector<SdesChunk>& out) {
  size_t off = 0;
  for (int c = 0; c < count; ++c) {
    if (body.size() - off < 4) {
      return InvalidArgumentError("SDES chunk " + std::to_string(c) + " runs past the end");
    }
    SdesChunk chunk;
    chunk.ssrc = LoadBe32(body.data() + off);
    off += 4;
    bool terminated = false;
    while (off < body.size()) {
      const uint8_t type = body[off];
      if (type == 0) {
        terminated = true;
        // The null item, then padding up to the next 32-bit boundary (the body starts on one).
        off = (off + 4) & ~size_t{3};
        break;
      }
      if (body.size() - off < 2 || body.size() - off - 2 < body[off + 1]) {
        return InvalidArgumentError("SDES item of type " + std::to_string(type) +
                                    " runs past the end");
      }
      const uint8_t len = body[off + 1];
      if (type == kSdesCname) {
        chunk.cname.assign(reinterpret_cast<const char*>(body.data() + off + 2), len);
      }
      off += 2 + len;
    }
    if (!terminated || off > body.size()) {
      return InvalidArgumentError("SDES chunk " + std::to_string(c) +
                                  " is not terminated by a null item");
    }
    out.push_back(std::move(chunk));
  }
  return Status::Ok();
}

Status ParseBye(std::span<const uint8_t> body, int count, std::vector<RtcpBye>& out) {
  if (body.size() < size_t{4} * static_cast<size_t>(count)) {
    return InvalidArgumentError("BYE with " + std::to_string(count) + " sources needs " +
                                std::to_string(4 * count) + " bytes, " +
                                std::to_string(body.size()) + " present");
  }
  RtcpBye bye;
  for (int i = 0; i < count; ++i)
    bye.ssrcs.push_back(LoadBe32(body.data() + size_t{4} * static_cast<size_t>(i)));
  const size_t off = size_t{4} * static_cast<size_t>(count);
  if (off < body.size()) {
    const uint8_t len = body[off];
    if (body.size() - off - 1 < len) {
      return InvalidArgumentError("BYE reason of " + std::to_string(len) +
                                  " bytes runs past the end");
    }
    bye.reason.assign(reinterpret_cast<const char*>(body.data() + off + 1), len);
  }
  out.push_back(std::move(bye));
  return Status::Ok();
}

// Appends a common header whose length field is patched by FinishPacket.
size_t BeginPacket(std::vector<uint8_t>& out, int count, uint8_t type) {
  const size_t start = out.size();
  out.push_back(static_cast<uint8_t>(2 << 6 | (count & 0x1F)));
  out.push_back(type);
  out.push_back(0);
  out.push_back(0);
  return start;
}

void FinishPacket(std::vector<uint8_t>& out, size_t start) {
  while ((out.size() - start) % 4 != 0) out.push_back(0);
  StoreBe16(out.data() + start + 2, static_cast<uint16_t>((out.size() - start) / 4 - 1));
}

void Put32(std::vector<uint8_t>& out, uint32_t v) {
  out.resize(out.size() + 4);
  StoreBe32(out.data() + out.size() - 4, v);
}

void PutBlocks(std::vector<uint8_t>& out, std::span<const ReportBlock> blocks) {
  for (const ReportBlock& b : blocks) {
    Put32(out, b.ssrc);
    const int32_t lost = std::clamp<int32_t>(b.cumulative_lost, -(1 << 23), (1 << 23) - 1);
    Put32(out,
          static_cast<uint32_t>(b.fraction_lost) << 24 | (static_cast<uint32_t>(lost) & 0xFFFFFF));
    Put32(out, b.ext_highest_seq);
    Put32(out, b.jitter);
    Put32(out, b.lsr);
    Put32(out, b.dlsr);
  }
}

void AppendCname(std::vector<uint8_t>& out, uint32_t ssrc, std::string_view cname) {
  const size_t start = BeginPacket(out, 1, kRtcpSdes);
  Put32(out, ssrc);
  cname = cname.substr(0, 255);
  out.push_back(kSdesCname);
  out.push_back(static_cast<uint8_t>(cname.size()));
  out.insert(out.end(), cname.begin(), cname.end());
  // The null item that ends the chunk, then zeros to the 32-bit boundary (FinishPacket).
  out.push_back(0);
  FinishPacket(out, start);
}

}  // namespace

NtpTime ToNtp(std::chrono::system_clock::time_point t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const int64_t s = ns >= 0 ? ns / 1'000'000'000 : (ns - 999'999'999) / 1'000'000'000;
  const int64_t rem_ns = ns - s * 1'000'000'000;
  NtpTime ntp;
  ntp.seconds = static_cast<uint32_t>(static_cast<uint64_t>(s) + kNtpUnixOffsetS);
  ntp.fraction = static_cast<uint32_t>((static_cast<uint64_t>(rem_ns) << 32) / 1'000'000'000);
  return ntp;
}

std::chrono::system_clock::time_point FromNtp(NtpTime ntp) {
  // NTP era 0 (until 2036) maps before the Unix epoch offset; later seconds wrap into era 1.
  int64_t s = static_cast<int64_t>(ntp.seconds) - static_cast<int64_t>(kNtpUnixOffsetS);
  if (ntp.seconds < 0x80000000u) s += int64_t{1} << 32;  // era 1: 2036-02-07 onwards
  const int64_t ns =
      static_cast<int64_t>((static_cast<uint64_t>(ntp.fraction) * 1'000'000'000) >> 32);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(s) + std::chrono::nanoseconds(ns)));
}

NtpTime NtpNow() { return ToNtp(std::chrono::system_clock::now()); }

uint32_t ToNtpShort(double seconds) {
  if (!(seconds > 0)) return 0;
  const double units = std::round(seconds * 65536.0);
  return units >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(units);
}

double RoundTripS(uint32_t lsr, uint32_t dlsr, uint32_t arrival_ntp_middle32) {
  if (lsr == 0) return 0.0;
  // Modular 32-bit arithmetic: the middle 32 bits wrap every 18 hours.
  const int32_t rtt = static_cast<int32_t>(arrival_ntp_middle32 - lsr - dlsr);
  return rtt / 65536.0;
}

Result<RtcpCompound> ParseRtcp(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return InvalidArgumentError("empty RTCP packet");
  RtcpCompound compound;
  size_t off = 0;
  for (size_t index = 0; off < datagram.size(); ++index) {
    const size_t remaining = datagram.size() - off;
    const uint8_t* p = datagram.data() + off;
    if (remaining < 4) {
      return InvalidArgumentError("RTCP sub-packet " + std::to_string(index) + ": " +
                                  std::to_string(remaining) +
                                  " trailing bytes, shorter than a 4-byte header");
    }
    const uint8_t type = p[1];
    const int version = p[0] >> 6;
    if (version != 2) {
      return InvalidArgumentError(Where(index, type) + ": version " + std::to_string(version) +
                                  ", expected 2");
    }
    const int count = p[0] & 0x1F;
    const size_t bytes = (static_cast<size_t>(LoadBe16(p + 2)) + 1) * 4;
    if (bytes > remaining) {
      return InvalidArgumentError(Where(index, type) + ": length " + std::to_string(bytes) +
                                  " bytes exceeds the " + std::to_string(remaining) +
                                  " bytes left");
    }
    size_t body_end = bytes;
    if (p[0] & 0x20) {
      const uint8_t pad = p[bytes - 1];
      if (pad == 0 || pad > bytes - 4) {
        return InvalidArgumentError(Where(index, type) + ": padding count " + std::to_string(pad) +
                                    " is invalid");
      }
      body_end -= pad;
    }
    const std::span<const uint8_t> body(p + 4, body_end - 4);
    Status status;
    switch (type) {
      case kRtcpSr: {
        if (body.size() < 4 + kSenderInfoBytes) {
          status = InvalidArgumentError("sender report shorter than SSRC + sender info");
          break;
        }
        RtcpSenderReport sr;
        sr.ssrc = LoadBe32(body.data());
        sr.info.ntp.seconds = LoadBe32(body.data() + 4);
        sr.info.ntp.fraction = LoadBe32(body.data() + 8);
        sr.info.rtp_timestamp = LoadBe32(body.data() + 12);
        sr.info.packet_count = LoadBe32(body.data() + 16);
        sr.info.octet_count = LoadBe32(body.data() + 20);
        status = ParseBlocks(body.subspan(4 + kSenderInfoBytes), count, sr.blocks);
        if (status.ok()) compound.sender_reports.push_back(std::move(sr));
        break;
      }
      case kRtcpRr: {
        if (body.size() < 4) {
          status = InvalidArgumentError("receiver report shorter than its SSRC");
          break;
        }
        RtcpReceiverReport rr;
        rr.ssrc = LoadBe32(body.data());
        status = ParseBlocks(body.subspan(4), count, rr.blocks);
        if (status.ok()) compound.receiver_reports.push_back(std::move(rr));
        break;
      }
      case kRtcpSdes:
        status = ParseSdes(body, count, compound.sdes);
        break;
      case kRtcpBye:
        status = ParseBye(body, count, compound.byes);
        break;
      default:
        ++compound.skipped_packets;
        break;
    }
    if (!status.ok()) return status.WithContext(Where(index, type));
    off += bytes;
  }
  return compound;
}

std::vector<uint8_t> BuildSenderReport(uint32_t ssrc, const SenderInfo& info,
                                       std::span<const ReportBlock> blocks,
                                       std::string_view cname) {
  blocks = blocks.first(std::min<size_t>(blocks.size(), kMaxRtcpCount));
  std::vector<uint8_t> out;
  out.reserve(28 + blocks.size() * kReportBlockBytes + 12 + cname.size());
  const size_t start = BeginPacket(out, static_cast<int>(blocks.size()), kRtcpSr);
  Put32(out, ssrc);
  Put32(out, info.ntp.seconds);
  Put32(out, info.ntp.fraction);
  Put32(out, info.rtp_timestamp);
  Put32(out, info.packet_count);
  Put32(out, info.octet_count);
  PutBlocks(out, blocks);
  FinishPacket(out, start);
  AppendCname(out, ssrc, cname);
  return out;
}

std::vector<uint8_t> BuildReceiverReport(uint32_t ssrc, std::span<const ReportBlock> blocks,
                                         std::string_view cname) {
  blocks = blocks.first(std::min<size_t>(blocks.size(), kMaxRtcpCount));
  std::vector<uint8_t> out;
  out.reserve(8 + blocks.size() * kReportBlockBytes + 12 + cname.size());
  const size_t start = BeginPacket(out, static_cast<int>(blocks.size()), kRtcpRr);
  Put32(out, ssrc);
  PutBlocks(out, blocks);
  FinishPacket(out, start);
  AppendCname(out, ssrc, cname);
  return out;
}

void AppendBye(std::vector<uint8_t>& compound, std::span<const uint32_t> ssrcs,
               std::string_view reason) {
  ssrcs = ssrcs.first(std::min<size_t>(ssrcs.size(), kMaxRtcpCount));
  const size_t start = BeginPacket(compound, static_cast<int>(ssrcs.size()), kRtcpBye);
  for (uint32_t s : ssrcs) Put32(compound, s);
  if (!reason.empty()) {
    reason = reason.substr(0, 255);
    compound.push_back(static_cast<uint8_t>(reason.size()));
    compound.insert(compound.end(), reason.begin(), reason.end());
  }
  FinishPacket(compound, start);
}

}  // namespace voxgate::telephony
