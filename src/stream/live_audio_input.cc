#include "stream/live_audio_input.h"

#include <algorithm>

namespace voxgate::stream {

LiveAudioInput::LiveAudioInput(std::string label, int rate_hz, int prebuffer_ms, int max_latency_ms)
    : label_(std::move(label)),
      rate_hz_(rate_hz),
      prebuffer_(static_cast<size_t>(int64_t{rate_hz} * std::max(0, prebuffer_ms) / 1000)),
      max_latency_(static_cast<size_t>(int64_t{rate_hz} *
                                       std::max(prebuffer_ms + 20, max_latency_ms) / 1000)),
      // Room for twice the latency bound: the consumer trims to the bound, the slack absorbs a
      // burst between two of its ticks.
      ring_(2 * max_latency_ + 1) {}

bool LiveAudioInput::Push(std::span<const float> samples) {
  size_t pushed = 0;
  while (pushed < samples.size() && ring_.TryPush(samples[pushed])) ++pushed;
  samples_in_.fetch_add(static_cast<int64_t>(pushed), std::memory_order_relaxed);
  if (pushed == samples.size()) return true;
  overflow_.fetch_add(static_cast<int64_t>(samples.size() - pushed), std::memory_order_relaxed);
  return false;
}

size_t LiveAudioInput::MixInto(std::span<float> out) {
  size_t queued = ring_.size();
  if (queued > max_latency_) {
    // Too far behind the producer: drop the oldest so the mix stays close to live.
    const size_t skip = queued - prebuffer_;
    float x;
    for (size_t i = 0; i < skip && ring_.TryPop(x); ++i) {
    }
    skipped_.fetch_add(static_cast<int64_t>(skip), std::memory_order_relaxed);
    queued -= skip;
  }
  if (!playing_) {
    // Wait for the cushion, except at the end: a closed input plays out what it has.
    if (queued < prebuffer_ && !closed()) return 0;
    playing_ = true;
  }
  size_t n = 0;
  float x;
  while (n < out.size() && ring_.TryPop(x)) out[n++] += x;
  if (n < out.size() && !closed()) {
    underruns_.fetch_add(1, std::memory_order_relaxed);
    playing_ = false;  // re-buffer before playing again
  }
  samples_out_.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  return n;
}

}  // namespace voxgate::stream
