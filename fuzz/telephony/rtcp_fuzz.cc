// libFuzzer: RTCP compound packets (outside input on every call's RTCP port) through ParseRtcp.
// What parses must be self-consistent, and its first report must survive a rebuild and reparse.
// Seed corpus: compounds from BuildSenderReport/BuildReceiverReport/AppendBye (the unit tests'
// shapes), or captured RTCP.
#include <cstddef>
#include <cstdint>
#include <span>

#include "telephony/rtcp_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace voxgate::telephony;
  auto parsed = ParseRtcp(std::span<const uint8_t>(data, size));
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) __builtin_trap();
    return 0;
  }
  // Every sub-packet is at least 4 bytes and a report block is 24: nothing can hold more items
  // than the bytes allow.
  size_t items = 0;
  for (const auto& sr : parsed->sender_reports) {
    if (sr.blocks.size() > kMaxRtcpCount) __builtin_trap();
    items += 7 + 6 * sr.blocks.size();
  }
  for (const auto& rr : parsed->receiver_reports) {
    if (rr.blocks.size() > kMaxRtcpCount) __builtin_trap();
    items += 2 + 6 * rr.blocks.size();
  }
  for (const auto& c : parsed->sdes) {
    if (c.cname.size() > 255) __builtin_trap();
    items += 2;
  }
  for (const auto& b : parsed->byes) {
    if (b.ssrcs.size() > kMaxRtcpCount || b.reason.size() > 255) __builtin_trap();
    items += 1 + b.ssrcs.size();
  }
  items += static_cast<size_t>(parsed->skipped_packets);
  if (items * 4 > size) __builtin_trap();

  if (!parsed->sender_reports.empty()) {
    const RtcpSenderReport& sr = parsed->sender_reports.front();
    const std::string cname = parsed->sdes.empty() ? "" : parsed->sdes.front().cname;
    auto again = ParseRtcp(BuildSenderReport(sr.ssrc, sr.info, sr.blocks, cname));
    if (!again.ok() || again->sender_reports.size() != 1 ||
        !(again->sender_reports[0].info == sr.info) ||
        again->sender_reports[0].blocks != sr.blocks || again->sdes.size() != 1 ||
        again->sdes[0].cname != cname) {
      __builtin_trap();
    }
  }
  return 0;
}
