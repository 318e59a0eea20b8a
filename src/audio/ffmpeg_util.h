// Internal to voxgate_audio (not part of the module's public API): owning pointers for FFmpeg
// objects, so that every path out of a decode frees what it allocated, and error-code formatting.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
}

namespace voxgate::audio {

struct FormatContextDeleter {
  void operator()(AVFormatContext* p) const { avformat_close_input(&p); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct SwrContextDeleter {
  void operator()(SwrContext* p) const { swr_free(&p); }
};

using FormatContextPtr = std::unique_ptr<AVFormatContext, FormatContextDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using SwrContextPtr = std::unique_ptr<SwrContext, SwrContextDeleter>;

/// An AVDictionary of options, freed on scope exit (avformat_open_input consumes entries it used).
class AvDictionary {
 public:
  AvDictionary() = default;
  ~AvDictionary() { av_dict_free(&dict_); }
  AvDictionary(const AvDictionary&) = delete;
  AvDictionary& operator=(const AvDictionary&) = delete;

  void Set(const char* key, const std::string& value) {
    av_dict_set(&dict_, key, value.c_str(), 0);
  }
  AVDictionary** get() { return &dict_; }

 private:
  AVDictionary* dict_ = nullptr;
};

/// FFmpeg's text for an AVERROR code ("Invalid data found when processing input").
inline std::string AvErrorString(int error) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(error, buf, sizeof(buf)) < 0) return "error " + std::to_string(error);
  return buf;
}

/// Silences FFmpeg's own logging (errors come back as Status). Idempotent and thread-safe.
void QuietFfmpegLogging();

}  // namespace voxgate::audio
