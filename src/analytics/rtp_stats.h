// RtpStats: reception statistics of one RTP source (one received SSRC), as RFC 3550 computes them
// for receiver reports: sequence tracking with 16-bit wrap, probation of a new source and restart
// after a confirmed large jump (Appendix A.1), expected and lost counts and the fraction lost per
// report interval (A.3), and the interarrival jitter (A.8). On top of the RFC it tells duplicates
// from reordered packets and counts "settled" losses (gaps too old to be filled by a late packet),
// which a monotonic loss counter needs.
//
// Not thread-safe: one per SSRC, owned by whoever receives that source's packets. OnPacket does no
// allocation and no locking (the history of recent sequence numbers is a fixed bitmap).
#pragma once

#include <array>
#include <cstdint>

namespace voxgate::analytics {

class RtpStats {
 public:
  /// RFC 3550 A.1 constants: a jump forward smaller than kMaxDropout is a gap (loss); a packet at
  /// most kMaxMisorder behind the highest is late (reordered or duplicate); anything else is a
  /// large jump, accepted only when the next packet follows it. kMinSequential packets in
  /// sequence validate a new source.
  static constexpr int kMaxDropout = 3000;
  static constexpr int kMaxMisorder = 100;
  static constexpr int kMinSequential = 2;

  enum class Arrival {
    kInOrder,    // the new highest sequence number (possibly after a gap)
    kReordered,  // late but new: behind the highest by less than kMaxMisorder
    kDuplicate,  // a sequence number already received
    kProbation,  // the source is not validated yet; not counted
    kBadJump,    // a large jump not (yet) confirmed by the next packet; not counted
    kRestart,    // a confirmed large jump: the sequence restarted and the counts with it
  };

  /// RFC 3550 section 6.4.1 report block fields (without the SSRC and the LSR/DLSR times, which
  /// belong to the RTCP layer).
  struct ReportBlock {
    uint8_t fraction_lost = 0;          // lost/expected since the previous block, 8-bit fixed point
    int32_t cumulative_lost = 0;        // expected - received, clamped to 24-bit signed
    uint32_t extended_highest_seq = 0;  // cycles << 16 | highest sequence number
    uint32_t jitter = 0;                // interarrival jitter, RTP timestamp units
  };

  /// Counts since the source was validated or last restarted.
  struct Counts {
    int64_t received = 0;      // RFC 3550 "received": includes duplicates and late packets
    int64_t expected = 0;      // extended highest - base + 1
    int64_t duplicates = 0;    // packets whose sequence number had been received already
    int64_t reordered = 0;     // late packets that were not duplicates
    int64_t settled_lost = 0;  // never received and at least kMaxMisorder behind the highest
  };

  /// `clock_rate_hz`: the RTP timestamp clock of the payload (8000 for G.711, 48000 for Opus);
  /// values < 1 are taken as 8000.
  explicit RtpStats(int clock_rate_hz);

  /// Accounts one received packet. `arrival_s`: monotonic arrival time, seconds.
  Arrival OnPacket(uint16_t seq, uint32_t rtp_timestamp, double arrival_s);

  /// The receiver report fields now, and starts a new interval for fraction_lost.
  ReportBlock MakeReportBlock();

  /// True once probation passed (packets are being counted).
  bool valid() const { return started_ && probation_ == 0; }
  int64_t received() const { return counts_.received; }
  /// 0 until the source is valid.
  int64_t expected() const { return valid() ? ExtendedMax() - base_seq_ + 1 : 0; }
  /// RFC 3550 cumulative loss: expected - received. Negative when duplicates outnumber losses.
  int64_t lost() const { return expected() - received(); }
  int64_t duplicates() const { return counts_.duplicates; }
  int64_t reordered() const { return counts_.reordered; }
  /// Losses that can no longer be undone by a late packet; never decreases (until a restart).
  int64_t settled_lost() const { return counts_.settled_lost; }
  Counts counts() const;
  uint32_t extended_highest_seq() const { return static_cast<uint32_t>(ExtendedMax()); }
  /// Interarrival jitter in RTP timestamp units and in seconds.
  double jitter_ts() const { return jitter_ts_; }
  double jitter_s() const { return jitter_ts_ / clock_rate_hz_; }
  int clock_rate_hz() const { return clock_rate_hz_; }

 private:
  static constexpr int64_t kSeqMod = 1 << 16;
  // Bits of recently received extended sequence numbers. Larger than kMaxDropout + kMaxMisorder so
  // that a forward gap never wraps onto bits that a late packet could still look up.
  static constexpr int kHistoryBits = 4096;

  int64_t ExtendedMax() const { return cycles_ + max_seq_; }
  // RFC 3550 init_seq(), plus resetting what this class adds.
  void InitSeq(uint16_t seq);
  // Moves the highest extended sequence number forward to `new_max`, settling the sequence
  // numbers that fall kMaxMisorder behind and clearing their history bits for reuse.
  void Advance(int64_t new_max);
  bool Seen(int64_t ext) const;
  void Mark(int64_t ext);
  void UpdateJitter(uint32_t rtp_timestamp, double arrival_s);

  int clock_rate_hz_;
  bool started_ = false;
  uint16_t max_seq_ = 0;
  int64_t cycles_ = 0;              // multiples of 2^16
  int64_t base_seq_ = 0;            // first counted extended sequence number
  uint32_t bad_seq_ = kSeqMod + 1;  // sequence number that confirms a large jump
  int probation_ = 0;
  Counts counts_;
  int64_t expected_prior_ = 0;
  int64_t received_prior_ = 0;
  bool have_transit_ = false;
  uint32_t transit_ = 0;  // relative transit time of the previous packet, timestamp units
  double jitter_ts_ = 0.0;
  std::array<uint64_t, kHistoryBits / 64> history_{};
};

}  // namespace voxgate::analytics
