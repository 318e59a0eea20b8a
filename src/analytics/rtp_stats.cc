#include "analytics/rtp_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace voxgate::analytics {

RtpStats::RtpStats(int clock_rate_hz) : clock_rate_hz_(clock_rate_hz >= 1 ? clock_rate_hz : 8000) {}

void RtpStats::InitSeq(uint16_t seq) {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = kSeqMod + 1;  // so that seq == bad_seq_ is false
  cycles_ = 0;
  counts_ = Counts{};
  expected_prior_ = 0;
  received_prior_ = 0;
  // The timestamp base may change with the sequence (a restarted sender), so the previous transit
  // is meaningless; the jitter estimate itself describes the network and is kept.
  have_transit_ = false;
  history_.fill(0);
}

RtpStats::Counts RtpStats::counts() const {
  Counts c = counts_;
  c.expected = expected();
  return c;
}

bool RtpStats::Seen(int64_t ext) const {
  const int64_t slot = ext & (kHistoryBits - 1);
  return (history_[slot / 64] >> (slot % 64)) & 1;
}

void RtpStats::Mark(int64_t ext) {
  const int64_t slot = ext & (kHistoryBits - 1);
  history_[slot / 64] |= uint64_t{1} << (slot % 64);
}

void RtpStats::Advance(int64_t new_max) {
  const int64_t old_max = ExtendedMax();
  // Sequence numbers in (old_max - kMaxMisorder, new_max - kMaxMisorder] can no longer arrive
  // (they would be taken for a large jump), so a missing one is lost for good.
  for (int64_t s = std::max(old_max - kMaxMisorder + 1, base_seq_); s <= new_max - kMaxMisorder;
       ++s) {
    if (s > old_max || !Seen(s)) ++counts_.settled_lost;
  }
  for (int64_t s = old_max + 1; s <= new_max; ++s) {
    const int64_t slot = s & (kHistoryBits - 1);
    history_[slot / 64] &= ~(uint64_t{1} << (slot % 64));
  }
}

void RtpStats::UpdateJitter(uint32_t rtp_timestamp, double arrival_s) {
  if (!std::isfinite(arrival_s)) return;
  // RFC 3550 A.8 in timestamp units; unsigned wrap-around makes the difference right across a
  // timestamp wrap, and the first packet only sets the reference.
  const auto arrival_ts =
      static_cast<uint32_t>(static_cast<uint64_t>(std::llround(arrival_s * clock_rate_hz_)));
  const uint32_t transit = arrival_ts - rtp_timestamp;
  if (have_transit_) {
    const auto d = static_cast<int32_t>(transit - transit_);
    jitter_ts_ += (std::abs(static_cast<double>(d)) - jitter_ts_) / 16.0;
  }
  transit_ = transit;
  have_transit_ = true;
}

RtpStats::Arrival RtpStats::OnPacket(uint16_t seq, uint32_t rtp_timestamp, double arrival_s) {
  if (!started_) {
    // A new source: RFC 3550 A.1 puts it on probation until kMinSequential packets follow.
    InitSeq(seq);
    max_seq_ = static_cast<uint16_t>(seq - 1);
    probation_ = kMinSequential;
    started_ = true;
  }
  const auto udelta = static_cast<uint16_t>(seq - max_seq_);

  if (probation_ > 0) {
    if (seq == static_cast<uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ == 0) {
        InitSeq(seq);
        counts_.received = 1;
        Mark(ExtendedMax());
        UpdateJitter(rtp_timestamp, arrival_s);
        return Arrival::kInOrder;
      }
    } else {
      probation_ = kMinSequential - 1;
      max_seq_ = seq;
    }
    return Arrival::kProbation;
  }

  Arrival arrival;
  if (udelta == 0) {
    // The highest packet again. RFC 3550 counts it as received (hence negative loss is possible).
    arrival = Arrival::kDuplicate;
    ++counts_.duplicates;
  } else if (udelta < kMaxDropout) {
    // In order, with a permissible gap.
    int64_t new_max = ExtendedMax() + udelta;
    Advance(new_max);
    if (seq < max_seq_) cycles_ += kSeqMod;
    max_seq_ = seq;
    Mark(new_max);
    arrival = Arrival::kInOrder;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A very large jump: a restarted sender, or a stray packet. Believe it only when the next
    // packet follows it.
    if (seq != bad_seq_) {
      bad_seq_ = (seq + 1) & (kSeqMod - 1);
      return Arrival::kBadJump;
    }
    InitSeq(seq);
    counts_.received = 1;
    Mark(ExtendedMax());
    UpdateJitter(rtp_timestamp, arrival_s);
    return Arrival::kRestart;
  } else {
    // Late: behind the highest by fewer than kMaxMisorder.
    const int64_t ext = ExtendedMax() - (kSeqMod - udelta);
    if (ext >= base_seq_ && Seen(ext)) {
      arrival = Arrival::kDuplicate;
      ++counts_.duplicates;
    } else {
      arrival = Arrival::kReordered;
      ++counts_.reordered;
      if (ext >= base_seq_) Mark(ext);
    }
  }
  ++counts_.received;
  // A duplicate says nothing new about network transit (a retransmission would even look like a
  // huge delay), so it does not feed the jitter estimate.
  if (arrival != Arrival::kDuplicate) UpdateJitter(rtp_timestamp, arrival_s);
  return arrival;
}

RtpStats::ReportBlock RtpStats::MakeReportBlock() {
  ReportBlock block;
  block.extended_highest_seq = extended_highest_seq();
  block.jitter = static_cast<uint32_t>(jitter_ts_);
  if (!valid()) return block;

  // RFC 3550 A.3.
  const int64_t expected_now = expected();
  const int64_t lost_total = expected_now - counts_.received;
  block.cumulative_lost =
      static_cast<int32_t>(std::clamp<int64_t>(lost_total, -0x800000, 0x7fffff));
  const int64_t expected_interval = expected_now - expected_prior_;
  const int64_t received_interval = counts_.received - received_prior_;
  expected_prior_ = expected_now;
  received_prior_ = counts_.received;
  const int64_t lost_interval = expected_interval - received_interval;
  if (expected_interval > 0 && lost_interval > 0) {
    block.fraction_lost =
        static_cast<uint8_t>(std::min<int64_t>(255, (lost_interval << 8) / expected_interval));
  }
  return block;
}

}  // namespace voxgate::analytics
