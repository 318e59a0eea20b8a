#include "audio/stream_resampler.h"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "audio/audio_clip.h"

namespace voxgate::audio {

Result<std::unique_ptr<StreamResampler>> StreamResampler::Create(int in_rate_hz, int out_rate_hz,
                                                                 int quality) {
  for (const auto& [name, rate] : {std::pair{"input", in_rate_hz}, {"output", out_rate_hz}}) {
    if (rate <= 0 || rate > kMaxSampleRateHz) {
      return InvalidArgumentError(std::string("stream resampler: ") + name +
                                  " sample rate must be 1.." + std::to_string(kMaxSampleRateHz) +
                                  " Hz, got " + std::to_string(rate));
    }
  }
  if (quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX) {
    return InvalidArgumentError("stream resampler: quality must be 0..10, got " +
                                std::to_string(quality));
  }
  SpeexResamplerState* state = nullptr;
  if (in_rate_hz != out_rate_hz) {
    int err = RESAMPLER_ERR_SUCCESS;
    state = speex_resampler_init(1, static_cast<spx_uint32_t>(in_rate_hz),
                                 static_cast<spx_uint32_t>(out_rate_hz), quality, &err);
    if (state == nullptr || err != RESAMPLER_ERR_SUCCESS) {
      if (state != nullptr) speex_resampler_destroy(state);
      return InternalError(std::string("stream resampler: speex_resampler_init: ") +
                           speex_resampler_strerror(err));
    }
  }
  return std::unique_ptr<StreamResampler>(
      new StreamResampler(in_rate_hz, out_rate_hz, quality, state));
}

StreamResampler::StreamResampler(int in_rate_hz, int out_rate_hz, int quality,
                                 SpeexResamplerState* state)
    : in_rate_hz_(in_rate_hz), out_rate_hz_(out_rate_hz), quality_(quality), state_(state) {
  // Deliberately no speex_resampler_skip_zeros(): the filter's leading zeros are what lets the
  // first frame already come out full-length, which fixed-size live frames need.
  if (state_ != nullptr) latency_samples_ = speex_resampler_get_output_latency(state_);
}

StreamResampler::~StreamResampler() {
  if (state_ != nullptr) speex_resampler_destroy(state_);
}

size_t StreamResampler::Process(std::span<const float> in, std::span<float> out) {
  if (state_ == nullptr) {
    const size_t n = std::min(in.size(), out.size());
    std::copy_n(in.data(), n, out.data());
    dropped_samples_ += in.size() - n;
    return n;
  }
  // speexdsp counts in 32 bits; frames are far below that, but feed in pieces to be safe anyway.
  constexpr size_t kMaxPiece = size_t{1} << 30;
  size_t written = 0;
  while (!in.empty()) {
    spx_uint32_t in_len = static_cast<spx_uint32_t>(std::min(in.size(), kMaxPiece));
    spx_uint32_t out_len = static_cast<spx_uint32_t>(std::min(out.size() - written, kMaxPiece));
    if (out_len == 0) break;
    speex_resampler_process_float(state_, 0, in.data(), &in_len, out.data() + written, &out_len);
    in = in.subspan(in_len);
    written += out_len;
    if (in_len == 0 && out_len == 0) break;  // cannot happen with room in `out`; never spin
  }
  // `out` is full but input is left: run it through anyway (the filter state must advance in
  // step with the stream's clock) and throw the output away.
  std::array<float, 256> scratch;
  while (!in.empty()) {
    spx_uint32_t in_len = static_cast<spx_uint32_t>(std::min(in.size(), kMaxPiece));
    spx_uint32_t out_len = scratch.size();
    speex_resampler_process_float(state_, 0, in.data(), &in_len, scratch.data(), &out_len);
    in = in.subspan(in_len);
    dropped_samples_ += out_len;
    if (in_len == 0 && out_len == 0) break;
  }
  return written;
}

void StreamResampler::Reset() {
  if (state_ != nullptr) speex_resampler_reset_mem(state_);
}

size_t StreamResampler::MaxOutputSamples(size_t in_samples) const {
  if (state_ == nullptr) return in_samples;
  // ceil(in * out / in) plus one for the fractional phase carried between calls.
  const auto num = static_cast<uint64_t>(in_samples) * out_rate_hz_;
  return static_cast<size_t>((num + in_rate_hz_ - 1) / in_rate_hz_) + 1;
}

}  // namespace voxgate::audio
