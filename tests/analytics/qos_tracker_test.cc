#include "analytics/qos_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

#include "analytics/e_model.h"
#include "analytics/qos_metrics.h"
#include "metrics/registry.h"

namespace voxgate::analytics {
namespace {

// A G.711 call: packet k (20 ms, 160 bytes) is sent at k * 20 ms and arrives 5 ms later (plus an
// optional deviation), off the 100 ms slot boundaries of the 1 s window.
constexpr double kOffsetS = 0.005;
double At(int k) { return k * 0.02 + kOffsetS; }

void SendPacket(QosTracker& t, int k, double deviation_s = 0.0, uint16_t first_seq = 1000) {
  t.OnRtpPacket(static_cast<uint16_t>(first_seq + k), 160u * static_cast<uint32_t>(k),
                At(k) + deviation_s, 160);
}

QosTrackerConfig Config() {
  QosTrackerConfig c;
  c.codec = "PCMU";
  c.clock_rate_hz = 8000;
  return c;
}

double CounterValue(metrics::Registry& r, const std::string& name, const std::string& kind) {
  return r.CounterFamily(name, "", {"kind"}).WithLabels({kind}).value();
}

TEST(QosTrackerConfigTest, ValidateAndToString) {
  EXPECT_TRUE(Config().Validate().ok());
  QosTrackerConfig c = Config();
  c.windows_s = {};
  EXPECT_FALSE(c.Validate().ok());
  c.windows_s = {1, -2};
  EXPECT_FALSE(c.Validate().ok());
  c = Config();
  c.clock_rate_hz = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = Config();
  c.codec = "";
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_EQ(Config().ToString(),
            "QosTrackerConfig{codec=PCMU, clock_rate_hz=8000, windows_s=[1, 10, 60], "
            "buckets_per_window=10, plc=true}");
}

TEST(QosTrackerTest, CleanCallHasNoLossAndTheDefaultRating) {
  QosTracker t(Config());
  for (int k = 0; k < 3500; ++k) {  // 70 s
    SendPacket(t, k);
    t.OnFrame(At(k) + 0.001, 0.02, /*concealed=*/false, /*speech=*/k % 2 == 0,
              /*processing_lag_s=*/0.005);
  }
  const double now = At(3499) + 0.002;
  QosSummary totals = t.Totals(now);
  EXPECT_EQ(totals.packets_expected, 3499);  // the first packet is RFC 3550 probation
  EXPECT_EQ(totals.packets_received, 3499);
  EXPECT_EQ(totals.packets_lost, 0);
  EXPECT_EQ(totals.loss_pct, 0.0);
  EXPECT_NEAR(totals.jitter_s, 0.0, 1e-4);
  EXPECT_EQ(totals.frames, 3500);
  EXPECT_NEAR(totals.audio_s, 70.0, 1e-9);
  EXPECT_NEAR(totals.speech_ratio, 0.5, 1e-9);
  EXPECT_NEAR(totals.lag_mean_s, 0.005, 1e-12);
  EXPECT_EQ(totals.lag_max_s, 0.005);
  EXPECT_NEAR(totals.lag_p95_s, 0.005, 0.005 * 0.05);
  EXPECT_EQ(totals.bytes_in, 3500 * 160);
  EXPECT_TRUE(std::isnan(totals.rtt_s));
  EXPECT_NEAR(totals.duration_s, 69.98 + 0.002, 1e-9);
  // No RTT, no jitter: one-way delay is the processing lag only; under 100 ms G.711 keeps R 93.2.
  EXPECT_NEAR(totals.one_way_delay_s, 0.005, 1e-4);
  EXPECT_NEAR(totals.r_factor, 93.2, 1e-9);
  EXPECT_NEAR(totals.mos, 4.41, 0.005);

  ASSERT_EQ(t.windows(), 3u);
  QosSummary w1 = t.Window(0, now);
  EXPECT_EQ(w1.window_s, 1.0);
  EXPECT_EQ(w1.packets_expected, 50);
  EXPECT_EQ(w1.packets_received, 50);
  EXPECT_EQ(w1.frames, 50);
  EXPECT_NEAR(w1.speech_ratio, 0.5, 1e-9);
  EXPECT_NEAR(w1.bitrate_bps, 64000.0, 64000.0 * 0.03);  // G.711 payload rate
  // The 60 s window has 6 s slots: it holds the slots from 12 s on, 57.98 s of the call.
  QosSummary w60 = t.Window(2, now);
  EXPECT_EQ(w60.packets_expected, 2900);
  EXPECT_EQ(w60.frames, 2900);
  EXPECT_EQ(t.Window(3, now).window_s, 0.0);  // no such window
}

TEST(QosTrackerTest, RecentLossShowsInTheShortWindowFirst) {
  QosTracker t(Config());
  for (int k = 0; k < 3500; ++k) {
    // 10 % loss in the last 5 s (from packet 3250, t = 65 s).
    if (k >= 3250 && k % 10 == 0) continue;
    SendPacket(t, k);
  }
  const double now = At(3499) + 0.002;
  QosSummary w1 = t.Window(0, now);
  EXPECT_EQ(w1.packets_expected, 50);
  EXPECT_EQ(w1.packets_lost, 5);
  EXPECT_NEAR(w1.loss_pct, 10.0, 1e-9);
  QosSummary w60 = t.Window(2, now);
  EXPECT_EQ(w60.packets_expected, 2900);
  EXPECT_EQ(w60.packets_lost, 25);
  QosSummary totals = t.Totals(now);
  EXPECT_EQ(totals.packets_lost, 25);
  EXPECT_NEAR(totals.loss_pct, 100.0 * 25 / 3499, 1e-9);
  // The E-model sees each period's loss.
  EXPECT_LT(w1.mos, w60.mos);
  EXPECT_LT(w60.mos, 4.41);
  EXPECT_NEAR(w1.r_factor, 93.2 - 95.0 * 10.0 / (10.0 + 25.1), 1e-6);
  // Ten seconds later with no packets the short windows are empty again.
  QosSummary quiet = t.Window(0, now + 10.0);
  EXPECT_EQ(quiet.packets_expected, 0);
  EXPECT_EQ(quiet.loss_pct, 0.0);
  EXPECT_TRUE(std::isnan(quiet.jitter_s));
}

TEST(QosTrackerTest, DuplicatesDoNotHideLoss) {
  QosTracker t(Config());
  for (int k = 0; k < 101; ++k) {
    if (k % 20 == 7) continue;  // 5 lost
    SendPacket(t, k);
    if (k % 20 == 9) SendPacket(t, k);  // 5 duplicated
  }
  QosSummary s = t.Totals(At(100));
  EXPECT_EQ(s.packets_expected, 100);
  EXPECT_EQ(s.packets_received, 100);  // 95 unique + 5 duplicates
  EXPECT_EQ(s.duplicates, 5);
  EXPECT_EQ(s.packets_lost, 5);
  // The 1 s window holds packets 55..100: 67 and 87 lost.
  QosSummary w1 = t.Window(0, At(100));
  EXPECT_EQ(w1.packets_expected, 46);
  EXPECT_EQ(w1.packets_received, 44);
  EXPECT_EQ(w1.packets_lost, 2);
}

TEST(QosTrackerTest, ReorderedPacketIsNotLoss) {
  QosTracker t(Config());
  SendPacket(t, 0);
  SendPacket(t, 1);
  SendPacket(t, 3);
  SendPacket(t, 2, 0.03);  // arrives after 3
  SendPacket(t, 4);
  QosSummary s = t.Totals(At(4));
  EXPECT_EQ(s.packets_lost, 0);
  EXPECT_EQ(s.reordered, 1);
  EXPECT_EQ(t.Window(0, At(4)).packets_lost, 0);
}

TEST(QosTrackerTest, JitterInTotalsAndWindows) {
  QosTracker t(Config());
  for (int k = 0; k < 3000; ++k) SendPacket(t, k, k % 2 == 0 ? 0.010 : -0.010);
  const double now = At(2999) + 0.02;
  EXPECT_NEAR(t.Totals(now).jitter_s, 0.020, 1e-4);
  EXPECT_NEAR(t.Window(0, now).jitter_s, 0.020, 1e-4);  // converged long ago
  nlohmann::json snap = t.Snapshot(now);
  EXPECT_NEAR(snap["totals"]["jitter_ms"].get<double>(), 20.0, 0.1);
  EXPECT_NEAR(snap["windows"]["1s"]["jitter_ms"].get<double>(), 20.0, 0.1);
}

TEST(QosTrackerTest, OneWayDelayFromRttJitterBufferAndLag) {
  QosTracker t(Config());
  for (int k = 0; k < 500; ++k) {
    SendPacket(t, k, k % 2 == 0 ? 0.010 : -0.010);
    t.OnFrame(At(k), 0.02, false, true, 0.030);
  }
  const double now = At(499);
  // No RTT: 2 x jitter (the buffer estimate) + lag.
  QosSummary s = t.Totals(now);
  EXPECT_NEAR(s.one_way_delay_s, 2 * s.jitter_s + 0.030, 1e-9);
  // RTT 300 ms: + 150 ms.
  t.OnRtt(0.300);
  s = t.Totals(now);
  EXPECT_NEAR(s.rtt_s, 0.300, 1e-12);
  EXPECT_NEAR(s.one_way_delay_s, 0.150 + 2 * s.jitter_s + 0.030, 1e-9);
  // A reported jitter-buffer delay replaces the estimate.
  t.OnJitterBufferDelay(0.060);
  s = t.Totals(now);
  EXPECT_NEAR(s.one_way_delay_s, 0.150 + 0.060 + 0.030, 1e-9);
  EModelInput in;
  in.codec = "PCMU";
  in.one_way_delay_ms = 240.0;
  EXPECT_NEAR(s.r_factor, RFactor(in), 1e-6);
  EXPECT_NEAR(s.mos, MosFromR(RFactor(in)), 1e-6);
  EXPECT_LT(s.mos, 4.41);
  // Nonsense RTTs are ignored.
  t.OnRtt(-1.0);
  t.OnRtt(std::nan(""));
  EXPECT_NEAR(t.Totals(now).rtt_s, 0.300, 1e-12);
}

TEST(QosTrackerTest, ConcealmentDropsAndLatePacketsPerWindow) {
  QosTracker t(Config());
  for (int k = 0; k < 1000; ++k) {  // 20 s of frames
    const double now = At(k);
    t.OnFrame(now, 0.02, /*concealed=*/k % 4 == 0, /*speech=*/true, 0.002);
    if (k >= 950 && k % 5 == 0) t.OnFrameDropped();  // at the latest time: t >= 19 s
    if (k >= 950 && k % 10 == 0) t.OnLatePacket();   // same
  }
  const double now = At(999) + 0.001;
  QosSummary w1 = t.Window(0, now);
  EXPECT_EQ(w1.frames, 50);
  EXPECT_NEAR(w1.concealed_pct, 24.0, 1e-9);  // k in 950..999 with k % 4 == 0: 12 of 50
  EXPECT_EQ(w1.frames_dropped, 10);
  EXPECT_EQ(w1.late, 5);
  QosSummary w10 = t.Window(1, now);
  EXPECT_EQ(w10.frames_dropped, 10);
  QosSummary totals = t.Totals(now);
  EXPECT_EQ(totals.frames, 1000);
  EXPECT_EQ(totals.concealed_frames, 250);
  EXPECT_NEAR(totals.concealed_pct, 25.0, 1e-9);
  EXPECT_EQ(totals.frames_dropped, 10);
  EXPECT_EQ(totals.late, 5);
  // They expire from the 1 s window once time moves on.
  EXPECT_EQ(t.Window(0, now + 1.5).frames_dropped, 0);
  EXPECT_EQ(t.Window(1, now + 1.5).frames_dropped, 10);
}

TEST(QosTrackerTest, LagPercentileInTheWindow) {
  QosTracker t(Config());
  // 100 frames per second with lags 1..100 ms, repeated for 3 s.
  for (int k = 0; k < 300; ++k)
    t.OnFrame(k * 0.01 + kOffsetS, 0.01, false, false, (k % 100 + 1) * 1e-3);
  const double now = 2.999;  // the 1 s window holds the slots from 2.0 s
  QosSummary w1 = t.Window(0, now);
  EXPECT_EQ(w1.frames, 100);
  EXPECT_NEAR(w1.lag_mean_s, 0.0505, 1e-9);
  EXPECT_NEAR(w1.lag_max_s, 0.100, 1e-12);
  EXPECT_NEAR(w1.lag_p95_s, 0.095, 0.095 * 0.05);
  EXPECT_EQ(w1.speech_ratio, 0.0);
  QosSummary totals = t.Totals(now);
  EXPECT_NEAR(totals.lag_p95_s, 0.095, 0.095 * 0.05);
  nlohmann::json lag = t.Snapshot(now)["windows"]["1s"]["processing_lag_ms"];
  EXPECT_NEAR(lag["mean"].get<double>(), 50.5, 1e-6);
  EXPECT_NEAR(lag["max"].get<double>(), 100.0, 1e-9);
  EXPECT_NEAR(lag["p95"].get<double>(), 95.0, 95.0 * 0.05);
}

TEST(QosTrackerTest, SsrcChangeAndSequenceRestartKeepTheTotals) {
  QosTracker t(Config());
  for (int k = 0; k < 100; ++k) SendPacket(t, k, 0.0, /*first_seq=*/1000);
  t.OnSsrcChange();
  // The new source numbers from 50000; its first packet is on probation again.
  for (int k = 100; k < 200; ++k) SendPacket(t, k, 0.0, /*first_seq=*/50000);
  QosSummary s = t.Totals(At(199));
  EXPECT_EQ(s.packets_expected, 99 + 99);
  EXPECT_EQ(s.packets_received, 198);
  EXPECT_EQ(s.packets_lost, 0);
  // A confirmed jump (sender restart) within the same SSRC: the jump packet is not counted, the
  // next one restarts the sequence.
  for (int k = 200; k < 300; ++k) SendPacket(t, k, 0.0, /*first_seq=*/20000);
  s = t.Totals(At(299));
  EXPECT_EQ(s.packets_expected, 198 + 99);
  EXPECT_EQ(s.packets_lost, 0);
  EXPECT_EQ(t.Window(0, At(299)).packets_expected, 50);
}

TEST(QosTrackerTest, WebSocketSessionWithoutRtp) {
  QosTracker t(Config());
  for (int k = 0; k < 250; ++k) {  // 5 s of 20 ms PCM16 frames at 16 kHz (640 bytes)
    t.OnBytesIn(640, At(k));
    t.OnFrame(At(k), 0.02, false, k < 125, 0.004);
  }
  const double now = At(249) + 0.001;
  QosSummary s = t.Totals(now);
  EXPECT_EQ(s.packets_expected, 0);
  EXPECT_TRUE(std::isnan(s.jitter_s));
  EXPECT_EQ(s.bytes_in, 250 * 640);
  EXPECT_NEAR(s.speech_ratio, 0.5, 1e-9);
  EXPECT_NEAR(s.one_way_delay_s, 0.004, 1e-12);
  EXPECT_NEAR(t.Window(0, now).bitrate_bps, 256000.0, 256000.0 * 0.03);
  EXPECT_EQ(t.Window(0, now).speech_ratio, 0.0);  // the last second was silence
  nlohmann::json snap = t.Snapshot(now);
  EXPECT_TRUE(snap["totals"]["jitter_ms"].is_null());
  EXPECT_TRUE(snap["totals"]["rtt_ms"].is_null());
  EXPECT_EQ(snap["totals"]["bytes_in"], 250 * 640);
}

TEST(QosTrackerTest, SnapshotShape) {
  QosTrackerConfig c = Config();
  c.windows_s = {0.5, 10, 60};
  QosTracker t(c);
  nlohmann::json empty = t.Snapshot(0.0);
  EXPECT_EQ(empty["codec"], "PCMU");
  EXPECT_EQ(empty["totals"]["frames"], 0);
  EXPECT_TRUE(empty["totals"]["processing_lag_ms"]["mean"].is_null());
  EXPECT_TRUE(empty["totals"]["speech_ratio"].is_null());
  for (int k = 0; k < 10; ++k) {
    SendPacket(t, k);
    t.OnFrame(At(k), 0.02, false, true, 0.01);
  }
  nlohmann::json snap = t.Snapshot(At(9));
  for (const char* key : {"packets_received", "packets_expected", "packets_lost", "loss_pct",
                          "duplicates", "reordered", "late", "jitter_ms", "rtt_ms", "frames",
                          "concealed_frames", "concealed_pct", "frames_dropped", "speech_ratio",
                          "processing_lag_ms", "bytes_in", "mos", "r_factor", "duration_s"}) {
    EXPECT_TRUE(snap["totals"].contains(key)) << key;
  }
  ASSERT_TRUE(snap["windows"].is_object());
  EXPECT_EQ(snap["windows"].size(), 3u);
  for (const char* key : {"0.5s", "10s", "60s"}) {
    ASSERT_TRUE(snap["windows"].contains(key)) << key;
    for (const char* field : {"loss_pct", "jitter_ms", "processing_lag_ms", "speech_ratio",
                              "concealed_pct", "mos", "r_factor", "bitrate_kbps"}) {
      EXPECT_TRUE(snap["windows"][key].contains(field)) << key << " " << field;
    }
  }
  EXPECT_EQ(snap["totals"]["packets_received"], 9);
  EXPECT_EQ(snap["windows"]["10s"]["frames"], 10);
}

TEST(QosTrackerTest, UpdatesTheSessionMetrics) {
  auto registry = std::make_shared<metrics::Registry>();
  QosMetrics sip(registry, "sip");
  QosTracker t(Config(), &sip);
  for (int k = 0; k < 500; ++k) {
    if (k % 50 == 10) continue;  // 10 lost
    SendPacket(t, k);
    t.OnFrame(At(k), 0.02, k % 50 == 11, true, 0.003);
  }
  t.OnLatePacket();
  t.OnFrameDropped();
  EXPECT_EQ(CounterValue(*registry, "voxgate_rtp_packets_received_total", "sip"), 489);
  // Losses are counted once no late packet can fill them: not yet 410 and 460, which are less
  // than kMaxMisorder behind the highest (499).
  EXPECT_EQ(CounterValue(*registry, "voxgate_rtp_packets_lost_total", "sip"), 8);
  EXPECT_EQ(CounterValue(*registry, "voxgate_rtp_packets_late_total", "sip"), 1);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_total", "sip"), 490);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_concealed_total", "sip"), 10);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_dropped_total", "sip"), 1);
  EXPECT_EQ(CounterValue(*registry, "voxgate_session_bytes_in_total", "sip"), 490 * 160);
  const std::string text = registry->RenderText();
  EXPECT_NE(text.find("voxgate_session_processing_lag_seconds_count{kind=\"sip\"} 490"),
            std::string::npos);
  EXPECT_NE(text.find("voxgate_session_mos_count{kind=\"sip\"} 0"), std::string::npos);

  t.Finish(At(499));
  t.Finish(At(499));  // idempotent
  EXPECT_EQ(CounterValue(*registry, "voxgate_rtp_packets_lost_total", "sip"), 10);
  const std::string after = registry->RenderText();
  EXPECT_NE(after.find("voxgate_session_mos_count{kind=\"sip\"} 1"), std::string::npos);
  EXPECT_NE(after.find("voxgate_session_jitter_seconds_count{kind=\"sip\"} 1"), std::string::npos);
}

TEST(QosTrackerTest, KindsAreSeparateLabels) {
  auto registry = std::make_shared<metrics::Registry>();
  QosMetrics sip(registry, "sip");
  QosMetrics ws(registry, "websocket");
  QosTracker a(Config(), &sip);
  QosTracker b(Config(), &ws);
  a.OnFrame(1.0, 0.02, true, true, 0.001);
  b.OnFrame(1.0, 0.02, false, true, 0.001);
  b.OnFrame(1.02, 0.02, false, true, 0.001);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_total", "sip"), 1);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_total", "websocket"), 2);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_concealed_total", "websocket"), 0);
  // A WebSocket session without RTP observes no jitter when it ends.
  b.Finish(2.0);
  const std::string text = registry->RenderText();
  EXPECT_NE(text.find("voxgate_session_jitter_seconds_count{kind=\"websocket\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("voxgate_session_mos_count{kind=\"websocket\"} 1"), std::string::npos);
}

TEST(QosTrackerTest, ConcurrentUpdatesAndSnapshots) {
  auto registry = std::make_shared<metrics::Registry>();
  QosMetrics metrics(registry, "sip");
  QosTracker t(Config(), &metrics);
  constexpr int kPackets = 5000;
  std::atomic<bool> done{false};
  std::thread io([&] {
    for (int k = 0; k < kPackets; ++k) {
      SendPacket(t, k);
      if (k % 100 == 0) t.OnRtt(0.05);
    }
  });
  std::thread media([&] {
    for (int k = 0; k < kPackets; ++k) {
      t.OnFrame(At(k), 0.02, false, k % 3 == 0, 0.002);
      if (k % 500 == 0) t.OnFrameDropped();
    }
  });
  std::thread api([&] {
    int64_t last_frames = 0;
    while (!done.load()) {
      nlohmann::json snap = t.Snapshot(At(kPackets));
      const int64_t frames = snap["totals"]["frames"].get<int64_t>();
      EXPECT_GE(frames, last_frames);  // totals never go backwards
      last_frames = frames;
    }
  });
  io.join();
  media.join();
  done = true;
  api.join();
  QosSummary s = t.Totals(At(kPackets));
  EXPECT_EQ(s.packets_expected, kPackets - 1);
  EXPECT_EQ(s.packets_lost, 0);
  EXPECT_EQ(s.frames, kPackets);
  EXPECT_EQ(s.frames_dropped, kPackets / 500);
  EXPECT_EQ(CounterValue(*registry, "voxgate_audio_frames_total", "sip"), kPackets);
}

}  // namespace
}  // namespace voxgate::analytics
