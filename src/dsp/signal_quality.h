// Per-recording quality measures for speaker verification: how much noise, how much clipping and
// whether the recording went through a telephone (8 kHz) channel. Enrolment can refuse or flag a
// poor sample, and scoring can pick a threshold (or a model) per channel, from these numbers.
//
// One pass over 20 ms frames plus one FFT per louder frame: ~0.2 ms per second of 16 kHz audio,
// negligible next to a speaker-embedding model. Pure function, thread-safe.
#pragma once

#include <span>

namespace voxgate::dsp {

struct SignalQuality {
  // Estimated speech-to-noise ratio of the recording, dB, in [-10, 60].
  double snr_db = 0.0;
  // Fraction of samples in clipped runs (at or near full scale), [0, 1].
  double clipping_ratio = 0.0;
  // Effective audio bandwidth, Hz: highest frequency with real speech energy.
  double bandwidth_hz = 0.0;
  // bandwidth_hz <= kNarrowbandMaxHz (or a rate <= 8 kHz): a telephone (8 kHz) channel.
  bool narrowband = false;
};

/// Highest effective bandwidth still taken for a telephone channel: G.711 at 8 kHz carries up to
/// ~3.9 kHz, wideband speech measures 6+ kHz (see signal_quality.cc for the measurements).
inline constexpr double kNarrowbandMaxHz = 4300.0;

/// Measures `samples` (mono, float in [-1, 1]) at `sample_rate_hz`. Pure and thread-safe; never
/// fails: a too-short (under 100 ms) or silent (speech level under -100 dBFS) input, or a rate
/// outside 1000..768000 Hz, gives zeros (bandwidth 0, narrowband false). Non-finite samples count
/// as silence. At sample rates <= 8000 Hz narrowband is always true. Cost: ~0.2 ms per second of
/// 16 kHz audio.
SignalQuality MeasureSignalQuality(std::span<const float> samples, int sample_rate_hz);

}  // namespace voxgate::dsp
