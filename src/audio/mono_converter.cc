#include "audio/mono_converter.h"

#include <cmath>
#include <string>

#include "audio/audio_clip.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace voxgate::audio {
namespace {

// libswresample's own limit (SWR_CH_MAX, not in its public headers).
constexpr int kMaxChannels = 64;

// Zeroes NaN/Inf so they cannot spread through the resampling filter. Returns false when the
// samples could not be made writable.
bool SanitizeFloatFrame(AVFrame& frame) {
  const auto format = static_cast<AVSampleFormat>(frame.format);
  const bool is_float = format == AV_SAMPLE_FMT_FLT || format == AV_SAMPLE_FMT_FLTP;
  const bool is_double = format == AV_SAMPLE_FMT_DBL || format == AV_SAMPLE_FMT_DBLP;
  if (!is_float && !is_double) return true;
  const int channels = frame.ch_layout.nb_channels;
  const bool planar = av_sample_fmt_is_planar(format);
  const int planes = planar ? channels : 1;
  const size_t per_plane = static_cast<size_t>(frame.nb_samples) * (planar ? 1 : channels);
  auto all_finite = [&] {
    for (int p = 0; p < planes; ++p) {
      for (size_t i = 0; i < per_plane; ++i) {
        const double v = is_float ? reinterpret_cast<const float*>(frame.extended_data[p])[i]
                                  : reinterpret_cast<const double*>(frame.extended_data[p])[i];
        if (!std::isfinite(v)) return false;
      }
    }
    return true;
  };
  if (all_finite()) return true;
  if (av_frame_make_writable(&frame) < 0) return false;
  for (int p = 0; p < planes; ++p) {
    for (size_t i = 0; i < per_plane; ++i) {
      if (is_float) {
        float& v = reinterpret_cast<float*>(frame.extended_data[p])[i];
        if (!std::isfinite(v)) v = 0.0f;
      } else {
        double& v = reinterpret_cast<double*>(frame.extended_data[p])[i];
        if (!std::isfinite(v)) v = 0.0;
      }
    }
  }
  return true;
}

}  // namespace

MonoConverter::MonoConverter(int out_rate_hz) : out_rate_hz_(out_rate_hz) {}

MonoConverter::~MonoConverter() { av_channel_layout_uninit(&in_layout_); }

Status MonoConverter::Convert(AVFrame& frame, std::vector<float>& out) {
  if (frame.nb_samples <= 0) return Status::Ok();
  if (!SanitizeFloatFrame(frame)) return InternalError("out of memory copying a decoded frame");
  return Convert(frame.extended_data, frame.nb_samples, static_cast<AVSampleFormat>(frame.format),
                 frame.ch_layout, frame.sample_rate, out);
}

Status MonoConverter::Convert(const uint8_t* const* planes, int nb_samples, AVSampleFormat format,
                              const AVChannelLayout& layout, int rate_hz, std::vector<float>& out) {
  if (nb_samples <= 0) return Status::Ok();
  if (!swr_ || format != in_format_ || rate_hz != in_rate_hz_ ||
      av_channel_layout_compare(&layout, &in_layout_) != 0) {
    VOXGATE_RETURN_IF_ERROR(Flush(out));
    VOXGATE_RETURN_IF_ERROR(Configure(format, layout, rate_hz));
  }
  return Run(planes, nb_samples, out);
}

Status MonoConverter::Configure(AVSampleFormat format, const AVChannelLayout& layout, int rate_hz) {
  swr_.reset();
  av_channel_layout_uninit(&in_layout_);
  in_format_ = AV_SAMPLE_FMT_NONE;
  const int channels = layout.nb_channels;
  if (rate_hz <= 0 || rate_hz > kMaxSampleRateHz) {
    return UnsupportedError("sample rate " + std::to_string(rate_hz) + " Hz is out of range");
  }
  if (channels <= 0 || channels > kMaxChannels) {
    return UnsupportedError(std::to_string(channels) + " channels is out of range (1.." +
                            std::to_string(kMaxChannels) + ")");
  }
  if (format <= AV_SAMPLE_FMT_NONE || format >= AV_SAMPLE_FMT_NB) {
    return UnsupportedError("unknown sample format");
  }
  if (out_rate_hz_ == 0) out_rate_hz_ = rate_hz;

  // The weights are ours, so what the layout names the channels does not matter; a native layout
  // keeps swresample from refusing unspecified or custom orders.
  AVChannelLayout in_layout = {};
  if (layout.order == AV_CHANNEL_ORDER_NATIVE) {
    if (av_channel_layout_copy(&in_layout, &layout) < 0) return InternalError("out of memory");
  } else {
    av_channel_layout_default(&in_layout, channels);
  }
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  SwrContext* raw = nullptr;
  int rc = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, out_rate_hz_, &in_layout, format,
                               rate_hz, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  SwrContextPtr swr(raw);
  if (rc < 0 || !swr) return InternalError("cannot set up the resampler: " + AvErrorString(rc));
  if (channels > 1) {
    std::vector<double> weights(channels, 1.0 / channels);
    rc = swr_set_matrix(swr.get(), weights.data(), channels);
    if (rc < 0) {
      return UnsupportedError("cannot downmix " + std::to_string(channels) +
                              " channels: " + AvErrorString(rc));
    }
  }
  rc = swr_init(swr.get());
  if (rc < 0) {
    return UnsupportedError(
        "cannot convert " + std::to_string(channels) + " channels of " +
        (av_get_sample_fmt_name(format) ? av_get_sample_fmt_name(format) : "?") + " at " +
        std::to_string(rate_hz) + " Hz: " + AvErrorString(rc));
  }
  if (av_channel_layout_copy(&in_layout_, &layout) < 0) return InternalError("out of memory");
  swr_ = std::move(swr);
  in_format_ = format;
  in_rate_hz_ = rate_hz;
  return Status::Ok();
}

Status MonoConverter::Run(const uint8_t* const* planes, int nb_samples, std::vector<float>& out) {
  // With no input this drains the filter's look-ahead (swr_get_out_samples reports what is held).
  const int capacity = swr_get_out_samples(swr_.get(), nb_samples);
  if (capacity < 0) return InternalError("resampler failure: " + AvErrorString(capacity));
  const size_t start = out.size();
  out.resize(start + static_cast<size_t>(capacity) + 1);
  uint8_t* dst = reinterpret_cast<uint8_t*>(out.data() + start);
  const int got =
      swr_convert(swr_.get(), &dst, capacity + 1, const_cast<const uint8_t**>(planes), nb_samples);
  if (got < 0) {
    out.resize(start);
    return InternalError("resampler failure: " + AvErrorString(got));
  }
  out.resize(start + static_cast<size_t>(got));
  for (size_t i = start; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) out[i] = 0.0f;
  }
  return Status::Ok();
}

Status MonoConverter::Flush(std::vector<float>& out) {
  if (!swr_) return Status::Ok();
  for (;;) {
    const size_t before = out.size();
    VOXGATE_RETURN_IF_ERROR(Run(nullptr, 0, out));
    if (out.size() == before) break;
  }
  swr_.reset();
  av_channel_layout_uninit(&in_layout_);
  in_format_ = AV_SAMPLE_FMT_NONE;
  in_rate_hz_ = 0;
  return Status::Ok();
}

}  // namespace voxgate::audio
