// AvMuxer: the encoders and the FLV output of one broadcast, on FFmpeg's libraries: H.264 with
// libx264 (preset/tune from the config, GOP = gop_frames, CBR with VBV), AAC (FFmpeg's encoder),
// FLV over RTMP (or to a file: URL). Audio comes in as mono float at any rate and is resampled
// with libswresample to the AAC rate; its PTS is the count of AAC samples sent, so the audio
// timeline is exact. Video comes in as RGBA/BGRA/YUV420P pictures stamped with their frame index
// (PTS in 1/fps), converted with libswscale.
//
// Connection: Open() tries reconnect_attempts times (each bounded by connect_timeout_s, the waits
// between growing from reconnect_backoff_s, doubling, up to reconnect_backoff_max_s); Reconnect()
// does the same for a broken connection, keeping the encoders and timestamps, and makes the next
// video frame a keyframe. A write that stalls longer than connect_timeout_s fails with
// kUnavailable. Every error message shows the URL redacted (RedactUrl), never the stream key.
//
// Not thread-safe: one thread (the broadcaster's output thread) owns it. Cancel() alone may be
// called from any thread, to abort a connect, a backoff wait or a stalled write.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"
#include "stream/broadcast_config.h"

namespace voxgate::stream {

/// A picture to encode. data/stride: one plane for kRgba/kBgra (4 bytes a pixel; cairo's ARGB32
/// is kBgra on little-endian machines), three for kYuv420p. Width/height may differ from the
/// broadcast's: the picture is scaled.
struct VideoFrameView {
  enum class Format { kRgba, kBgra, kYuv420p };
  Format format = Format::kBgra;
  int width = 0;
  int height = 0;
  const uint8_t* data[3] = {nullptr, nullptr, nullptr};
  int stride[3] = {0, 0, 0};
};

struct MuxerStats {
  int64_t video_frames = 0;   // pictures encoded
  int64_t audio_samples = 0;  // samples at the AAC rate sent to the encoder (the audio clock)
  int64_t packets_written = 0;
  int64_t bytes_written = 0;      // FLV bytes handed to the connection (all connections)
  int64_t last_video_end_ms = 0;  // end of the last video packet written, stream time
  int64_t last_audio_end_ms = 0;  // end of the last audio packet written, stream time
  int connects = 0;               // successful connections (1 + reconnects)
  int failed_attempts = 0;        // connection attempts that failed
};

class AvMuxer {
 public:
  /// Validates the config, opens the encoders, connects and writes the FLV header. Errors:
  /// kInvalidArgument (config or URL: wrong scheme, malformed), kUnavailable (could not connect
  /// after the attempts: unreachable host, refused, handshake timeout; names the attempts and the
  /// last cause), kInternal (an encoder missing).
  static Result<std::unique_ptr<AvMuxer>> Open(const BroadcastConfig& config);
  /// Closes without flushing if Close() was not called.
  ~AvMuxer();
  AvMuxer(const AvMuxer&) = delete;
  AvMuxer& operator=(const AvMuxer&) = delete;

  /// Mono float samples at sample_rate_hz (1..384000; may change between calls only at a
  /// restart of the resampler, which loses its few ms of filter state).
  Status WriteAudio(std::span<const float> samples, int sample_rate_hz);
  /// A picture for video slot frame_index (PTS = frame_index / fps); indices must increase.
  Status WriteVideo(const VideoFrameView& frame, int64_t frame_index);
  /// Sends the previous picture again for slot frame_index (the renderer had nothing new): no
  /// conversion, just another encode. Black before the first WriteVideo().
  Status RepeatVideo(int64_t frame_index);
  /// Drops the connection and connects again (same attempts and backoff as Open()).
  Status Reconnect();
  /// Flushes both encoders (the last partial AAC frame is padded), writes the FLV trailer and
  /// closes the connection. Idempotent.
  Status Close();
  /// Aborts connects, backoff waits and stalled writes from any thread (they fail kUnavailable).
  void Cancel();

  const MuxerStats& stats() const;
  /// The A/V offset of what was written: end of the last video packet minus end of the last audio
  /// packet, in ms.
  double WrittenDriftMs() const;
  const BroadcastConfig& config() const;

 private:
  struct Impl;
  explicit AvMuxer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::stream
