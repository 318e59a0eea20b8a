#include "telephony/jitter_buffer.h"

#include <gtest/gtest.h>
#include <speex/speex_jitter.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "alloc_counter.h"

namespace voxgate::telephony {
namespace {

using GetStatus = JitterBuffer::GetStatus;
using PutResult = JitterBuffer::PutResult;

constexpr int kRate = 8000;
constexpr uint32_t kStep = 160;  // 20 ms at 8 kHz

// Deterministic uniform [0, 1) (std distributions differ between standard libraries).
struct Rng {
  uint64_t state;
  double Uniform() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  }
};

struct Packet {
  uint16_t seq = 0;
  uint32_t ts = 0;
  double arrival_ms = 0;
};

constexpr double kLost = -1e9;

// Packet k is sent at 20k ms with ts0 + 160k; `delay_ms(k)` is its network delay or kLost.
template <typename DelayFn>
std::vector<Packet> Stream(int n, uint32_t ts0, uint16_t seq0, DelayFn delay_ms) {
  std::vector<Packet> out;
  for (int k = 0; k < n; ++k) {
    const double d = delay_ms(k);
    if (d == kLost) continue;
    out.push_back(
        {static_cast<uint16_t>(seq0 + k), ts0 + kStep * static_cast<uint32_t>(k), 20.0 * k + d});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Packet& a, const Packet& b) { return a.arrival_ms < b.arrival_ms; });
  return out;
}

struct Tick {
  JitterBuffer::GetResult result;
  uint16_t payload_seq = 0;  // decoded from the payload (kPacket)
};

struct SimRun {
  std::vector<Tick> ticks;
  std::vector<PutResult> puts;  // in arrival order
  int max_delay_seen_ms = 0;

  std::vector<uint16_t> PlayedSeqs() const {
    std::vector<uint16_t> s;
    for (const Tick& t : ticks) {
      if (t.result.status == GetStatus::kPacket) s.push_back(t.result.sequence);
    }
    return s;
  }
};

// The payload carries its sequence number and a 160-byte body, like a G.711 frame.
std::array<uint8_t, 160> Payload(uint16_t seq) {
  std::array<uint8_t, 160> p{};
  p[0] = static_cast<uint8_t>(seq >> 8);
  p[1] = static_cast<uint8_t>(seq);
  for (size_t i = 2; i < p.size(); ++i) p[i] = static_cast<uint8_t>(seq + i);
  return p;
}

// Ticks every 20 ms at 20j + 10 ms; before each Get, every packet that has arrived is Put.
SimRun Simulate(JitterBuffer& jb, const std::vector<Packet>& packets, int num_ticks) {
  SimRun run;
  size_t next = 0;
  std::array<uint8_t, 1500> out{};
  for (int j = 0; j < num_ticks; ++j) {
    const double now = 20.0 * j + 10.0;
    for (; next < packets.size() && packets[next].arrival_ms <= now; ++next) {
      const Packet& p = packets[next];
      run.puts.push_back(jb.Put(Payload(p.seq), p.ts, kRate, p.seq));
    }
    Tick t;
    t.result = jb.Get(out);
    if (t.result.status == GetStatus::kPacket) {
      EXPECT_EQ(t.result.length, 160u);
      t.payload_seq = static_cast<uint16_t>(out[0] << 8 | out[1]);
      EXPECT_EQ(out[100], static_cast<uint8_t>(t.payload_seq + 100));
    }
    run.max_delay_seen_ms = std::max(run.max_delay_seen_ms, jb.current_delay_ms());
    run.ticks.push_back(t);
  }
  return run;
}

std::unique_ptr<JitterBuffer> Make(JitterBufferConfig config = {}) {
  auto jb = JitterBuffer::Create(config);
  EXPECT_TRUE(jb.ok()) << jb.status().ToString();
  return std::move(jb).value();
}

// The ticks from the first kPacket to the last one.
std::vector<Tick> Playout(const SimRun& run) {
  auto first = std::find_if(run.ticks.begin(), run.ticks.end(),
                            [](const Tick& t) { return t.result.status == GetStatus::kPacket; });
  auto last = std::find_if(run.ticks.rbegin(), run.ticks.rend(), [](const Tick& t) {
                return t.result.status == GetStatus::kPacket;
              }).base();
  return first < last ? std::vector<Tick>(first, last) : std::vector<Tick>{};
}

TEST(JitterBufferTest, InOrderStreamPlaysEveryPacketAfterTheInitialDelay) {
  auto jb = Make();
  const uint32_t ts0 = 123456;
  const SimRun run = Simulate(*jb, Stream(100, ts0, 1000, [](int) { return 5.0; }), 120);
  // Nothing before the first packet arrives (tick 0 at 10 ms sees packet 0 at 5 ms), then two
  // more ticks of the 40 ms fill, then every packet in order with no gap.
  ASSERT_GE(run.ticks.size(), 3u);
  EXPECT_EQ(run.ticks[0].result.status, GetStatus::kNothing);
  EXPECT_EQ(run.ticks[1].result.status, GetStatus::kNothing);
  EXPECT_EQ(run.ticks[2].result.status, GetStatus::kPacket);
  const std::vector<Tick> playout = Playout(run);
  ASSERT_EQ(playout.size(), 100u);
  for (int k = 0; k < 100; ++k) {
    EXPECT_EQ(playout[k].result.status, GetStatus::kPacket);
    EXPECT_EQ(playout[k].result.sequence, 1000 + k);
    EXPECT_EQ(playout[k].payload_seq, 1000 + k);
    EXPECT_EQ(playout[k].result.timestamp, ts0 + kStep * k);
  }
  const auto st = jb->stats();
  EXPECT_EQ(st.received, 100);
  EXPECT_EQ(st.played, 100);
  EXPECT_EQ(st.late, 0);
  EXPECT_EQ(st.inserted, 0);
  EXPECT_EQ(run.max_delay_seen_ms, 40);
  // After the sender stops, each tick is a missing slot to conceal.
  EXPECT_EQ(run.ticks.back().result.status, GetStatus::kMissing);
}

TEST(JitterBufferTest, NothingBeforeTheFirstPacket) {
  auto jb = Make();
  std::array<uint8_t, 1500> out{};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(jb->Get(out).status, GetStatus::kNothing);
  EXPECT_EQ(jb->current_delay_ms(), 0);
}

TEST(JitterBufferTest, ReorderedPacketsAreResequenced) {
  auto jb = Make();
  // Each even packet arrives one frame late, after the odd one sent 20 ms after it.
  const SimRun run =
      Simulate(*jb, Stream(200, 5000, 7, [](int k) { return k % 2 == 0 ? 25.0 : 1.0; }), 220);
  const std::vector<Tick> playout = Playout(run);
  ASSERT_EQ(playout.size(), 200u);
  for (int k = 0; k < 200; ++k) {
    EXPECT_EQ(playout[k].result.status, GetStatus::kPacket);
    EXPECT_EQ(playout[k].result.sequence, 7 + k);
  }
  EXPECT_EQ(jb->stats().late, 0);
}

TEST(JitterBufferTest, LostPacketGivesExactlyOneMissingAtItsSlot) {
  auto jb = Make();
  const uint32_t ts0 = 900;
  const SimRun run =
      Simulate(*jb, Stream(100, ts0, 0, [](int k) { return k == 50 ? kLost : 3.0; }), 110);
  const std::vector<Tick> playout = Playout(run);
  ASSERT_EQ(playout.size(), 100u);
  for (int k = 0; k < 100; ++k) {
    if (k == 50) {
      EXPECT_EQ(playout[k].result.status, GetStatus::kMissing);
      EXPECT_FALSE(playout[k].result.inserted);
      EXPECT_EQ(playout[k].result.timestamp, ts0 + 50 * kStep);
    } else {
      EXPECT_EQ(playout[k].result.status, GetStatus::kPacket) << k;
      EXPECT_EQ(playout[k].result.sequence, k);
    }
  }
}

TEST(JitterBufferTest, VeryLatePacketIsCountedAndDropped) {
  auto jb = Make();
  const SimRun run =
      Simulate(*jb, Stream(100, 0, 0, [](int k) { return k == 30 ? 500.0 : 3.0; }), 110);
  // Packet 30 arrived 500 ms late, long after its slot was concealed.
  const auto late_put = std::find(run.puts.begin(), run.puts.end(), PutResult::kLate);
  ASSERT_NE(late_put, run.puts.end());
  EXPECT_EQ(std::count(run.puts.begin(), run.puts.end(), PutResult::kLate), 1);
  EXPECT_EQ(jb->stats().late, 1);
  const std::vector<Tick> playout = Playout(run);
  ASSERT_EQ(playout.size(), 100u);  // and it did not make the buffer insert delay
  for (int k = 0; k < 100; ++k) {
    if (k == 30) {
      EXPECT_EQ(playout[k].result.status, GetStatus::kMissing);
      EXPECT_EQ(playout[k].result.timestamp, 30 * kStep);
    } else {
      EXPECT_EQ(playout[k].result.sequence, k);
    }
  }
  EXPECT_EQ(jb->stats().inserted, 0);
}

// 60 ms of uniform network jitter (packets overtake each other) and 10 % random loss.
std::vector<Packet> JitteryLossyStream(int n, uint64_t seed, std::vector<bool>* lost) {
  Rng rng{seed};
  lost->assign(n, false);
  return Stream(n, 0xFFFF0000u, 60000, [&](int k) {  // timestamps and sequence numbers wrap
    const bool drop = rng.Uniform() < 0.10;
    const double delay = 60.0 * rng.Uniform();
    (*lost)[k] = drop;
    return drop ? kLost : delay;
  });
}

TEST(JitterBufferTest, JitterAndLossWithEnoughMarginPlaysEveryReceivedPacketInOrder) {
  JitterBufferConfig config;
  config.min_delay_ms = 80;  // covers the 60 ms jitter from the first packet on
  auto jb = Make(config);
  std::vector<bool> lost;
  const std::vector<Packet> packets = JitteryLossyStream(1000, 42, &lost);
  const SimRun run = Simulate(*jb, packets, 1100);
  // Every received packet exactly once, in sending order.
  std::vector<uint16_t> expected;
  for (int k = 0; k < 1000; ++k) {
    if (!lost[k]) expected.push_back(static_cast<uint16_t>(60000 + k));
  }
  const std::vector<uint16_t> played = run.PlayedSeqs();
  // The stream's trailing losses are not in the playout range; compare the received ones.
  EXPECT_EQ(played, expected);
  // Each lost slot inside the playout is one kMissing at its timestamp.
  const std::vector<Tick> playout = Playout(run);
  size_t missing_at_lost = 0;
  for (const Tick& t : playout) {
    if (t.result.status != GetStatus::kMissing || t.result.inserted) continue;
    const int k = static_cast<int>((t.result.timestamp - 0xFFFF0000u) / kStep);
    ASSERT_TRUE(k >= 0 && k < 1000 && lost[k]) << "missing at a received slot " << k;
    ++missing_at_lost;
  }
  const size_t lost_inside =
      std::count(lost.begin() + (60000 - 60000), lost.begin() + (played.back() - 60000), true);
  EXPECT_EQ(missing_at_lost, lost_inside);
  EXPECT_EQ(jb->stats().late, 0);
  EXPECT_LE(run.max_delay_seen_ms, config.max_delay_ms);
}

TEST(JitterBufferTest, JitterAndLossWithDefaultsAdaptsAndStaysInOrder) {
  auto jb = Make();  // 40 ms: less than the jitter, so the buffer must grow its delay
  std::vector<bool> lost;
  const std::vector<Packet> packets = JitteryLossyStream(3000, 7, &lost);
  const SimRun run = Simulate(*jb, packets, 3100);
  const std::vector<uint16_t> played = run.PlayedSeqs();
  // In order, each at most once.
  for (size_t i = 1; i < played.size(); ++i) {
    EXPECT_GT(static_cast<uint16_t>(played[i] - played[i - 1]), 0) << i;
    EXPECT_LT(static_cast<uint16_t>(played[i] - played[i - 1]), 100) << i;
  }
  const auto st = jb->stats();
  EXPECT_EQ(st.played + st.late + st.overflow_drops + st.shrink_drops, st.received);
  EXPECT_EQ(st.received, static_cast<int64_t>(packets.size()));
  // The delay grows to cover the jitter within the first packets: at most 1 % arrive late.
  EXPECT_LE(st.late, st.received / 100) << st.late << " late of " << st.received;
  EXPECT_GT(st.inserted, 0);  // it did grow the delay
  EXPECT_LE(run.max_delay_seen_ms, 200);
}

TEST(JitterBufferTest, BurstBeyondMaxDelayIsTrimmed) {
  auto jb = Make();
  // The first 30 packets (600 ms) arrive together (held up on the way), then the stream runs in
  // real time: without trimming, the whole call would be 600 ms behind.
  const SimRun run =
      Simulate(*jb, Stream(100, 0, 0, [](int k) { return k < 30 ? 600.0 - 20.0 * k : 1.0; }), 120);
  EXPECT_LE(run.max_delay_seen_ms, 200);
  const auto st = jb->stats();
  EXPECT_GT(st.overflow_drops, 0);
  EXPECT_EQ(st.played + st.overflow_drops + st.late + st.shrink_drops, 100);
  // Once everything arrives early by far more than the margin, speexdsp shrinks the delay too.
  EXPECT_LE(jb->current_delay_ms(), 60);
  const std::vector<uint16_t> played = run.PlayedSeqs();
  ASSERT_FALSE(played.empty());
  for (size_t i = 1; i < played.size(); ++i) EXPECT_GT(played[i], played[i - 1]);
  EXPECT_EQ(played.back(), 99);
}

TEST(JitterBufferTest, FullBufferDropsNewPackets) {
  JitterBufferConfig config;
  config.max_packets = 4;
  auto jb = Make(config);
  int queued = 0, overflow = 0;
  for (uint16_t k = 0; k < 10; ++k) {
    const PutResult r = jb->Put(Payload(k), k * kStep, kRate, k);
    queued += r == PutResult::kQueued;
    overflow += r == PutResult::kOverflow;
  }
  EXPECT_EQ(queued, 4);
  EXPECT_EQ(overflow, 6);
  EXPECT_EQ(jb->stats().overflow_drops, 6);
  EXPECT_EQ(jb->queued_packets(), 4u);
}

TEST(JitterBufferTest, DuplicatesAndInvalidPayloads) {
  JitterBufferConfig config;
  config.max_payload_bytes = 200;
  auto jb = Make(config);
  EXPECT_EQ(jb->Put(Payload(1), 160, kRate, 1), PutResult::kQueued);
  EXPECT_EQ(jb->Put(Payload(1), 160, kRate, 1), PutResult::kDuplicate);
  const std::vector<uint8_t> big(201);
  EXPECT_EQ(jb->Put(big, 320, kRate, 2), PutResult::kInvalid);
  EXPECT_EQ(jb->Put({}, 320, kRate, 2), PutResult::kInvalid);
  EXPECT_EQ(jb->Put(Payload(2), 320, 0, 2), PutResult::kInvalid);
  EXPECT_EQ(jb->Put(Payload(2), 320, 8001, 2), PutResult::kInvalid);  // 20 ms is not whole
  const auto st = jb->stats();
  EXPECT_EQ(st.duplicates, 1);
  EXPECT_EQ(st.invalid, 4);
  EXPECT_EQ(st.received, 2);
}

TEST(JitterBufferTest, PausedSenderResynchronises) {
  auto jb = Make();
  // 50 packets, then the sender stops for 2 s (silence suppression: the RTP clock runs on),
  // then 50 more.
  const SimRun run = Simulate(
      *jb, Stream(200, 77, 0, [](int k) { return (k >= 50 && k < 150) ? kLost : 2.0; }), 220);
  std::vector<uint16_t> expected;
  for (int k = 0; k < 200; ++k) {
    if (k < 50 || k >= 150) expected.push_back(static_cast<uint16_t>(k));
  }
  EXPECT_EQ(run.PlayedSeqs(), expected);
  // Once playout started, the caller is never told "nothing" again, only to conceal.
  bool started = false;
  for (const Tick& t : run.ticks) {
    started |= t.result.status == GetStatus::kPacket;
    if (started) {
      EXPECT_NE(t.result.status, GetStatus::kNothing);
    }
  }
}

TEST(JitterBufferTest, SenderTimestampJumpBackwardsResynchronises) {
  auto jb = Make();
  // A new timeline (e.g. the far end's media restarted) 10 s behind the old one.
  std::vector<Packet> packets = Stream(100, 1'000'000, 0, [](int) { return 2.0; });
  for (Packet& p : packets) {
    if (p.seq >= 50) p.ts -= 80000;
  }
  const SimRun run = Simulate(*jb, packets, 130);
  const auto played = run.PlayedSeqs();
  ASSERT_FALSE(played.empty());
  EXPECT_EQ(played.back(), 99);  // the new timeline plays
  EXPECT_GE(jb->stats().resyncs, 1);
}

TEST(JitterBufferTest, OpusClockRate) {
  auto jb = Make();
  std::array<uint8_t, 1500> out{};
  int played = 0;
  for (uint32_t k = 0; k < 50; ++k) {
    ASSERT_EQ(jb->Put(Payload(static_cast<uint16_t>(k)), 960 * k, 48000, static_cast<uint16_t>(k)),
              PutResult::kQueued);
    const auto r = jb->Get(out);
    if (r.status == GetStatus::kPacket) {
      EXPECT_EQ(r.timestamp, 960 * static_cast<uint32_t>(played));
      ++played;
    }
  }
  EXPECT_EQ(played, 48);
  EXPECT_EQ(jb->current_delay_ms(), 40);
}

TEST(JitterBufferTest, ResetStartsOver) {
  auto jb = Make();
  std::array<uint8_t, 1500> out{};
  for (uint16_t k = 0; k < 10; ++k) {
    jb->Put(Payload(k), k * kStep, kRate, k);
    jb->Get(out);
  }
  jb->Reset();
  EXPECT_EQ(jb->queued_packets(), 0u);
  EXPECT_EQ(jb->Get(out).status, GetStatus::kNothing);
  EXPECT_EQ(jb->Put(Payload(1), 999, kRate, 1), PutResult::kQueued);
  EXPECT_EQ(jb->Get(out).status, GetStatus::kNothing);  // refilling
  EXPECT_EQ(jb->stats().played, 8);
}

TEST(JitterBufferTest, SmallOutputBufferGivesMissing) {
  auto jb = Make(JitterBufferConfig{.min_delay_ms = 0});
  jb->Put(Payload(1), 0, kRate, 1);
  std::array<uint8_t, 10> small{};
  const auto r = jb->Get(small);
  EXPECT_EQ(r.status, GetStatus::kMissing);
  EXPECT_EQ(jb->queued_packets(), 0u);  // the slot was released
}

TEST(JitterBufferTest, PutAndGetDoNotAllocate) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  auto jb = Make();
  std::vector<bool> lost;
  const std::vector<Packet> packets = JitteryLossyStream(1000, 3, &lost);
  std::array<uint8_t, 1500> out{};
  // The first Put sets speexdsp up for the stream's clock rate (one allocation).
  jb->Put(Payload(packets[0].seq), packets[0].ts, kRate, packets[0].seq);
  size_t next = 1;
  testing::AllocationScope scope;
  int played = 0;
  for (int j = 0; j < 1000; ++j) {
    const double now = 20.0 * j + 10.0;
    for (; next < packets.size() && packets[next].arrival_ms <= now; ++next) {
      jb->Put(Payload(packets[next].seq), packets[next].ts, kRate, packets[next].seq);
    }
    played += jb->Get(out).status == GetStatus::kPacket;
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_GT(played, 800);
}

// Why JitterBuffer hands speexdsp its own slots: left to itself, speexdsp mallocs a copy of
// every packet in jitter_buffer_put() (and frees it in jitter_buffer_get()).
TEST(JitterBufferTest, SpeexdspAloneAllocatesPerPacket) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  ::JitterBuffer* raw = jitter_buffer_init(160);
  ASSERT_NE(raw, nullptr);
  std::array<uint8_t, 160> payload{}, out{};
  uint64_t allocations = 0;
  {
    testing::AllocationScope scope;
    for (uint32_t k = 0; k < 100; ++k) {
      JitterBufferPacket in{};
      in.data = reinterpret_cast<char*>(payload.data());
      in.len = payload.size();
      in.timestamp = 160 * k;
      in.span = 160;
      jitter_buffer_put(raw, &in);
      JitterBufferPacket got{};
      got.data = reinterpret_cast<char*>(out.data());
      got.len = out.size();
      spx_int32_t offset = 0;
      jitter_buffer_get(raw, &got, 160, &offset);
      jitter_buffer_tick(raw);
    }
    allocations = scope.count();
  }
  jitter_buffer_destroy(raw);
  EXPECT_EQ(allocations, 100u);
}

TEST(JitterBufferTest, ConfigValidation) {
  EXPECT_TRUE(JitterBufferConfig{}.Validate().ok());
  EXPECT_FALSE(JitterBufferConfig{.frame_ms = 0}.Validate().ok());
  EXPECT_FALSE(JitterBufferConfig{.min_delay_ms = -1}.Validate().ok());
  EXPECT_FALSE((JitterBufferConfig{.min_delay_ms = 190, .max_delay_ms = 200}).Validate().ok());
  EXPECT_FALSE(JitterBufferConfig{.max_packets = 0}.Validate().ok());
  EXPECT_FALSE(JitterBufferConfig{.max_packets = 191}.Validate().ok());
  EXPECT_FALSE(JitterBufferConfig{.max_payload_bytes = 0}.Validate().ok());
  EXPECT_FALSE(JitterBuffer::Create(JitterBufferConfig{.frame_ms = 0}).ok());
  EXPECT_EQ(JitterBufferConfig{}.ToString(),
            "JitterBufferConfig(frame_ms=20, min_delay_ms=40, max_delay_ms=200, max_packets=64, "
            "max_payload_bytes=1500)");
}

TEST(JitterBufferTest, ConfigLoad) {
  auto node = ConfigNode::Parse("min_delay_ms: 60\nmax_delay_ms: 300\nmax_packets: 32\n");
  ASSERT_TRUE(node.ok());
  JitterBufferConfig config;
  ASSERT_TRUE(config.Load(*node).ok());
  EXPECT_EQ(config.min_delay_ms, 60);
  EXPECT_EQ(config.max_delay_ms, 300);
  EXPECT_EQ(config.max_packets, 32u);
  EXPECT_EQ(config.frame_ms, 20);
  auto bad = ConfigNode::Parse("max_delay_ms: 10\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(JitterBufferConfig{}.Load(*bad).ok());
}

}  // namespace
}  // namespace voxgate::telephony
