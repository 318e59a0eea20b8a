// RTCP compound packets (RFC 3550 section 6): parsing SR, RR, SDES (CNAME) and BYE out of a
// received compound datagram, building the SR/RR + SDES compounds a sender emits every few
// seconds, and the NTP timestamp arithmetic behind round-trip times (section 6.4.1).
//
// Pure functions, thread-safe. Parsing and building allocate (vectors, strings): RTCP arrives and
// leaves once every few seconds per call, not per media packet.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace voxgate::telephony {

inline constexpr uint8_t kRtcpSr = 200;
inline constexpr uint8_t kRtcpRr = 201;
inline constexpr uint8_t kRtcpSdes = 202;
inline constexpr uint8_t kRtcpBye = 203;
/// RC/SC is 5 bits: a packet carries at most 31 report blocks or SDES chunks or BYE sources.
inline constexpr int kMaxRtcpCount = 31;

/// A 64-bit NTP timestamp: seconds since 1900-01-01 and a binary fraction of a second.
struct NtpTime {
  uint32_t seconds = 0;
  uint32_t fraction = 0;

  /// The middle 32 bits (16.16 fixed point): what LSR echoes and what RoundTripS() takes.
  uint32_t Middle32() const { return seconds << 16 | fraction >> 16; }
  friend bool operator==(const NtpTime&, const NtpTime&) = default;
};

/// Wall-clock time as NTP (RFC 3550 uses wall-clock time for the SR timestamp).
NtpTime ToNtp(std::chrono::system_clock::time_point t);
std::chrono::system_clock::time_point FromNtp(NtpTime ntp);
NtpTime NtpNow();
/// Seconds as 16.16 fixed point (units of 1/65536 s), saturating: the DLSR field.
uint32_t ToNtpShort(double seconds);

/// Round-trip time seen by a sender from a report block about its own stream (RFC 3550 6.4.1):
/// arrival - LSR - DLSR, all in 1/65536 s, with `arrival_ntp_middle32` the middle 32 bits of the
/// NTP time the report arrived. Returns 0 when LSR is 0 (no SR received yet); a result <= 0 means
/// the round trip is unknown (clock steps, a bogus DLSR) and must not be reported.
double RoundTripS(uint32_t lsr, uint32_t dlsr, uint32_t arrival_ntp_middle32);

/// One reception report block (RFC 3550 6.4.1).
struct ReportBlock {
  uint32_t ssrc = 0;             // the source this block reports on
  uint8_t fraction_lost = 0;     // lost / expected since the previous report, 8-bit fixed point
  int32_t cumulative_lost = 0;   // 24-bit signed on the wire (duplicates can make it negative)
  uint32_t ext_highest_seq = 0;  // cycles << 16 | highest sequence number received
  uint32_t jitter = 0;           // interarrival jitter, RTP timestamp units
  uint32_t lsr = 0;              // middle 32 bits of the last SR's NTP time, 0 if none
  uint32_t dlsr = 0;             // delay since that SR, 1/65536 s

  friend bool operator==(const ReportBlock&, const ReportBlock&) = default;
};

/// The sender info section of an SR.
struct SenderInfo {
  NtpTime ntp;                 // wall clock when the report was sent
  uint32_t rtp_timestamp = 0;  // the same instant on the RTP clock of the stream
  uint32_t packet_count = 0;   // RTP packets sent since the start (wraps)
  uint32_t octet_count = 0;    // payload octets sent since the start (wraps)

  friend bool operator==(const SenderInfo&, const SenderInfo&) = default;
};

struct RtcpSenderReport {
  uint32_t ssrc = 0;
  SenderInfo info;
  std::vector<ReportBlock> blocks;
};

struct RtcpReceiverReport {
  uint32_t ssrc = 0;
  std::vector<ReportBlock> blocks;
};

/// One SDES chunk; items other than CNAME are skipped.
struct SdesChunk {
  uint32_t ssrc = 0;
  std::string cname;  // empty if the chunk had no CNAME item
};

struct RtcpBye {
  std::vector<uint32_t> ssrcs;
  std::string reason;  // optional "reason for leaving"
};

/// Everything understood in one compound packet, in order of appearance per type.
struct RtcpCompound {
  std::vector<RtcpSenderReport> sender_reports;
  std::vector<RtcpReceiverReport> receiver_reports;
  std::vector<SdesChunk> sdes;
  std::vector<RtcpBye> byes;
  int skipped_packets = 0;  // well-formed sub-packets of other types (APP, feedback, XR, ...)
};

/// Parses a compound RTCP datagram. Every sub-packet must be version 2 and lie inside the
/// datagram, with its length, padding and count consistent with its type; one bad sub-packet
/// rejects the datagram (kInvalidArgument naming the sub-packet and the problem), as RFC 3550
/// A.2 does. Sub-packets of unknown types are skipped by their length. Extra bytes after an
/// SR/RR's report blocks (profile extensions) are ignored. The "first packet is SR or RR" rule is
/// not enforced, so reduced-size RTCP (RFC 5506) parses.
Result<RtcpCompound> ParseRtcp(std::span<const uint8_t> datagram);

/// An SR followed by an SDES CNAME chunk (RFC 3550 6.1: every compound carries a CNAME). At most
/// 31 blocks are written; a CNAME longer than 255 bytes is truncated.
std::vector<uint8_t> BuildSenderReport(uint32_t ssrc, const SenderInfo& info,
                                       std::span<const ReportBlock> blocks, std::string_view cname);

/// An RR (possibly with no blocks) followed by an SDES CNAME chunk. Same limits.
std::vector<uint8_t> BuildReceiverReport(uint32_t ssrc, std::span<const ReportBlock> blocks,
                                         std::string_view cname);

/// Appends a BYE for `ssrcs` (at most 31) with an optional reason (at most 255 bytes) to a compound
/// built by the functions above.
void AppendBye(std::vector<uint8_t>& compound, std::span<const uint32_t> ssrcs,
               std::string_view reason = {});

}  // namespace voxgate::telephony
