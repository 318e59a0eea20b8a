// DecodeJob: one decode of one input, from probing the bytes to mono float samples. It owns every
// FFmpeg object it creates (freed on every path out), refuses formats that are not audio, checks
// for truncation that FFmpeg itself lets pass (WAV data chunks, Ogg pages, header lengths) and
// stops as soon as the input is over DecodeConfig::max_duration_s or shows corruption.
// Internal to voxgate_audio (behind DecodeFile/DecodeMemory). Not thread-safe: one per call.
#pragma once

#include <string>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/avio_input.h"
#include "audio/ffmpeg_util.h"
#include "audio/mono_converter.h"

namespace voxgate::audio {

class DecodeJob {
 public:
  /// `input` (non-empty) and `config` (valid) must outlive the job.
  DecodeJob(AvioInput& input, const DecodeConfig& config);

  /// Runs the decode once; see audio_decoder.h for the errors.
  Result<AudioClip> Run();

 private:
  Status Open();
  Status CheckWavDataChunk();
  Status CheckOggTail();
  Status OpenDecoder();
  Status CheckDeclaredDuration();
  Status DecodeAll();
  Status ReceiveFrames();
  void NoteDecodeError(int error);
  Result<AudioClip> Finish();

  AvioInput& input_;
  const DecodeConfig& config_;
  MonoConverter converter_;

  const AVInputFormat* format_ = nullptr;
  std::string container_;   // first name of the demuxer ("wav", "mov", "ogg")
  std::string codec_name_;  // "pcm_s16le", "opus"
  FormatContextPtr format_ctx_;
  AVStream* stream_ = nullptr;  // owned by format_ctx_
  CodecContextPtr codec_ctx_;
  FramePtr frame_;

  std::vector<float> samples_;
  double declared_s_ = 0.0;  // length from the container header; 0 when it does not say
  double decoded_s_ = 0.0;   // decoded so far, at the source rate
  int packets_ = 0;          // packets of our stream sent to the decoder
  int decode_errors_ = 0;
  int first_decode_error_ = 0;
  int first_error_packet_ = 0;  // packets_ when the first error came
  double first_error_s_ = 0.0;
  int read_error_ = 0;
};

}  // namespace voxgate::audio
