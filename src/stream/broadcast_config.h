// BroadcastConfig: what a live RTMP broadcast sends and where (resolution, frame rate, H.264 and
// AAC rate control, reconnection). Presets give the usual platform profiles; every field can be
// overridden after FromPreset(). Value type, thread-compatible.
//
// The URL carries the stream key as its last path element (rtmp://host/app/KEY): it is a secret, so
// ToString(), logs and every error message show the URL through RedactUrl() only.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace voxgate::stream {

struct BroadcastConfig {
  std::string url;              // rtmp://host[:port]/app/key, rtmps://..., or file:/path.flv
  std::string preset = "540p";  // the preset the fields below started from (reporting only)
  // The stream key kept out of the URL and the config: the name of an environment variable, or
  // a file whose first line is the key (at most one of the two). When set, url names the
  // application only (rtmp://host/app) and the key is appended when connecting.
  std::string stream_key_env;
  std::string stream_key_file;

  // Video (defaults: the "540p" preset).
  int width = 960;                // pixels, even
  int height = 540;               // pixels, even
  int fps = 25;                   // frames per second; the video clock ticks at this rate
  int video_bitrate_kbps = 2000;  // CBR target (also the VBV max rate)
  int vbv_buffer_kbits = 0;       // VBV buffer; 0: one second of video_bitrate_kbps
  int gop_frames = 0;             // keyframe interval; 0: 2 x fps
  int keyint_min_frames = 0;      // shortest keyframe interval (scene cuts); 0: fps
  std::string x264_preset = "ultrafast";
  std::string x264_tune = "zerolatency";
  int encoder_threads = 0;  // libx264 threads; 0: libx264 decides

  // Audio.
  int audio_sample_rate_hz = 44100;  // AAC rate (input is resampled to it)
  int audio_channels = 2;            // 1 or 2 (mono input is copied to both channels)
  int audio_bitrate_kbps = 128;      // AAC bitrate

  // Connection.
  double connect_timeout_s = 5.0;      // per attempt: TCP connect + RTMP handshake
  int reconnect_attempts = 3;          // attempts to connect (and to reconnect); -1: forever
  double reconnect_backoff_s = 0.5;    // wait before the 2nd attempt; doubles each time
  double reconnect_backoff_max_s = 8;  // cap on one wait

  /// The config of a named preset: "540p" (960x540@25, 2 Mbps, the default), "720p"
  /// (1280x720@30, 3 Mbps), "mobile" (640x360@15, 1 Mbps). kInvalidArgument for another name.
  static Result<BroadcastConfig> FromPreset(std::string_view name);

  /// The URL to connect to: url, plus "/KEY" when stream_key_env or stream_key_file is set.
  /// kNotFound: the variable is unset or the file is missing; kInvalidArgument: an empty key or
  /// one with '/', '?' or whitespace. Messages name the variable or file, never the key.
  Result<std::string> ConnectUrl() const;

  int GopFrames() const { return gop_frames > 0 ? gop_frames : 2 * fps; }
  int KeyintMinFrames() const { return keyint_min_frames > 0 ? keyint_min_frames : fps; }
  int VbvBufferKbits() const {
    return vbv_buffer_kbits > 0 ? vbv_buffer_kbits : video_bitrate_kbps;
  }

  /// kInvalidArgument naming the field; URL errors say what is wrong with it (scheme, host, port,
  /// path) and show it redacted.
  Status Validate() const;
  /// One line, the URL redacted.
  std::string ToString() const;
};

/// The URL with its secret parts replaced by "***": the last path element (the stream key), any
/// query string and any user:password@. Applied to every URL but file: ones, so that a mistyped
/// scheme does not leak the key in the error that reports it. Never fails, whatever the input.
std::string RedactUrl(std::string_view url);

/// Checks an output URL: kInvalidArgument for a scheme other than rtmp, rtmps or file, for a
/// missing host or app, a bad port, whitespace or control characters. Messages are redacted.
Status ValidateBroadcastUrl(std::string_view url);

}  // namespace voxgate::stream
