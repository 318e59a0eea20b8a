// AudioProcessor: noise suppression and automatic gain control for one live stream, with
// webrtc-audio-processing (Debian's 0.3: the WebRTC APM of 2015-16). It sits after the high-pass
// filter and before the VAD: NS takes out stationary noise (fans, line hiss, car hum) that would
// otherwise pass for speech, and the AGC evens out quiet and loud callers so that what follows
// (VAD thresholds, speaker embeddings) sees a consistent level.
//
// Frames are 10 ms of mono float in [-1, 1] (the APM's unit of work). The float ProcessStream()
// overload is used: with the stream format fixed at Create() and no resampling (every supported
// rate is one the APM processes natively), it copies into buffers allocated at initialisation and
// allocates nothing per frame, and it spares a float -> int16 -> float round trip. AGC runs in
// kAdaptiveDigital mode without the APM's "experimental" AGC (which would take the gain control
// over, force kFixedDigital and drive an analog volume the server does not have).
//
// Per stream; not thread-safe. Process10ms() does not allocate; the APM takes an internal mutex
// of its own, which is always uncontended here since one thread owns the object.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace voxgate::dsp {

struct AudioProcessorConfig {
  bool noise_suppression = true;    // WebRTC NS (stationary noise)
  int ns_level = 2;                 // 0 low .. 3 very high: more suppression, more speech damage
  bool agc = true;                  // adaptive digital gain control
  int agc_target_dbfs = 3;          // target peak level, dB below full scale (0..31): 3 = -3 dBFS
  int agc_compression_gain_db = 9;  // most gain the compressor adds to quiet speech, dB (0..90)
  bool agc_limiter = true;          // hard-limit at the target level

  /// kInvalidArgument naming the field out of range.
  Status Validate() const;
  std::string ToString() const;
  /// Reads noise_suppression, ns_level, agc, agc_target_dbfs, agc_compression_gain_db,
  /// agc_limiter.
  Status Load(const ConfigNode& node);
};

class AudioProcessor {
 public:
  /// sample_rate_hz: 8000, 16000, 32000 or 48000. kInvalidArgument on a bad config or rate;
  /// kInternal if the APM refuses a setting.
  static Result<std::unique_ptr<AudioProcessor>> Create(const AudioProcessorConfig& config,
                                                        int sample_rate_hz);
  ~AudioProcessor();
  AudioProcessor(const AudioProcessor&) = delete;
  AudioProcessor& operator=(const AudioProcessor&) = delete;

  /// Processes one 10 ms frame in place: exactly frame_samples() samples, else kInvalidArgument
  /// (the frame is left untouched). kInternal if the APM fails. Allocation-free.
  Status Process10ms(std::span<float> frame);

  /// Samples in a 10 ms frame: sample_rate_hz / 100.
  int frame_samples() const { return sample_rate_hz_ / 100; }
  int sample_rate_hz() const { return sample_rate_hz_; }
  const AudioProcessorConfig& config() const { return config_; }
  /// NS's speech probability for the last frame (0..1); 0 when NS is off.
  float speech_probability() const;

 private:
  struct Impl;
  AudioProcessor(const AudioProcessorConfig& config, int sample_rate_hz,
                 std::unique_ptr<Impl> impl);

  AudioProcessorConfig config_;
  int sample_rate_hz_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::dsp
