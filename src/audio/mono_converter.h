// MonoConverter: turns decoded audio of any sample format, channel layout and rate into mono float
// at one output rate with libswresample. Channels are averaged (equal weights, so a signal present
// in every channel keeps its level and nothing clips), then resampled with swresample's default
// windowed-sinc filter. A change of format, layout or rate mid-stream (chained Ogg, HE-AAC, MP3
// with varying rates) flushes the old converter and starts a new one. Non-finite input or output
// samples become 0. Internal to voxgate_audio. Not thread-safe: one per decode.
#pragma once

#include <cstdint>
#include <vector>

#include "audio/ffmpeg_util.h"
#include "common/status.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
}

namespace voxgate::audio {

class MonoConverter {
 public:
  /// out_rate_hz > 0; 0 adopts the rate of the first input.
  explicit MonoConverter(int out_rate_hz);
  ~MonoConverter();
  MonoConverter(const MonoConverter&) = delete;
  MonoConverter& operator=(const MonoConverter&) = delete;

  /// Appends the converted samples of a decoded frame to `out`. May modify the frame's samples
  /// (non-finite floats are zeroed in place).
  Status Convert(AVFrame& frame, std::vector<float>& out);
  /// Same for `nb_samples` samples in `planes` (one pointer for packed formats).
  Status Convert(const uint8_t* const* planes, int nb_samples, AVSampleFormat format,
                 const AVChannelLayout& layout, int rate_hz, std::vector<float>& out);
  /// Drains what the resampler still holds (the tail of the filter) into `out`.
  Status Flush(std::vector<float>& out);

  /// The output rate (0 until the first input when constructed with 0).
  int out_rate_hz() const { return out_rate_hz_; }

 private:
  Status Configure(AVSampleFormat format, const AVChannelLayout& layout, int rate_hz);
  Status Run(const uint8_t* const* planes, int nb_samples, std::vector<float>& out);

  int out_rate_hz_;
  SwrContextPtr swr_;
  AVSampleFormat in_format_ = AV_SAMPLE_FMT_NONE;
  AVChannelLayout in_layout_ = {};
  int in_rate_hz_ = 0;
};

}  // namespace voxgate::audio
