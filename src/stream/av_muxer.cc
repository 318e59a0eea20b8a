#include "stream/av_muxer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

namespace voxgate::stream {
namespace {

using Clock = std::chrono::steady_clock;

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(err, buf, sizeof(buf)) < 0) return fmt::format("error {}", err);
  return buf;
}

struct CodecFree {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct FrameFree {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwrFree {
  void operator()(SwrContext* p) const { swr_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* p) const { sws_freeContext(p); }
};
struct FifoFree {
  void operator()(AVAudioFifo* p) const { av_audio_fifo_free(p); }
};

AVPixelFormat ToAv(VideoFrameView::Format f) {
  switch (f) {
    case VideoFrameView::Format::kRgba:
      return AV_PIX_FMT_RGBA;
    case VideoFrameView::Format::kBgra:
      return AV_PIX_FMT_BGRA;
    case VideoFrameView::Format::kYuv420p:
      return AV_PIX_FMT_YUV420P;
  }
  return AV_PIX_FMT_NONE;
}

}  // namespace

struct AvMuxer::Impl {
  BroadcastConfig config;
  std::string connect_url;  // url with the stream key: never printed
  std::string shown_url;    // redacted, for messages
  std::unique_ptr<AVCodecContext, CodecFree> venc, aenc;
  std::unique_ptr<AVFrame, FrameFree> vframe, aframe;
  std::unique_ptr<AVPacket, PacketFree> packet;
  std::unique_ptr<SwrContext, SwrFree> swr;
  int swr_in_rate = 0;
  std::unique_ptr<SwsContext, SwsFree> sws;
  std::unique_ptr<AVAudioFifo, FifoFree> fifo;
  std::vector<float> resampled[2];
  AVFormatContext* oc = nullptr;  // output; owned, freed by CloseOutput()
  AVStream* vstream = nullptr;
  AVStream* astream = nullptr;
  MuxerStats stats;
  int64_t bytes_closed = 0;  // FLV bytes of the connections already closed
  int64_t last_video_index = -1;
  bool force_keyframe = false;
  bool closed = false;
  std::atomic<bool> cancelled{false};
  std::atomic<int64_t> deadline_ns{0};  // steady clock; I/O past it is interrupted

  ~Impl() { CloseOutput(false); }

  static int Interrupt(void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (self->cancelled.load(std::memory_order_relaxed)) return 1;
    const int64_t deadline = self->deadline_ns.load(std::memory_order_relaxed);
    return deadline > 0 && Clock::now().time_since_epoch().count() > deadline ? 1 : 0;
  }
  void ArmDeadline() {
    deadline_ns.store((Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(config.connect_timeout_s)))
                          .time_since_epoch()
                          .count(),
                      std::memory_order_relaxed);
  }

  Status OpenEncoders();
  Status ConnectOnce();
  Status ConnectWithRetries(const char* what);
  void CloseOutput(bool write_trailer);
  Status Encode(AVCodecContext* enc, AVFrame* frame, AVStream* stream);
  Status EncodeAudioFrames(bool flush);
};

Status AvMuxer::Impl::OpenEncoders() {
  const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
  if (x264 == nullptr) return InternalError("FFmpeg has no libx264 encoder");
  venc.reset(avcodec_alloc_context3(x264));
  AVCodecContext* v = venc.get();
  v->width = config.width;
  v->height = config.height;
  v->pix_fmt = AV_PIX_FMT_YUV420P;
  v->time_base = AVRational{1, config.fps};
  v->framerate = AVRational{config.fps, 1};
  v->gop_size = config.GopFrames();
  v->keyint_min = config.KeyintMinFrames();
  v->max_b_frames = 0;
  v->bit_rate = int64_t{config.video_bitrate_kbps} * 1000;
  v->rc_max_rate = v->bit_rate;
  v->rc_min_rate = v->bit_rate;
  v->rc_buffer_size = config.VbvBufferKbits() * 1000;
  v->thread_count = config.encoder_threads;
  v->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // FLV carries SPS/PPS in its sequence header
  av_opt_set(v->priv_data, "preset", config.x264_preset.c_str(), 0);
  av_opt_set(v->priv_data, "tune", config.x264_tune.c_str(), 0);
  // CBR in x264 terms: HRD signalling with filler so the rate holds even for a static card.
  av_opt_set(v->priv_data, "x264-params", "nal-hrd=cbr:force-cfr=1", 0);
  if (int err = avcodec_open2(v, x264, nullptr); err < 0) {
    return InvalidArgumentError(fmt::format("opening libx264 ({}x{}@{}, preset {}): {}",
                                            config.width, config.height, config.fps,
                                            config.x264_preset, AvError(err)));
  }

  const AVCodec* aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (aac == nullptr) return InternalError("FFmpeg has no AAC encoder");
  aenc.reset(avcodec_alloc_context3(aac));
  AVCodecContext* a = aenc.get();
  a->sample_fmt = AV_SAMPLE_FMT_FLTP;
  a->sample_rate = config.audio_sample_rate_hz;
  av_channel_layout_default(&a->ch_layout, config.audio_channels);
  a->bit_rate = int64_t{config.audio_bitrate_kbps} * 1000;
  a->time_base = AVRational{1, config.audio_sample_rate_hz};
  a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (int err = avcodec_open2(a, aac, nullptr); err < 0) {
    return InvalidArgumentError(fmt::format("opening the AAC encoder ({} Hz, {} kbps): {}",
                                            config.audio_sample_rate_hz, config.audio_bitrate_kbps,
                                            AvError(err)));
  }
  fifo.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, config.audio_channels, 4 * a->frame_size));

  vframe.reset(av_frame_alloc());
  vframe->format = AV_PIX_FMT_YUV420P;
  vframe->width = config.width;
  vframe->height = config.height;
  aframe.reset(av_frame_alloc());
  aframe->format = AV_SAMPLE_FMT_FLTP;
  aframe->nb_samples = a->frame_size;
  aframe->sample_rate = a->sample_rate;
  av_channel_layout_copy(&aframe->ch_layout, &a->ch_layout);
  packet.reset(av_packet_alloc());
  if (!fifo || !vframe || !aframe || !packet || av_frame_get_buffer(vframe.get(), 0) < 0 ||
      av_frame_get_buffer(aframe.get(), 0) < 0) {
    return InternalError("out of memory allocating encoder buffers");
  }
  return Status::Ok();
}

Status AvMuxer::Impl::ConnectOnce() {
  if (int err = avformat_alloc_output_context2(&oc, nullptr, "flv", nullptr); err < 0) {
    return InternalError(fmt::format("creating the FLV muxer: {}", AvError(err)));
  }
  oc->interrupt_callback = AVIOInterruptCB{&Impl::Interrupt, this};
  vstream = avformat_new_stream(oc, nullptr);
  astream = avformat_new_stream(oc, nullptr);
  if (vstream == nullptr || astream == nullptr) return InternalError("out of memory (streams)");
  avcodec_parameters_from_context(vstream->codecpar, venc.get());
  avcodec_parameters_from_context(astream->codecpar, aenc.get());
  vstream->time_base = venc->time_base;
  vstream->avg_frame_rate = venc->framerate;  // FLV's onMetaData "framerate"
  vstream->r_frame_rate = venc->framerate;
  astream->time_base = aenc->time_base;
  ArmDeadline();
  AVDictionary* options = nullptr;
  // Socket-level timeout too (microseconds), for a peer that accepts and then goes silent.
  av_dict_set_int(&options, "rw_timeout", static_cast<int64_t>(config.connect_timeout_s * 1e6), 0);
  int err =
      avio_open2(&oc->pb, connect_url.c_str(), AVIO_FLAG_WRITE, &oc->interrupt_callback, &options);
  av_dict_free(&options);
  if (err < 0) {
    return UnavailableError(err == AVERROR_EXIT ? std::string("timed out or cancelled")
                                                : AvError(err));
  }
  if (err = avformat_write_header(oc, nullptr); err < 0) {
    return UnavailableError(fmt::format("writing the FLV header: {}", AvError(err)));
  }
  return Status::Ok();
}

Status AvMuxer::Impl::ConnectWithRetries(const char* what) {
  double backoff_s = config.reconnect_backoff_s;
  Status last;
  for (int attempt = 1; config.reconnect_attempts < 0 || attempt <= config.reconnect_attempts;
       ++attempt) {
    if (cancelled.load()) return UnavailableError(fmt::format("{} {}: cancelled", what, shown_url));
    last = ConnectOnce();
    if (last.ok()) {
      ++stats.connects;
      deadline_ns.store(0);
      return Status::Ok();
    }
    ++stats.failed_attempts;
    CloseOutput(false);
    if (last.code() != StatusCode::kUnavailable) {  // not a network problem: no retry
      return last.WithContext(fmt::format("{} {}", what, shown_url));
    }
    if (config.reconnect_attempts >= 0 && attempt == config.reconnect_attempts) break;
    // Exponential backoff; sleeping in slices so Cancel() is prompt.
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(backoff_s));
    while (Clock::now() < until && !cancelled.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff_s = std::min(backoff_s * 2, config.reconnect_backoff_max_s);
  }
  return UnavailableError(fmt::format("{} {} failed after {} attempt(s): {}", what, shown_url,
                                      config.reconnect_attempts, last.message()));
}

void AvMuxer::Impl::CloseOutput(bool write_trailer) {
  if (oc == nullptr) return;
  if (write_trailer && oc->pb != nullptr) {
    ArmDeadline();
    av_write_trailer(oc);
  }
  if (oc->pb != nullptr) {
    avio_flush(oc->pb);
    bytes_closed += oc->pb->bytes_written;
    stats.bytes_written = bytes_closed;
    avio_closep(&oc->pb);
  }
  avformat_free_context(oc);
  oc = nullptr;
  vstream = astream = nullptr;
  deadline_ns.store(0);
}

Status AvMuxer::Impl::Encode(AVCodecContext* enc, AVFrame* frame, AVStream* stream) {
  int err = avcodec_send_frame(enc, frame);
  if (err < 0 && err != AVERROR_EOF) {
    return InternalError(fmt::format("encoding ({}): {}", enc->codec->name, AvError(err)));
  }
  Status write_status;
  while (true) {
    err = avcodec_receive_packet(enc, packet.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
    if (err < 0) return InternalError(fmt::format("encoding: {}", AvError(err)));
    // libx264 may leave duration unset: a video packet lasts one tick of 1/fps.
    const int64_t duration = packet->duration > 0 ? packet->duration : (stream == vstream ? 1 : 0);
    const int64_t end_ms =
        av_rescale_q(packet->pts + duration, enc->time_base, AVRational{1, 1000});
    if (oc == nullptr || !write_status.ok()) {  // disconnected: the packet is dropped, not queued
      av_packet_unref(packet.get());
      continue;
    }
    av_packet_rescale_ts(packet.get(), enc->time_base, stream->time_base);
    packet->stream_index = stream->index;
    ArmDeadline();
    err = av_interleaved_write_frame(oc, packet.get());  // takes the packet's reference
    deadline_ns.store(0);
    if (err < 0) {
      write_status = UnavailableError(fmt::format(
          "sending to {}: {}", shown_url,
          err == AVERROR_EXIT ? std::string("write stalled or cancelled") : AvError(err)));
      continue;
    }
    ++stats.packets_written;
    stats.bytes_written = bytes_closed + oc->pb->bytes_written;
    (stream == vstream ? stats.last_video_end_ms : stats.last_audio_end_ms) = end_ms;
  }
  return write_status;
}

Status AvMuxer::Impl::EncodeAudioFrames(bool flush) {
  AVCodecContext* a = aenc.get();
  Status status;
  while (av_audio_fifo_size(fifo.get()) >= a->frame_size ||
         (flush && av_audio_fifo_size(fifo.get()) > 0)) {
    if (av_frame_make_writable(aframe.get()) < 0) return InternalError("audio frame not writable");
    const int n =
        av_audio_fifo_read(fifo.get(), reinterpret_cast<void**>(aframe->data), a->frame_size);
    for (int c = 0; c < a->ch_layout.nb_channels; ++c) {  // pad a last partial frame with silence
      std::fill(reinterpret_cast<float*>(aframe->data[c]) + n,
                reinterpret_cast<float*>(aframe->data[c]) + a->frame_size, 0.0f);
    }
    aframe->pts = stats.audio_samples;  // the audio clock: samples sent at the AAC rate
    stats.audio_samples += a->frame_size;
    Status s = Encode(a, aframe.get(), astream);
    if (status.ok() && !s.ok()) status = s;
  }
  return status;
}

AvMuxer::AvMuxer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AvMuxer::~AvMuxer() = default;

Result<std::unique_ptr<AvMuxer>> AvMuxer::Open(const BroadcastConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  av_log_set_level(AV_LOG_QUIET);  // errors come back as Status; FFmpeg's log could print the key
  avformat_network_init();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  VOXGATE_ASSIGN_OR_RETURN(impl->connect_url, config.ConnectUrl());
  impl->shown_url = RedactUrl(impl->connect_url);
  VOXGATE_RETURN_IF_ERROR(impl->OpenEncoders());
  VOXGATE_RETURN_IF_ERROR(impl->ConnectWithRetries("connecting to"));
  return std::unique_ptr<AvMuxer>(new AvMuxer(std::move(impl)));
}

Status AvMuxer::WriteAudio(std::span<const float> samples, int sample_rate_hz) {
  Impl& m = *impl_;
  if (m.closed) return InvalidArgumentError("WriteAudio after Close");
  if (sample_rate_hz < 1 || sample_rate_hz > 384000) {
    return InvalidArgumentError(
        fmt::format("audio rate must be 1..384000, got {}", sample_rate_hz));
  }
  if (samples.empty()) return Status::Ok();
  if (!m.swr || m.swr_in_rate != sample_rate_hz) {
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* swr = nullptr;
    int err = swr_alloc_set_opts2(&swr, &m.aenc->ch_layout, AV_SAMPLE_FMT_FLTP, m.aenc->sample_rate,
                                  &mono, AV_SAMPLE_FMT_FLT, sample_rate_hz, 0, nullptr);
    if (err < 0 || (err = swr_init(swr)) < 0) {
      swr_free(&swr);
      return InternalError(fmt::format("audio resampler: {}", AvError(err)));
    }
    m.swr.reset(swr);
    m.swr_in_rate = sample_rate_hz;
  }
  const int max_out = swr_get_out_samples(m.swr.get(), static_cast<int>(samples.size()));
  const int channels = m.aenc->ch_layout.nb_channels;
  uint8_t* out[2];
  for (int c = 0; c < channels; ++c) {
    if (static_cast<int>(m.resampled[c].size()) < max_out) m.resampled[c].resize(max_out);
    out[c] = reinterpret_cast<uint8_t*>(m.resampled[c].data());
  }
  const uint8_t* in[1] = {reinterpret_cast<const uint8_t*>(samples.data())};
  const int n = swr_convert(m.swr.get(), out, max_out, in, static_cast<int>(samples.size()));
  if (n < 0) return InternalError(fmt::format("audio resampler: {}", AvError(n)));
  if (av_audio_fifo_write(m.fifo.get(), reinterpret_cast<void**>(out), n) < n) {
    return InternalError("out of memory (audio FIFO)");
  }
  return m.EncodeAudioFrames(false);
}

Status AvMuxer::WriteVideo(const VideoFrameView& frame, int64_t frame_index) {
  Impl& m = *impl_;
  if (m.closed) return InvalidArgumentError("WriteVideo after Close");
  if (frame_index <= m.last_video_index) {
    return InvalidArgumentError(fmt::format("video frame index {} does not increase (last {})",
                                            frame_index, m.last_video_index));
  }
  if (frame.width < 2 || frame.height < 2 || frame.data[0] == nullptr ||
      (frame.format == VideoFrameView::Format::kYuv420p &&
       (frame.data[1] == nullptr || frame.data[2] == nullptr))) {
    return InvalidArgumentError("video frame has no pixels");
  }
  m.sws.reset(sws_getCachedContext(m.sws.release(), frame.width, frame.height, ToAv(frame.format),
                                   m.config.width, m.config.height, AV_PIX_FMT_YUV420P,
                                   SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!m.sws) return InternalError("no pixel converter for this frame");
  if (av_frame_make_writable(m.vframe.get()) < 0) return InternalError("video frame not writable");
  sws_scale(m.sws.get(), frame.data, frame.stride, 0, frame.height, m.vframe->data,
            m.vframe->linesize);
  m.vframe->pts = frame_index;
  m.vframe->pict_type = m.force_keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  m.force_keyframe = false;
  m.last_video_index = frame_index;
  ++m.stats.video_frames;
  return m.Encode(m.venc.get(), m.vframe.get(), m.vstream);
}

Status AvMuxer::RepeatVideo(int64_t frame_index) {
  Impl& m = *impl_;
  if (m.closed) return InvalidArgumentError("RepeatVideo after Close");
  if (frame_index <= m.last_video_index) {
    return InvalidArgumentError(fmt::format("video frame index {} does not increase (last {})",
                                            frame_index, m.last_video_index));
  }
  if (m.last_video_index < 0) {  // nothing yet: black (Y=16, U=V=128)
    if (av_frame_make_writable(m.vframe.get()) < 0)
      return InternalError("video frame not writable");
    for (int p = 0; p < 3; ++p) {
      const int rows = p == 0 ? m.config.height : m.config.height / 2;
      std::memset(m.vframe->data[p], p == 0 ? 16 : 128, size_t(m.vframe->linesize[p]) * rows);
    }
  }
  m.vframe->pts = frame_index;
  m.vframe->pict_type = m.force_keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  m.force_keyframe = false;
  m.last_video_index = frame_index;
  ++m.stats.video_frames;
  return m.Encode(m.venc.get(), m.vframe.get(), m.vstream);
}

Status AvMuxer::Reconnect() {
  Impl& m = *impl_;
  if (m.closed) return InvalidArgumentError("Reconnect after Close");
  m.CloseOutput(false);
  VOXGATE_RETURN_IF_ERROR(m.ConnectWithRetries("reconnecting to"));
  m.force_keyframe = true;  // a viewer joining the new connection needs a picture to start from
  return Status::Ok();
}

Status AvMuxer::Close() {
  Impl& m = *impl_;
  if (m.closed) return Status::Ok();
  m.closed = true;
  Status status = m.EncodeAudioFrames(true);
  Status s = m.Encode(m.aenc.get(), nullptr, m.astream);
  if (status.ok()) status = s;
  s = m.Encode(m.venc.get(), nullptr, m.vstream);
  if (status.ok()) status = s;
  m.CloseOutput(true);
  return status;
}

void AvMuxer::Cancel() { impl_->cancelled.store(true); }
const MuxerStats& AvMuxer::stats() const { return impl_->stats; }
const BroadcastConfig& AvMuxer::config() const { return impl_->config; }
double AvMuxer::WrittenDriftMs() const {
  return static_cast<double>(impl_->stats.last_video_end_ms - impl_->stats.last_audio_end_ms);
}

}  // namespace voxgate::stream
