#include "dsp/signal_quality.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <numeric>
#include <vector>

#include "audio/audio_clip.h"
#include "dsp/real_fft.h"

namespace voxgate::dsp {
namespace {

// Figures quoted below were measured on the first utterance of each of the 10 speakers of
// LibriSpeech test-other (16 kHz), as is ("clean") and through the 8 kHz G.711 round trip
// (libswresample down, mu-law, libswresample up; "G.711").

constexpr int kFrameMs = 20;
constexpr int kMinSampleRateHz = 1000;  // below this a 20 ms frame is too few samples to mean much
constexpr size_t kMinFrames = 5;        // 100 ms: fewer frames give no usable distribution

// SNR from the distribution of frame energies (each frame's mean removed first). The noise floor
// is the mean of the quietest 10 % of frames: pauses in a full recording, the weakest speech
// frames in a VAD-trimmed one (where the estimate then reads lower, the safe side). The speech
// level is the mean of the louder half, which still holds speech when a recording is mostly
// pauses. On the first test-other file: 33.6 dB clean, 25.5 dB with every frame more than 30 dB
// below the loudest cut out (pauses gone), 22.2 dB with white noise at 20 dB and 7.8 dB at 5 dB
// (those SNRs taken over the whole file, pauses included, so they read lower than the
// speech-active level estimated here).
constexpr double kNoiseFrameFraction = 0.10;
constexpr double kSpeechFrameFraction = 0.50;
constexpr double kSilentEnergy = 1e-10;  // mean square under -100 dBFS: below 16-bit dither
constexpr double kMinSnrDb = -10.0;
constexpr double kMaxSnrDb = 60.0;

// Clipping: runs of >= 2 consecutive same-sign samples at or near full scale. A lone sample at
// the top is an ordinary peak; a held value is a clipped one. A recording whose peak is >= 0.9 is
// also judged against its own peak, because clipping often happens before a gain stage (an ADC
// clipped at 0.93 of the file's scale, or a file normalised after clipping). The 10 clean files
// peak-normalised to 0.95 or 1.0 give at most 5e-5; the first one x8 into the rail gives 0.098
// (of the 0.100 of its samples that sit on the rail).
constexpr int kMinClippedRun = 2;
constexpr float kFullScale = 0.99f;
constexpr float kPlateauMinPeak = 0.9f;
constexpr float kPlateauFraction = 0.995f;  // of the peak

// Bandwidth: the frequency below which 99 % of the long-term average power spectrum (LTAS) of the
// louder frames lies, after pre-emphasis (1 - 0.97 z^-1, applied as a weight on the spectrum).
// Why energy and not "the highest bin within N dB of the peak": the G.711 round trip leaves a
// sloping edge (the resamplers' transition bands), and the highest bin within 45 dB of the peak
// then lands anywhere in 3.9-4.45 kHz, on both sides of kNarrowbandMaxHz; the integral is
// steadier. Why pre-emphasis: it flattens speech's falling spectrum, so the measure asks where the
// channel stops rather than how bright the voice is. Energy above 4.3 kHz is -1.2..-6.5 dB of the
// total for the clean files against -35..-53 dB after G.711 (without pre-emphasis -5.8..-25
// against -44..-70: a gap of 19 dB instead of 29). The 99 % point sits in the middle of that gap:
// 6.1-8.0 kHz clean, 3.4-3.9 kHz through G.711. Limitation: a muffled wideband recording whose
// spectrum is already 55-75 dB down above 4.5 kHz (3 of 14 Common Voice clips tried) reads as
// narrowband too, which for a speaker model is much the same channel.
constexpr double kBandwidthEnergyFraction = 0.99;
constexpr double kPreemphasis = 0.97;

// Copies a frame to `out` in double with its mean removed (DC and sub-50 Hz drift are not speech
// and would bias both the noise floor and the spectrum); non-finite samples count as 0. Returns
// the frame's mean square.
double LoadFrame(std::span<const float> in, std::span<double> out) {
  double sum = 0.0;
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = in[i];
    sum += out[i];
  }
  if (!std::isfinite(sum)) {  // rare: clean up only then, off the common path
    sum = 0.0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!std::isfinite(out[i])) out[i] = 0.0;
      sum += out[i];
    }
  }
  const double mean = sum / static_cast<double>(in.size());
  double energy = 0.0;
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] -= mean;
    energy += out[i] * out[i];
  }
  return energy / static_cast<double>(in.size());
}

double SnrDb(double speech_energy, double noise_energy) {
  if (noise_energy <= 0.0) return kMaxSnrDb;  // digital silence in the pauses
  const double ratio = (speech_energy - noise_energy) / noise_energy;
  if (!(ratio > 0.0)) return kMinSnrDb;
  return std::clamp(10.0 * std::log10(ratio), kMinSnrDb, kMaxSnrDb);
}

double ClippingRatio(std::span<const float> x) {
  float peak = 0.0f;
  for (float v : x) peak = std::max(peak, std::abs(v));  // NaN compares false: skipped
  // An infinite peak leaves the level at kFullScale, and infinite samples count as clipped.
  float level = kFullScale;
  if (peak >= kPlateauMinPeak) level = std::min(level, peak * kPlateauFraction);
  if (peak < level) return 0.0;  // the usual case: no sample reaches the level
  size_t clipped = 0;
  size_t run = 0;
  bool run_positive = false;
  for (float v : x) {
    const bool hit = std::abs(v) >= level;  // false for NaN
    const bool positive = v > 0.0f;
    if (hit && run > 0 && positive == run_positive) {
      ++run;
      continue;
    }
    if (run >= kMinClippedRun) clipped += run;
    run = hit ? 1 : 0;
    run_positive = positive;
  }
  if (run >= kMinClippedRun) clipped += run;
  return static_cast<double>(clipped) / static_cast<double>(x.size());
}

constexpr size_t kMaxSpectrumFrames = 16;

// LTAS over the frames whose energy is >= loud_threshold; see kBandwidthEnergyFraction.
double BandwidthHz(std::span<const float> samples, int sample_rate_hz, size_t frame,
                   std::span<const double> energy, double loud_threshold) {
  int fft_size = 4;
  while (static_cast<size_t>(fft_size) < frame) fft_size <<= 1;
  auto fft = RealFft::Create(fft_size);
  if (!fft.ok()) return 0.0;  // cannot happen: frame <= 20 ms at 768 kHz
  const int num_bins = fft_size / 2 + 1;

  // Hann: its sidelobes fall fast enough that the loud low band leaks nothing measurable into an
  // empty band 4 kHz away.
  std::vector<double> window(frame);
  for (size_t n = 0; n < frame; ++n) {
    window[n] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(n) /
                                     static_cast<double>(frame));
  }
  std::vector<double> buffer(fft_size, 0.0);  // zero padding past `frame` stays zero
  std::vector<double> power(num_bins);
  std::vector<double> ltas(num_bins, 0.0);
  std::vector<std::complex<double>> scratch((*fft)->scratch_size());
  // The long-term spectrum needs a second or so of loud speech, not all of it: take at most
  // kMaxSpectrumFrames loud frames, spread evenly (a 3-s probe costs a third as much; a 5-minute
  // upload no longer pays one FFT per 40 ms).
  const size_t loud = static_cast<size_t>(
      std::count_if(energy.begin(), energy.end(), [&](double e) { return e >= loud_threshold; }));
  const size_t stride = std::max<size_t>(1, (loud + kMaxSpectrumFrames - 1) / kMaxSpectrumFrames);
  size_t seen = 0;
  for (size_t f = 0; f < energy.size(); ++f) {
    if (energy[f] < loud_threshold || seen++ % stride != 0) continue;
    LoadFrame(samples.subspan(f * frame, frame), std::span<double>(buffer).first(frame));
    for (size_t n = 0; n < frame; ++n) buffer[n] *= window[n];
    (*fft)->PowerSpectrum(buffer, power, scratch);
    for (int k = 0; k < num_bins; ++k) ltas[k] += power[k];
  }

  // |1 - a e^{-jw}|^2, the pre-emphasis filter's power response; bin 0 (DC) is left out.
  double total = 0.0;
  for (int k = 1; k < num_bins; ++k) {
    const double w = 2.0 * std::numbers::pi * k / fft_size;
    ltas[k] *= 1.0 + kPreemphasis * kPreemphasis - 2.0 * kPreemphasis * std::cos(w);
    total += ltas[k];
  }
  if (!(total > 0.0)) return 0.0;
  const double bin_hz = static_cast<double>(sample_rate_hz) / fft_size;
  const double target = kBandwidthEnergyFraction * total;
  double cumulative = 0.0;
  for (int k = 1; k < num_bins; ++k) {
    if (ltas[k] > 0.0 && cumulative + ltas[k] >= target) {
      // Linear within the bin (which spans k +- 0.5), for a value that moves smoothly.
      const double within = (target - cumulative) / ltas[k];
      return std::clamp((k - 0.5 + within) * bin_hz, 0.0, 0.5 * sample_rate_hz);
    }
    cumulative += ltas[k];
  }
  return 0.5 * sample_rate_hz;
}

}  // namespace

SignalQuality MeasureSignalQuality(std::span<const float> samples, int sample_rate_hz) {
  SignalQuality quality;
  if (sample_rate_hz < kMinSampleRateHz || sample_rate_hz > audio::kMaxSampleRateHz) {
    return quality;
  }
  const size_t frame = static_cast<size_t>(sample_rate_hz) * kFrameMs / 1000;
  const size_t num_frames = samples.size() / frame;
  if (num_frames < kMinFrames) return quality;

  std::vector<double> buffer(frame);
  std::vector<double> energy(num_frames);
  for (size_t f = 0; f < num_frames; ++f) {
    energy[f] = LoadFrame(samples.subspan(f * frame, frame), buffer);
  }

  // Partial sorts: the louder half to the top, then the quietest tenth to the bottom.
  std::vector<double> sorted = energy;
  const auto num_loud = std::max<size_t>(
      1, static_cast<size_t>(kSpeechFrameFraction * static_cast<double>(num_frames)));
  const auto num_quiet = std::max<size_t>(
      1, static_cast<size_t>(kNoiseFrameFraction * static_cast<double>(num_frames)));
  const auto loud_begin = sorted.begin() + static_cast<std::ptrdiff_t>(num_frames - num_loud);
  std::nth_element(sorted.begin(), loud_begin, sorted.end());
  const double loud_threshold = *loud_begin;
  const double speech_energy =
      std::accumulate(loud_begin, sorted.end(), 0.0) / static_cast<double>(num_loud);
  if (!(speech_energy >= kSilentEnergy)) return quality;
  const auto quiet_end = sorted.begin() + static_cast<std::ptrdiff_t>(num_quiet);
  std::nth_element(sorted.begin(), quiet_end, loud_begin);
  const double noise_energy =
      std::accumulate(sorted.begin(), quiet_end, 0.0) / static_cast<double>(num_quiet);

  quality.snr_db = SnrDb(speech_energy, noise_energy);
  quality.clipping_ratio = ClippingRatio(samples);
  quality.bandwidth_hz = BandwidthHz(samples, sample_rate_hz, frame, energy, loud_threshold);
  // An 8 kHz recording is a telephone channel whatever its content.
  quality.narrowband = sample_rate_hz <= 8000 || quality.bandwidth_hz <= kNarrowbandMaxHz;
  return quality;
}

}  // namespace voxgate::dsp
