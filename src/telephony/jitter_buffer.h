// JitterBuffer: re-sequences the RTP payloads of one received stream and hands them out one per
// playout tick, absorbing network jitter with an adaptive delay (speexdsp's jitter buffer, which
// estimates the delay that keeps late packets rare and grows or shrinks the buffering as the
// network changes). Lost packets come out as kMissing at their slot so the caller conceals them.
//
// Memory: every payload is copied into storage preallocated by Create() (max_packets slots of
// max_payload_bytes). speexdsp would otherwise malloc a copy of every packet in
// jitter_buffer_put() and free it in jitter_buffer_get(); it stops copying once a destroy
// callback is installed (JITTER_BUFFER_SET_DESTROY_CALLBACK), so it is handed pointers into our
// slots and tells us when it lets one go. Measured in the tests: speexdsp alone makes one
// allocation per packet; Put() and Get() here make none (the first Put(), which sets speexdsp up
// for the stream's clock rate, makes one).
//
// Delay: playout starts min_delay_ms after the first packet, and min_delay_ms is also speexdsp's
// margin (buffering kept on top of what the measured jitter needs). speexdsp is told that late
// packets cost more than any delay, so it grows the delay to cover every packet it has seen
// recently and shrinks it (skipping queued frames, counted in shrink_drops) only when all of its
// ~20 s window would have been on time with less. When more than max_delay_ms is queued (a burst
// after a stall), Get() drops the oldest frames to catch up (overflow_drops).
//
// A long gap (more than 20 ticks with nothing to play, e.g. silence suppression or a new
// timeline) makes speexdsp resynchronise on the next packet; playout then refills min_delay_ms
// (reported as kMissing) and goes on.
//
// Not thread-safe: one per call, Put() from the receive path and Get() from the playout tick on
// the same thread (or under the caller's serialisation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace voxgate::telephony {

struct JitterBufferConfig {
  int frame_ms = 20;                // packet duration and playout tick, ms (10, 20, 30, 40, 60)
  int min_delay_ms = 40;            // buffering before playout starts and kept as margin, ms
  int max_delay_ms = 200;           // queued audio beyond this is dropped to catch up, ms
  size_t max_packets = 64;          // payloads held at once (preallocated); 1..190
  size_t max_payload_bytes = 1500;  // largest payload accepted, bytes (an Ethernet MTU)

  /// min_delay_ms >= 0, max_delay_ms >= min_delay_ms + frame_ms, the other bounds as above.
  Status Validate() const;
  std::string ToString() const;
  /// Reads the keys named like the fields (jitter_buffer.frame_ms, ...); then Validate().
  Status Load(const ConfigNode& node);
};

class JitterBuffer {
 public:
  enum class PutResult {
    kQueued,     // stored until its slot is played
    kLate,       // its slot was already played: dropped (counted in late)
    kDuplicate,  // a packet with this timestamp is already queued: dropped
    kOverflow,   // max_packets are queued: dropped (counted in overflow_drops)
    kInvalid,    // empty or larger than max_payload_bytes, or a bad clock rate: dropped
  };

  enum class GetStatus {
    kPacket,   // a payload was copied to `out`
    kMissing,  // nothing to play in this slot: the caller conceals one frame
    kNothing,  // playout has not started (no packet yet, or the first min_delay_ms)
  };

  struct GetResult {
    GetStatus status = GetStatus::kNothing;
    size_t length = 0;       // payload bytes written to `out` (kPacket)
    uint32_t timestamp = 0;  // RTP timestamp of the packet or of the missing slot
    uint16_t sequence = 0;   // RTP sequence number as given to Put (kPacket)
    // kMissing only: the frame is extra delay speexdsp adds to absorb more jitter, not a lost
    // packet (the next slot is still to come).
    bool inserted = false;
  };

  struct Stats {
    int64_t received = 0;        // Put() calls with a valid payload
    int64_t played = 0;          // kPacket results
    int64_t missing = 0;         // kMissing results for lost slots (not counting insertions)
    int64_t inserted = 0;        // kMissing results that only added delay
    int64_t late = 0;            // arrived after their slot was played
    int64_t duplicates = 0;      // same timestamp as a queued packet
    int64_t overflow_drops = 0;  // dropped on a full buffer, or to keep within max_delay_ms
    int64_t shrink_drops = 0;    // queued but skipped when speexdsp shrank the delay
    int64_t invalid = 0;         // refused by Put() as kInvalid
    int64_t resyncs = 0;         // restarts on a new timeline (clock rate change, long gap)
  };

  static Result<std::unique_ptr<JitterBuffer>> Create(const JitterBufferConfig& config);
  ~JitterBuffer();
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  /// Queues one packet's payload (copied). `rtp_ts` is the packet's RTP timestamp and
  /// `clock_rate_hz` its RTP clock (8000 G.711, 48000 Opus); a change of clock rate restarts the
  /// buffer. Each packet must cover one frame_ms frame.
  PutResult Put(std::span<const uint8_t> payload, uint32_t rtp_ts, int clock_rate_hz,
                uint16_t sequence = 0);

  /// Called once per frame_ms playout tick. `out` should hold max_payload_bytes; a packet that
  /// does not fit is dropped and reported kMissing.
  GetResult Get(std::span<uint8_t> out);

  /// Drops everything queued and starts over as if newly created (e.g. on an SSRC change);
  /// statistics are kept.
  void Reset();

  Stats stats() const;
  /// Audio queued after the last Get(), in ms (0 before playout starts).
  int current_delay_ms() const;
  /// Payloads held now (including ones speexdsp has skipped but not yet released).
  size_t queued_packets() const;
  const JitterBufferConfig& config() const;

 private:
  struct Impl;
  explicit JitterBuffer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::telephony
