#include "audio/decode_job.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "audio/ogg_tail.h"
#include "audio/wav_header.h"

namespace voxgate::audio {
namespace {

// Containers accepted from probing, by the first name of the demuxer. Everything else FFmpeg can
// open (playlists, images, subtitles, video-only formats) is refused before its demuxer runs: a
// smaller attack surface, and no demuxer that follows references to other files or URLs.
// "mov" covers MP4/M4A/3GP and "matroska" WebM.
constexpr std::array<std::string_view, 12> kContainers = {
    "wav", "w64", "aiff", "caf", "au", "mp3", "flac", "ogg", "mov", "aac", "matroska", "amr"};
// Enough to reach the "data" chunk of any WAV with ordinary metadata in front of it.
constexpr size_t kWavHeadBytes = size_t{64} * 1024;
// Rounds of EAGAIN from the demuxer before we call the input broken (a custom AVIO never blocks).
constexpr int kMaxDemuxRetries = 1000;

int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
  return AVERROR(EPERM);
}

std::string_view FirstName(const char* names) {
  std::string_view all = names ? names : "";
  return all.substr(0, all.find(','));
}

bool IsAcceptedContainer(const AVInputFormat* format) {
  const std::string_view name = FirstName(format->name);
  return std::find(kContainers.begin(), kContainers.end(), name) != kContainers.end();
}

std::string FormatSeconds(double s) { return fmt::format("{:.2f} s", s); }

// Slack between a declared and a decoded length: codec priming and padding (an AAC or MP3 frame
// or two) make them differ slightly in good files.
constexpr double kDurationToleranceS = 0.2;
// Packets per second of audio beyond which a stream is a decompression bomb, not audio (real
// codecs send at most a few hundred: Opus at 2.5 ms frames sends 400).
constexpr double kMaxPacketsPerSecond = 2000.0;
constexpr double kMinPacketBudget = 10000.0;

}  // namespace

DecodeJob::DecodeJob(AvioInput& input, const DecodeConfig& config)
    : input_(input), config_(config), converter_(config.target_sample_rate_hz) {}

Result<AudioClip> DecodeJob::Run() {
  VOXGATE_RETURN_IF_ERROR(Open());
  VOXGATE_RETURN_IF_ERROR(CheckWavDataChunk());
  VOXGATE_RETURN_IF_ERROR(CheckOggTail());
  VOXGATE_RETURN_IF_ERROR(OpenDecoder());
  VOXGATE_RETURN_IF_ERROR(CheckDeclaredDuration());
  VOXGATE_RETURN_IF_ERROR(DecodeAll());
  return Finish();
}

Status DecodeJob::Open() {
  AvDictionary options;
  if (!config_.raw_format.empty()) {
    format_ = av_find_input_format(config_.raw_format.c_str());
    if (format_ == nullptr) {
      return InternalError("FFmpeg lacks the raw demuxer '" + config_.raw_format + "'");
    }
    options.Set("sample_rate", std::to_string(config_.raw_sample_rate_hz));
    options.Set("ch_layout", std::to_string(config_.raw_channels) + "c");
  } else {
    // Probed from the bytes alone (no file-name hint), so files and uploads behave the same.
    const int score = av_probe_input_buffer2(input_.context(), &format_, "", nullptr, 0, 0);
    if (score < 0 || format_ == nullptr) {
      return UnsupportedError("not audio: the data is not in any recognised format");
    }
    // A weak guess (a few bytes that happen to look like an MP3 frame header) is not a file.
    if (score < AVPROBE_SCORE_RETRY) {
      return UnsupportedError(fmt::format(
          "not audio: the data is not in any recognised format (at best a weak match for {})",
          FirstName(format_->name)));
    }
    if (!IsAcceptedContainer(format_)) {
      return UnsupportedError(fmt::format("not audio: '{}' ({}) is not an audio format we accept",
                                          FirstName(format_->name),
                                          format_->long_name ? format_->long_name : "?"));
    }
  }
  container_ = FirstName(format_->name);

  AVFormatContext* ctx = avformat_alloc_context();
  if (ctx == nullptr) return InternalError("out of memory");
  ctx->pb = input_.context();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  ctx->io_open = RefuseNestedOpen;
  // On failure avformat_open_input frees ctx (but not our AVIOContext).
  const int rc = avformat_open_input(&ctx, "", format_, options.get());
  if (rc < 0) {
    return DataLossError(fmt::format("corrupt or truncated {} data: cannot read its header ({})",
                                     container_, AvErrorString(rc)));
  }
  format_ctx_.reset(ctx);
  // Fills in stream parameters some containers leave to the codec; a failure here is not fatal
  // (the decoder reports real problems), so its result is deliberately ignored.
  avformat_find_stream_info(format_ctx_.get(), nullptr);
  return Status::Ok();
}

Status DecodeJob::CheckWavDataChunk() {
  if (container_ != "wav") return Status::Ok();
  const auto chunk = WavDataChunk::Find(input_.ReadAt(0, kWavHeadBytes));
  if (!chunk || !chunk->SizeIsKnown()) return Status::Ok();
  const int64_t present = std::max<int64_t>(0, input_.size() - chunk->offset);
  if (chunk->size > present) {
    return DataLossError(
        fmt::format("truncated WAV: the data chunk declares {} bytes but only {} are present",
                    chunk->size, present));
  }
  return Status::Ok();
}

Status DecodeJob::CheckOggTail() {
  if (container_ != "ogg") return Status::Ok();
  const int64_t window = 2 * kOggMaxPageBytes;
  const int64_t start = std::max<int64_t>(0, input_.size() - window);
  if (OggEndsMidPage(input_.ReadAt(start, static_cast<size_t>(window)))) {
    return DataLossError("truncated Ogg data: the last page is incomplete");
  }
  return Status::Ok();
}

Status DecodeJob::OpenDecoder() {
  AVFormatContext* ctx = format_ctx_.get();
  const AVCodec* codec = nullptr;
  const int index = av_find_best_stream(ctx, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (index == AVERROR_STREAM_NOT_FOUND) {
    return UnsupportedError(fmt::format("no audio stream in the {} data ({} other stream{})",
                                        container_, ctx->nb_streams,
                                        ctx->nb_streams == 1 ? "" : "s"));
  }
  if (index < 0 || codec == nullptr) {
    // Every audio stream has a codec without a decoder; name the first.
    for (unsigned i = 0; i < ctx->nb_streams; ++i) {
      const AVCodecParameters* par = ctx->streams[i]->codecpar;
      if (par->codec_type != AVMEDIA_TYPE_AUDIO) continue;
      if (par->codec_id == AV_CODEC_ID_NONE) {
        return UnsupportedError(
            fmt::format("unsupported codec: unknown audio codec (format tag 0x{:04x}) in {}",
                        par->codec_tag, container_));
      }
      return UnsupportedError(fmt::format("unsupported codec: no decoder for {} audio in {}",
                                          avcodec_get_name(par->codec_id), container_));
    }
    return UnsupportedError("unsupported codec: no decodable audio stream in " + container_);
  }
  stream_ = ctx->streams[index];
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    if (static_cast<int>(i) != index) ctx->streams[i]->discard = AVDISCARD_ALL;
  }
  codec_name_ = avcodec_get_name(stream_->codecpar->codec_id);

  codec_ctx_.reset(avcodec_alloc_context3(codec));
  if (!codec_ctx_) return InternalError("out of memory");
  int rc = avcodec_parameters_to_context(codec_ctx_.get(), stream_->codecpar);
  if (rc < 0) return InternalError("cannot copy codec parameters: " + AvErrorString(rc));
  codec_ctx_->pkt_timebase = stream_->time_base;
  codec_ctx_->thread_count = 1;  // callers parallelise across files; threads would oversubscribe
  rc = avcodec_open2(codec_ctx_.get(), codec, nullptr);
  if (rc == AVERROR_INVALIDDATA) {
    return DataLossError(
        fmt::format("corrupt {} stream header: {}", codec_name_, AvErrorString(rc)));
  }
  if (rc < 0) {
    return UnsupportedError(fmt::format("unsupported codec: cannot open the {} decoder: {}",
                                        codec_name_, AvErrorString(rc)));
  }
  return Status::Ok();
}

// What the container says the length is, when it knows it from its header (FROM_STREAM) or from
// the timestamps of its last packets (FROM_PTS). Bitrate guesses are ignored.
Status DecodeJob::CheckDeclaredDuration() {
  const auto method = format_ctx_->duration_estimation_method;
  if (stream_->duration == AV_NOPTS_VALUE || stream_->duration <= 0 ||
      stream_->time_base.num <= 0 || stream_->time_base.den <= 0) {
    return Status::Ok();
  }
  const double seconds = static_cast<double>(stream_->duration) * av_q2d(stream_->time_base);
  if (method == AVFMT_DURATION_FROM_STREAM) declared_s_ = seconds;
  if ((method == AVFMT_DURATION_FROM_STREAM || method == AVFMT_DURATION_FROM_PTS) &&
      seconds > config_.max_duration_s + kDurationToleranceS) {
    return TooLargeError(
        fmt::format("audio too long: {} declares {}, over the {} limit "
                    "(max_duration_s)",
                    container_, FormatSeconds(seconds), FormatSeconds(config_.max_duration_s)));
  }
  return Status::Ok();
}

Status DecodeJob::DecodeAll() {
  PacketPtr packet(av_packet_alloc());
  frame_.reset(av_frame_alloc());
  if (!packet || !frame_) return InternalError("out of memory");
  const double packet_budget =
      std::max(kMinPacketBudget, kMaxPacketsPerSecond * config_.max_duration_s);
  int retries = 0;
  for (;;) {
    int rc = av_read_frame(format_ctx_.get(), packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc == AVERROR(EAGAIN) && ++retries < kMaxDemuxRetries) continue;
    if (rc < 0) {
      read_error_ = rc;
      break;
    }
    if (packet->stream_index != stream_->index) {
      av_packet_unref(packet.get());
      continue;
    }
    // Any error followed by more data is corruption (an error on the last packet is truncation):
    // either way the decode fails, so stop now.
    if (decode_errors_ > 0) {
      av_packet_unref(packet.get());
      ++packets_;
      return Status::Ok();
    }
    if (++packets_ > packet_budget) {
      av_packet_unref(packet.get());
      return DataLossError(fmt::format("corrupt {} data: {} packets for {} of audio", container_,
                                       packets_, FormatSeconds(decoded_s_)));
    }
    rc = avcodec_send_packet(codec_ctx_.get(), packet.get());
    if (rc == AVERROR(EAGAIN)) {
      VOXGATE_RETURN_IF_ERROR(ReceiveFrames());
      rc = avcodec_send_packet(codec_ctx_.get(), packet.get());
    }
    av_packet_unref(packet.get());
    if (rc < 0) NoteDecodeError(rc);
    VOXGATE_RETURN_IF_ERROR(ReceiveFrames());
  }
  // Drain the decoder's delayed frames, then the resampler's filter tail.
  if (avcodec_send_packet(codec_ctx_.get(), nullptr) >= 0) {
    VOXGATE_RETURN_IF_ERROR(ReceiveFrames());
  }
  return converter_.Flush(samples_);
}

Status DecodeJob::ReceiveFrames() {
  for (;;) {
    const int rc = avcodec_receive_frame(codec_ctx_.get(), frame_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::Ok();
    if (rc < 0) {
      NoteDecodeError(rc);
      return Status::Ok();
    }
    const int rate = frame_->sample_rate;
    if (rate <= 0 || rate > kMaxSampleRateHz) {
      av_frame_unref(frame_.get());
      return DataLossError(fmt::format("corrupt {} data: sample rate {} Hz", codec_name_, rate));
    }
    decoded_s_ += static_cast<double>(frame_->nb_samples) / rate;
    if (decoded_s_ > config_.max_duration_s) {
      av_frame_unref(frame_.get());
      return TooLargeError(fmt::format("audio too long: more than the {} limit (max_duration_s)",
                                       FormatSeconds(config_.max_duration_s)));
    }
    const Status status = converter_.Convert(*frame_, samples_);
    av_frame_unref(frame_.get());
    VOXGATE_RETURN_IF_ERROR(status);
  }
}

void DecodeJob::NoteDecodeError(int rc) {
  if (decode_errors_++ > 0) return;
  first_decode_error_ = rc;
  first_error_packet_ = packets_;
  first_error_s_ = decoded_s_;
}

Result<AudioClip> DecodeJob::Finish() {
  const bool short_of_declared = declared_s_ > 0 && decoded_s_ < declared_s_ - kDurationToleranceS;
  // An error on the final packet (or while draining) means the data stops inside a frame.
  const bool errors_mid_stream = decode_errors_ > 0 && first_error_packet_ < packets_;
  if (errors_mid_stream) {
    return DataLossError(
        fmt::format("corrupt {} data: packet {} (after {} of audio) failed to "
                    "decode and more data follows ({})",
                    codec_name_, first_error_packet_, FormatSeconds(first_error_s_),
                    AvErrorString(first_decode_error_)));
  }
  if (short_of_declared) {
    return DataLossError(fmt::format(
        "truncated {} data: the {} header declares {} of audio but the data ends after {}",
        codec_name_, container_, FormatSeconds(declared_s_), FormatSeconds(decoded_s_)));
  }
  if (decode_errors_ > 0) {
    return DataLossError(fmt::format("truncated {} data: the data ends inside a frame after {}",
                                     codec_name_, FormatSeconds(decoded_s_)));
  }
  if (read_error_ < 0) {
    return DataLossError(fmt::format("corrupt or truncated {} data: reading failed after {} ({})",
                                     container_, FormatSeconds(decoded_s_),
                                     AvErrorString(read_error_)));
  }
  if (samples_.empty()) {
    return UnusableError(
        fmt::format("no audio samples: the {} stream in {} is empty", codec_name_, container_));
  }
  AudioClip clip;
  clip.sample_rate_hz = converter_.out_rate_hz();
  // Some containers (MP4) declare the exact length but FFmpeg leaves the encoder's padding of
  // the last frame in; cut it.
  if (declared_s_ > 0 && decoded_s_ > declared_s_ &&
      decoded_s_ - declared_s_ < kDurationToleranceS) {
    const auto declared_samples =
        static_cast<size_t>(std::llround(declared_s_ * clip.sample_rate_hz));
    if (declared_samples > 0 && samples_.size() > declared_samples) {
      samples_.resize(declared_samples);
    }
  }
  clip.samples = std::move(samples_);
  return clip;
}

}  // namespace voxgate::audio
