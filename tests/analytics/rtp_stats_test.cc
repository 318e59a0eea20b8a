#include "analytics/rtp_stats.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace voxgate::analytics {
namespace {

using Arrival = RtpStats::Arrival;

// A G.711 sender: 20 ms packets, 160 timestamp units each, sent on time. Packet `index` carries
// sequence number (first_seq + index) mod 2^16 and arrives at index * 20 ms plus a deviation.
struct Sender {
  uint16_t first_seq = 0;
  uint32_t first_ts = 1000;

  uint16_t Seq(int64_t index) const { return static_cast<uint16_t>(first_seq + index); }
  uint32_t Ts(int64_t index) const { return static_cast<uint32_t>(first_ts + 160 * index); }
  double At(int64_t index) const { return 0.02 * static_cast<double>(index); }
  Arrival Send(RtpStats& stats, int64_t index, double deviation_s = 0.0) const {
    return stats.OnPacket(Seq(index), Ts(index), At(index) + deviation_s);
  }
};

TEST(RtpStatsTest, NewSourceIsOnProbationThenCountsInOrderPackets) {
  RtpStats stats(8000);
  Sender s{.first_seq = 100};
  EXPECT_FALSE(stats.valid());
  EXPECT_EQ(s.Send(stats, 0), Arrival::kProbation);
  EXPECT_FALSE(stats.valid());
  EXPECT_EQ(stats.expected(), 0);
  EXPECT_EQ(stats.received(), 0);
  EXPECT_EQ(s.Send(stats, 1), Arrival::kInOrder);
  EXPECT_TRUE(stats.valid());
  for (int i = 2; i < 50; ++i) EXPECT_EQ(s.Send(stats, i), Arrival::kInOrder) << i;
  // RFC 3550 A.1 counts from the packet that ends probation: 49 packets, 101..149.
  EXPECT_EQ(stats.received(), 49);
  EXPECT_EQ(stats.expected(), 49);
  EXPECT_EQ(stats.lost(), 0);
  EXPECT_EQ(stats.extended_highest_seq(), 149u);
  EXPECT_EQ(stats.duplicates(), 0);
  EXPECT_EQ(stats.reordered(), 0);
}

TEST(RtpStatsTest, ProbationRestartsWhenTheFirstPacketsAreNotInSequence) {
  RtpStats stats(8000);
  EXPECT_EQ(stats.OnPacket(10, 0, 0.0), Arrival::kProbation);
  EXPECT_EQ(stats.OnPacket(500, 160, 0.02), Arrival::kProbation);  // not 11: probation again
  EXPECT_FALSE(stats.valid());
  EXPECT_EQ(stats.OnPacket(501, 320, 0.04), Arrival::kInOrder);
  EXPECT_TRUE(stats.valid());
  EXPECT_EQ(stats.expected(), 1);
}

TEST(RtpStatsTest, SequenceZeroAtStartExpectsNothingBeforeValidation) {
  RtpStats stats(8000);
  EXPECT_EQ(stats.OnPacket(0, 0, 0.0), Arrival::kProbation);
  EXPECT_EQ(stats.expected(), 0);
  EXPECT_EQ(stats.lost(), 0);
  RtpStats::ReportBlock block = stats.MakeReportBlock();
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 0);
}

TEST(RtpStatsTest, WrapsAroundAt65535) {
  RtpStats stats(8000);
  Sender s{.first_seq = 65530};
  for (int i = 0; i < 16; ++i) EXPECT_NE(s.Send(stats, i), Arrival::kRestart) << i;
  // Sequence numbers 65531..65535 and 0..9 were counted (65530 was the probation packet).
  EXPECT_EQ(stats.received(), 15);
  EXPECT_EQ(stats.expected(), 15);
  EXPECT_EQ(stats.lost(), 0);
  EXPECT_EQ(stats.extended_highest_seq(), 65536u + 9u);
  // Several more cycles.
  for (int i = 16; i < 16 + 3 * 65536; ++i) s.Send(stats, i);
  EXPECT_EQ(stats.extended_highest_seq(), 4u * 65536u + 9u);
  EXPECT_EQ(stats.expected(), 15 + 3 * 65536);
  EXPECT_EQ(stats.lost(), 0);
}

TEST(RtpStatsTest, CountsGapsAsLoss) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 100; ++i) {
    if (i == 5 || i == 6 || i == 20) continue;
    s.Send(stats, i);
  }
  EXPECT_EQ(stats.expected(), 99);  // 1..99
  EXPECT_EQ(stats.received(), 96);
  EXPECT_EQ(stats.lost(), 3);
}

TEST(RtpStatsTest, LossAcrossTheWrap) {
  RtpStats stats(8000);
  Sender s{.first_seq = 65500};
  for (int i = 0; i < 100; ++i) {
    if (s.Seq(i) >= 65534 || s.Seq(i) <= 1) continue;  // 65534, 65535, 0, 1 lost
    s.Send(stats, i);
  }
  EXPECT_EQ(stats.expected(), 99);
  EXPECT_EQ(stats.lost(), 4);
}

TEST(RtpStatsTest, TellsDuplicatesFromReorderedPackets) {
  RtpStats stats(8000);
  Sender s;
  // 0 (probation), 1, 2, 4, 3, 5, 5, 3, 6
  EXPECT_EQ(s.Send(stats, 0), Arrival::kProbation);
  EXPECT_EQ(s.Send(stats, 1), Arrival::kInOrder);
  EXPECT_EQ(s.Send(stats, 2), Arrival::kInOrder);
  EXPECT_EQ(s.Send(stats, 4), Arrival::kInOrder);
  EXPECT_EQ(stats.lost(), 1);  // 3 is missing for now
  EXPECT_EQ(s.Send(stats, 3), Arrival::kReordered);
  EXPECT_EQ(stats.lost(), 0);  // it was late, not lost
  EXPECT_EQ(s.Send(stats, 5), Arrival::kInOrder);
  EXPECT_EQ(s.Send(stats, 5), Arrival::kDuplicate);  // the highest again
  EXPECT_EQ(s.Send(stats, 3), Arrival::kDuplicate);  // an older one again
  EXPECT_EQ(s.Send(stats, 6), Arrival::kInOrder);
  EXPECT_EQ(stats.reordered(), 1);
  EXPECT_EQ(stats.duplicates(), 2);
  EXPECT_EQ(stats.expected(), 6);  // 1..6
  EXPECT_EQ(stats.received(), 8);  // RFC 3550 counts duplicates as received...
  EXPECT_EQ(stats.lost(), -2);     // ...so the cumulative loss goes negative
  EXPECT_EQ(stats.MakeReportBlock().cumulative_lost, -2);
}

TEST(RtpStatsTest, ReorderingAcrossTheWrap) {
  RtpStats stats(8000);
  EXPECT_EQ(stats.OnPacket(65533, 0, 0.0), Arrival::kProbation);
  EXPECT_EQ(stats.OnPacket(65534, 160, 0.02), Arrival::kInOrder);
  EXPECT_EQ(stats.OnPacket(0, 480, 0.04), Arrival::kInOrder);  // 65535 late
  EXPECT_EQ(stats.OnPacket(65535, 320, 0.05), Arrival::kReordered);
  EXPECT_EQ(stats.OnPacket(65535, 320, 0.06), Arrival::kDuplicate);
  EXPECT_EQ(stats.OnPacket(1, 640, 0.08), Arrival::kInOrder);
  EXPECT_EQ(stats.expected(), 4);
  EXPECT_EQ(stats.lost(), -1);
  EXPECT_EQ(stats.reordered(), 1);
  EXPECT_EQ(stats.duplicates(), 1);
  EXPECT_EQ(stats.extended_highest_seq(), 65537u);
}

TEST(RtpStatsTest, PacketTooLateIsTakenForAJumpAndNotCounted) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 300; ++i) s.Send(stats, i);
  const int64_t received = stats.received();
  // 150 behind the highest: more than kMaxMisorder, so RFC 3550 sees a large jump.
  EXPECT_EQ(s.Send(stats, 149), Arrival::kBadJump);
  EXPECT_EQ(stats.received(), received);
  // The stream goes on undisturbed.
  EXPECT_EQ(s.Send(stats, 300), Arrival::kInOrder);
  EXPECT_EQ(stats.received(), received + 1);
  EXPECT_EQ(stats.lost(), 0);
}

TEST(RtpStatsTest, ConfirmedLargeJumpRestartsTheCounts) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 50; ++i) {
    if (i == 10) continue;
    s.Send(stats, i);
  }
  EXPECT_EQ(stats.lost(), 1);
  EXPECT_EQ(stats.OnPacket(40000, 9000, 1.0), Arrival::kBadJump);
  EXPECT_EQ(stats.OnPacket(40001, 9160, 1.02), Arrival::kRestart);
  EXPECT_EQ(stats.received(), 1);
  EXPECT_EQ(stats.expected(), 1);
  EXPECT_EQ(stats.lost(), 0);
  EXPECT_EQ(stats.OnPacket(40002, 9320, 1.04), Arrival::kInOrder);
  EXPECT_EQ(stats.expected(), 2);
  EXPECT_EQ(stats.extended_highest_seq(), 40002u);
}

TEST(RtpStatsTest, GapJustBelowMaxDropoutIsLoss) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 10; ++i) s.Send(stats, i);
  EXPECT_EQ(s.Send(stats, 9 + RtpStats::kMaxDropout - 1), Arrival::kInOrder);
  EXPECT_EQ(stats.lost(), RtpStats::kMaxDropout - 2);
  // A jump of exactly kMaxDropout is a large jump.
  EXPECT_EQ(s.Send(stats, 9 + 2 * RtpStats::kMaxDropout - 1), Arrival::kBadJump);
}

TEST(RtpStatsTest, ReportBlockFractionLostPerInterval) {
  RtpStats stats(8000);
  Sender s;
  s.Send(stats, 0);  // probation
  // Interval 1: sequence 1..100, 10 lost (5, 15, ..., 95).
  for (int i = 1; i <= 100; ++i) {
    if (i % 10 == 5) continue;
    s.Send(stats, i);
  }
  RtpStats::ReportBlock b1 = stats.MakeReportBlock();
  EXPECT_EQ(b1.fraction_lost, (10 << 8) / 100);  // 25
  EXPECT_EQ(b1.cumulative_lost, 10);
  EXPECT_EQ(b1.extended_highest_seq, 100u);
  // Interval 2: 101..200 all received.
  for (int i = 101; i <= 200; ++i) s.Send(stats, i);
  RtpStats::ReportBlock b2 = stats.MakeReportBlock();
  EXPECT_EQ(b2.fraction_lost, 0);
  EXPECT_EQ(b2.cumulative_lost, 10);
  EXPECT_EQ(b2.extended_highest_seq, 200u);
  // Interval 3: nothing new.
  EXPECT_EQ(stats.MakeReportBlock().fraction_lost, 0);
  // Interval 4: half lost.
  for (int i = 201; i <= 300; i += 2) s.Send(stats, i);
  RtpStats::ReportBlock b4 = stats.MakeReportBlock();
  EXPECT_EQ(b4.fraction_lost, (49 << 8) / 99);  // 201..299 expected, 49 of them lost
  EXPECT_EQ(b4.cumulative_lost, 10 + 49);
}

TEST(RtpStatsTest, CumulativeLostClampsTo24BitSigned) {
  RtpStats stats(8000);
  uint16_t seq = 0;
  stats.OnPacket(seq, 0, 0.0);
  stats.OnPacket(++seq, 0, 0.0);
  // Jumps of kMaxDropout - 1 lose kMaxDropout - 2 packets each.
  int64_t jumps = 0x800000 / (RtpStats::kMaxDropout - 2) + 10;
  for (int64_t j = 0; j < jumps; ++j) {
    seq = static_cast<uint16_t>(seq + RtpStats::kMaxDropout - 1);
    ASSERT_EQ(stats.OnPacket(seq, 0, 0.0), Arrival::kInOrder);
  }
  EXPECT_GT(stats.lost(), 0x7fffff);
  EXPECT_EQ(stats.MakeReportBlock().cumulative_lost, 0x7fffff);
}

TEST(RtpStatsTest, JitterConvergesToTheTransitVariation) {
  RtpStats stats(8000);
  Sender s;
  // Arrivals alternate 10 ms early and 10 ms late: every transit difference is 20 ms, and the
  // A.8 estimator J += (|D| - J) / 16 converges to |D| = 20 ms = 160 units at 8 kHz.
  for (int i = 0; i < 400; ++i) s.Send(stats, i, i % 2 == 0 ? 0.010 : -0.010);
  EXPECT_NEAR(stats.jitter_ts(), 160.0, 0.5);
  EXPECT_NEAR(stats.jitter_s(), 0.020, 0.0001);
  EXPECT_NEAR(stats.MakeReportBlock().jitter, 160u, 1u);
}

TEST(RtpStatsTest, JitterAfterFewPacketsFollowsTheRecursion) {
  RtpStats stats(8000);
  Sender s;
  // The counted packets start at index 1; each later one contributes |D| = 160.
  for (int i = 0; i < 5; ++i) s.Send(stats, i, i % 2 == 0 ? 0.010 : -0.010);
  double expected = 0.0;
  for (int k = 0; k < 3; ++k) expected += (160.0 - expected) / 16.0;
  EXPECT_NEAR(stats.jitter_ts(), expected, 1e-9);
}

TEST(RtpStatsTest, ConstantDelayHasNoJitterEvenAcrossTimestampWrap) {
  RtpStats stats(48000);
  // Opus at 48 kHz, 20 ms = 960 units, timestamps wrapping past 2^32, 73 ms constant delay.
  const uint32_t ts0 = 0xffffffffu - 960u * 5u;
  for (int i = 0; i < 50; ++i) {
    stats.OnPacket(static_cast<uint16_t>(7 + i), ts0 + 960u * static_cast<uint32_t>(i),
                   1000.0 + 0.073 + 0.02 * i);
  }
  EXPECT_LT(stats.jitter_ts(), 1.0);
  EXPECT_EQ(stats.lost(), 0);
}

TEST(RtpStatsTest, JitterInSecondsUsesTheClockRate) {
  RtpStats stats(16000);
  for (int i = 0; i < 400; ++i) {
    stats.OnPacket(static_cast<uint16_t>(i), 320u * static_cast<uint32_t>(i),
                   0.02 * i + (i % 2 == 0 ? 0.005 : -0.005));
  }
  EXPECT_NEAR(stats.jitter_ts(), 160.0, 0.5);  // 10 ms at 16 kHz
  EXPECT_NEAR(stats.jitter_s(), 0.010, 0.0001);
}

TEST(RtpStatsTest, DuplicatesDoNotFeedJitter) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 20; ++i) s.Send(stats, i);
  // A retransmitted copy of packet 10 arriving one second late.
  EXPECT_EQ(stats.OnPacket(s.Seq(10), s.Ts(10), s.At(19) + 1.0), Arrival::kDuplicate);
  EXPECT_EQ(stats.jitter_ts(), 0.0);
}

TEST(RtpStatsTest, SettledLossWaitsUntilALatePacketCanNoLongerArrive) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i <= 10; ++i) s.Send(stats, i);
  // 11, 12, 13 missing.
  for (int i = 14; i < 14 + RtpStats::kMaxMisorder - 5; ++i) s.Send(stats, i);
  EXPECT_EQ(stats.lost(), 3);
  EXPECT_EQ(stats.settled_lost(), 0);  // they could still come
  EXPECT_EQ(s.Send(stats, 12), Arrival::kReordered);
  EXPECT_EQ(stats.lost(), 2);
  for (int i = 14 + RtpStats::kMaxMisorder - 5; i < 300; ++i) s.Send(stats, i);
  EXPECT_EQ(stats.settled_lost(), 2);
  EXPECT_EQ(stats.lost(), 2);
}

TEST(RtpStatsTest, SettledLossCountsABigGapOnce) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 10; ++i) s.Send(stats, i);
  s.Send(stats, 2009);  // 2000 lost
  EXPECT_EQ(stats.lost(), 1999);
  // Everything up to 2009 - kMaxMisorder is settled at once.
  EXPECT_EQ(stats.settled_lost(), 1999 - (RtpStats::kMaxMisorder - 1));
  for (int i = 2010; i < 2200; ++i) s.Send(stats, i);
  EXPECT_EQ(stats.settled_lost(), 1999);
  EXPECT_EQ(stats.lost(), 1999);
}

TEST(RtpStatsTest, CountsReflectTheAccessors) {
  RtpStats stats(8000);
  Sender s;
  for (int i = 0; i < 30; ++i) {
    if (i == 7) continue;
    s.Send(stats, i);
  }
  s.Send(stats, 29);
  RtpStats::Counts c = stats.counts();
  EXPECT_EQ(c.received, stats.received());
  EXPECT_EQ(c.expected, stats.expected());
  EXPECT_EQ(c.duplicates, 1);
  EXPECT_EQ(c.reordered, 0);
  EXPECT_EQ(c.expected, 29);
  EXPECT_EQ(c.received, 29);  // 28 unique + 1 duplicate
}

}  // namespace
}  // namespace voxgate::analytics
