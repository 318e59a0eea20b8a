// LiveAudioInput: audio that arrives in real time from outside a broadcast (a phone call or a
// WebSocket session, tapped after its clean-up pipeline) on its way into the broadcast's mix.
//
// The producer pushes samples as they come; the broadcast's media thread takes one chunk per clock
// tick. The two clocks are independent (network arrival vs. the broadcast's wall-clock pacing), so
// the input keeps a small cushion: it starts playing once `prebuffer_ms` is queued, pads with
// silence and re-buffers on an underrun, and skips the oldest audio when more than
// `max_latency_ms` piles up (a producer running fast or a stalled media thread). Each of these is
// counted. The broadcast's clock never waits for an input.
//
// Thread-safety: Push() from one producer thread, MixInto() from one consumer thread (SPSC, no
// locks, no allocation after construction); Close() and the counters from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "audio/spsc_ring.h"

namespace voxgate::stream {

class LiveAudioInput {
 public:
  /// rate_hz: the rate of the pushed samples, which must be the broadcast's audio rate.
  LiveAudioInput(std::string label, int rate_hz, int prebuffer_ms = 120, int max_latency_ms = 600);

  /// Producer: queues samples (mono, -1..1). Returns false when the ring was full; the samples
  /// that did not fit are dropped and counted as overflow.
  bool Push(std::span<const float> samples);
  /// Consumer: adds the next out.size() samples into `out` (mixing: out[i] += x); silence while
  /// buffering. Returns how many input samples were mixed in.
  size_t MixInto(std::span<float> out);
  /// The producer is gone (its session ended); the consumer plays what is left.
  void Close() { closed_.store(true, std::memory_order_release); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  /// Closed and nothing left to play.
  bool drained() const { return closed() && ring_.size() == 0; }

  const std::string& label() const { return label_; }
  int rate_hz() const { return rate_hz_; }
  int64_t samples_in() const { return samples_in_.load(std::memory_order_relaxed); }
  int64_t samples_out() const { return samples_out_.load(std::memory_order_relaxed); }
  int64_t underruns() const { return underruns_.load(std::memory_order_relaxed); }
  int64_t overflow_samples() const { return overflow_.load(std::memory_order_relaxed); }
  int64_t skipped_samples() const { return skipped_.load(std::memory_order_relaxed); }

 private:
  const std::string label_;
  const int rate_hz_;
  const size_t prebuffer_;
  const size_t max_latency_;
  audio::SpscRing<float> ring_;
  bool playing_ = false;  // consumer only
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> samples_in_{0}, samples_out_{0}, underruns_{0}, overflow_{0}, skipped_{0};
};

}  // namespace voxgate::stream
