#include "dsp/fbank.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <complex>
#include <numbers>
#include <sstream>

#include "dsp/real_fft.h"

namespace voxgate::dsp {
namespace {

// Longest analysis window accepted, in samples (2^20 = 65 s at 16 kHz): keeps every size an int.
constexpr double kMaxWindowSamples = 1 << 20;

struct FrameSizes {
  int window_size = 0;   // samples per frame
  int window_shift = 0;  // samples between frame starts
  int padded_size = 0;   // FFT size: window_size rounded up to a power of two
};

// Same arithmetic (and truncation) as torchaudio's _get_waveform_and_window_properties.
FrameSizes ComputeFrameSizes(const FbankConfig& c) {
  FrameSizes s;
  s.window_size =
      static_cast<int>(static_cast<double>(c.sample_rate_hz) * c.frame_length_ms * 0.001);
  s.window_shift =
      static_cast<int>(static_cast<double>(c.sample_rate_hz) * c.frame_shift_ms * 0.001);
  s.padded_size = 1;
  while (s.padded_size < s.window_size) s.padded_size <<= 1;
  return s;
}

double MelScale(double freq_hz) { return 1127.0 * std::log(1.0 + freq_hz / 700.0); }

double EffectiveHighFreq(const FbankConfig& c) {
  const double nyquist = 0.5 * c.sample_rate_hz;
  return c.high_freq_hz <= 0.0f ? nyquist + c.high_freq_hz : c.high_freq_hz;
}

// Triangular filters, equally spaced on Kaldi's mel scale (1127 ln(1 + f/700)), with weights
// computed in the mel domain over FFT bins 0..N/2-1 (the Nyquist bin never contributes), as
// kaldi::MelBanks and torchaudio's get_mel_banks. Only the non-zero run of each filter is kept.
struct MelBanks {
  std::vector<int> first_bin;       // per mel bin: first FFT bin with a non-zero weight
  std::vector<int> weights_offset;  // per mel bin + 1 sentinel: range into weights
  std::vector<double> weights;
};

// The weights are computed in float32, in torchaudio's order of operations (Kaldi's MelBanks too
// works in float): a narrow low-frequency filter can put a weight of ~0.1 on a strong FFT bin, and
// double-precision weights would differ from theirs by 1e-4 relative, 2e-4 in the log energy.
Result<MelBanks> ComputeMelBanks(const FbankConfig& c, int padded_size) {
  const int num_bins = c.num_mel_bins;
  const int num_fft_bins = padded_size / 2;
  const auto fft_bin_width =
      static_cast<float>(static_cast<double>(c.sample_rate_hz) / padded_size);
  const double mel_low_d = MelScale(c.low_freq_hz);
  const double mel_high_d = MelScale(EffectiveHighFreq(c));
  const auto mel_low = static_cast<float>(mel_low_d);
  const auto mel_delta = static_cast<float>((mel_high_d - mel_low_d) / (num_bins + 1));
  auto mel_scale_f32 = [](float f) { return 1127.0f * std::log(1.0f + f / 700.0f); };

  MelBanks banks;
  banks.first_bin.resize(num_bins);
  banks.weights_offset.resize(num_bins + 1);
  for (int m = 0; m < num_bins; ++m) {
    const auto bin = static_cast<float>(m);
    const float left = mel_low + bin * mel_delta;
    const float center = mel_low + (bin + 1.0f) * mel_delta;
    const float right = mel_low + (bin + 2.0f) * mel_delta;
    banks.weights_offset[m] = static_cast<int>(banks.weights.size());
    int first = -1;
    for (int i = 0; i < num_fft_bins; ++i) {
      const float mel = mel_scale_f32(fft_bin_width * static_cast<float>(i));
      const float up = (mel - left) / (center - left);
      const float down = (right - mel) / (right - center);
      const float w = std::min(up, down);
      if (w > 0.0f) {
        if (first < 0) first = i;
        // Zeros inside the run cannot occur (a triangle is convex); keep the run contiguous.
        banks.weights.resize(banks.weights_offset[m] + (i - first) + 1, 0.0);
        banks.weights.back() = w;
      }
    }
    if (first < 0) {
      std::ostringstream msg;
      msg << "fbank: mel bin " << m << " of " << num_bins << " covers no FFT bin (a " << padded_size
          << "-point FFT over " << c.low_freq_hz << ".." << EffectiveHighFreq(c)
          << " Hz); use fewer num_mel_bins, a longer frame or a wider band";
      return InvalidArgumentError(msg.str());
    }
    banks.first_bin[m] = first;
  }
  banks.weights_offset[num_bins] = static_cast<int>(banks.weights.size());
  return banks;
}

Result<std::vector<double>> ComputeWindow(const std::string& type, int size) {
  std::vector<double> window(size);
  const double a = 2.0 * std::numbers::pi / (size - 1);
  for (int n = 0; n < size; ++n) {
    double w;
    if (type == "povey") {
      w = std::pow(0.5 - 0.5 * std::cos(a * n), 0.85);  // Hann^0.85: zero at both ends
    } else if (type == "hanning") {
      w = 0.5 - 0.5 * std::cos(a * n);
    } else if (type == "hamming") {
      w = 0.54 - 0.46 * std::cos(a * n);
    } else if (type == "rectangular") {
      w = 1.0;
    } else if (type == "blackman") {
      // Kaldi's blackman_coeff = 0.42 (not numpy's exact Blackman).
      w = 0.42 - 0.5 * std::cos(a * n) + 0.08 * std::cos(2.0 * a * n);
    } else {
      return InvalidArgumentError("fbank: unknown window_type \"" + type +
                                  "\" (want povey, hanning, hamming, rectangular or blackman)");
    }
    window[n] = w;
  }
  return window;
}

std::string FormatFloat(float v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

Status FbankConfig::Validate() const {
  auto bad = [](const std::string& msg) { return InvalidArgumentError("fbank: " + msg); };
  if (sample_rate_hz <= 0) {
    return bad("sample_rate_hz must be positive, got " + std::to_string(sample_rate_hz));
  }
  if (num_mel_bins < 3) {
    return bad("num_mel_bins must be at least 3, got " + std::to_string(num_mel_bins));
  }
  // Written as !(x > 0) so that NaN fails too.
  if (!(frame_length_ms > 0.0f) || !std::isfinite(frame_length_ms)) {
    return bad("frame_length_ms must be positive, got " + FormatFloat(frame_length_ms));
  }
  if (!(frame_shift_ms > 0.0f) || !std::isfinite(frame_shift_ms)) {
    return bad("frame_shift_ms must be positive, got " + FormatFloat(frame_shift_ms));
  }
  if (frame_shift_ms > frame_length_ms) {
    return bad("frame_shift_ms (" + FormatFloat(frame_shift_ms) +
               ") must not exceed frame_length_ms (" + FormatFloat(frame_length_ms) + ")");
  }
  if (static_cast<double>(sample_rate_hz) * frame_length_ms * 0.001 > kMaxWindowSamples) {
    return bad("frame_length_ms " + FormatFloat(frame_length_ms) + " is too long");
  }
  const FrameSizes sizes = ComputeFrameSizes(*this);
  if (sizes.window_size < 2) {
    return bad("frame_length_ms " + FormatFloat(frame_length_ms) + " at " +
               std::to_string(sample_rate_hz) + " Hz is shorter than 2 samples");
  }
  if (sizes.window_shift < 1) {
    return bad("frame_shift_ms " + FormatFloat(frame_shift_ms) + " at " +
               std::to_string(sample_rate_hz) + " Hz is shorter than 1 sample");
  }
  if (!(preemphasis >= 0.0f && preemphasis <= 1.0f)) {
    return bad("preemphasis must be in [0, 1], got " + FormatFloat(preemphasis));
  }
  const double nyquist = 0.5 * sample_rate_hz;
  if (!(low_freq_hz >= 0.0f && low_freq_hz < nyquist)) {
    return bad("low_freq_hz must be in [0, Nyquist = " + FormatFloat(nyquist) + "), got " +
               FormatFloat(low_freq_hz));
  }
  if (!std::isfinite(high_freq_hz)) return bad("high_freq_hz must be finite");
  const double high = EffectiveHighFreq(*this);
  if (!(high > 0.0 && high <= nyquist)) {
    return bad("high_freq_hz " + FormatFloat(high_freq_hz) + " gives " + FormatFloat(high) +
               " Hz, outside (0, Nyquist = " + FormatFloat(nyquist) + "]");
  }
  if (!(low_freq_hz < high)) {
    return bad("low_freq_hz (" + FormatFloat(low_freq_hz) + ") must be below the high frequency (" +
               FormatFloat(high) + " Hz)");
  }
  VOXGATE_RETURN_IF_ERROR(ComputeWindow(window_type, 2).status());
  return ComputeMelBanks(*this, sizes.padded_size).status();
}

std::string FbankConfig::ToString() const {
  std::ostringstream os;
  os << "FbankConfig{sample_rate_hz=" << sample_rate_hz << ", num_mel_bins=" << num_mel_bins
     << ", frame_length_ms=" << frame_length_ms << ", frame_shift_ms=" << frame_shift_ms
     << ", preemphasis=" << preemphasis << ", remove_dc_offset=" << remove_dc_offset
     << ", window_type=" << window_type << ", low_freq_hz=" << low_freq_hz
     << ", high_freq_hz=" << high_freq_hz << ", snip_edges=" << snip_edges
     << ", scale_to_int16=" << scale_to_int16 << ", mean_normalize=" << mean_normalize << "}";
  return os.str();
}

struct Fbank::Impl {
  FbankConfig config;
  FrameSizes sizes;
  std::vector<double> window;
  MelBanks banks;
  std::unique_ptr<RealFft> fft;
};

Result<std::unique_ptr<Fbank>> Fbank::Create(const FbankConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->sizes = ComputeFrameSizes(config);
  VOXGATE_ASSIGN_OR_RETURN(impl->window,
                           ComputeWindow(config.window_type, impl->sizes.window_size));
  VOXGATE_ASSIGN_OR_RETURN(impl->banks, ComputeMelBanks(config, impl->sizes.padded_size));
  VOXGATE_ASSIGN_OR_RETURN(impl->fft, RealFft::Create(impl->sizes.padded_size));
  return std::unique_ptr<Fbank>(new Fbank(std::move(impl)));
}

Fbank::Fbank(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fbank::~Fbank() = default;

const FbankConfig& Fbank::config() const { return impl_->config; }

int Fbank::NumFrames(size_t num_samples) const {
  const auto size = static_cast<size_t>(impl_->sizes.window_size);
  const auto shift = static_cast<size_t>(impl_->sizes.window_shift);
  size_t frames;
  if (impl_->config.snip_edges) {
    frames = num_samples < size ? 0 : 1 + (num_samples - size) / shift;
  } else {
    frames = (num_samples + shift / 2) / shift;
  }
  return static_cast<int>(std::min<size_t>(frames, INT32_MAX));
}

Features Fbank::Compute(std::span<const float> samples) const {
  const Impl& s = *impl_;
  const FbankConfig& c = s.config;
  const int window_size = s.sizes.window_size;
  const int dim = c.num_mel_bins;

  Features out;
  out.dim = dim;
  out.num_frames = NumFrames(samples.size());
  if (out.num_frames == 0) return out;
  out.data.resize(static_cast<size_t>(out.num_frames) * dim);

  // Per-call scratch: nothing is allocated per frame, nothing is shared between calls. The frame
  // is processed in double (see real_fft.h for why); only the log energies are stored as float.
  std::vector<double> frame(s.sizes.padded_size, 0.0);  // the zero tail is never written
  std::vector<double> power(s.sizes.padded_size / 2 + 1);
  std::vector<std::complex<double>> fft_scratch(s.fft->scratch_size());

  const double scale = c.scale_to_int16 ? 32768.0 : 1.0;
  const double preemphasis = c.preemphasis;
  const auto num_samples = static_cast<int64_t>(samples.size());
  // torch.finfo(torch.float32).eps, the floor torchaudio puts under the mel energies.
  constexpr double kEnergyFloor = FLT_EPSILON;

  for (int f = 0; f < out.num_frames; ++f) {
    const int64_t start = c.snip_edges ? static_cast<int64_t>(f) * s.sizes.window_shift
                                       : static_cast<int64_t>(f) * s.sizes.window_shift +
                                             s.sizes.window_shift / 2 - window_size / 2;
    if (start >= 0 && start + window_size <= num_samples) {
      for (int j = 0; j < window_size; ++j) frame[j] = samples[start + j] * scale;
    } else {
      // snip_edges=false: mirror around the edges as Kaldi does (-1 -> 0, n -> n-1); repeated
      // reflections only for pathological, very short inputs.
      for (int j = 0; j < window_size; ++j) {
        int64_t k = start + j;
        while (k < 0 || k >= num_samples) k = k < 0 ? -k - 1 : 2 * num_samples - 1 - k;
        frame[j] = samples[k] * scale;
      }
    }

    if (c.remove_dc_offset) {
      double sum = 0.0;
      for (int j = 0; j < window_size; ++j) sum += frame[j];
      const double mean = sum / window_size;
      for (int j = 0; j < window_size; ++j) frame[j] -= mean;
    }
    if (preemphasis != 0.0) {
      for (int j = window_size - 1; j > 0; --j) frame[j] -= preemphasis * frame[j - 1];
      frame[0] -= preemphasis * frame[0];  // Kaldi: the first sample pre-emphasises itself
    }
    for (int j = 0; j < window_size; ++j) frame[j] *= s.window[j];

    s.fft->PowerSpectrum(frame, power, fft_scratch);

    float* row = out.data.data() + static_cast<size_t>(f) * dim;
    for (int m = 0; m < dim; ++m) {
      const double* w = s.banks.weights.data() + s.banks.weights_offset[m];
      const double* p = power.data() + s.banks.first_bin[m];
      const int n = s.banks.weights_offset[m + 1] - s.banks.weights_offset[m];
      double energy = 0.0;
      for (int i = 0; i < n; ++i) energy += w[i] * p[i];
      row[m] = static_cast<float>(std::log(std::max(energy, kEnergyFloor)));
    }
  }

  if (c.mean_normalize) {
    std::vector<double> mean(dim, 0.0);
    for (int f = 0; f < out.num_frames; ++f) {
      const float* row = out.data.data() + static_cast<size_t>(f) * dim;
      for (int m = 0; m < dim; ++m) mean[m] += row[m];
    }
    std::vector<float> mean_f(dim);
    for (int m = 0; m < dim; ++m) mean_f[m] = static_cast<float>(mean[m] / out.num_frames);
    for (int f = 0; f < out.num_frames; ++f) {
      float* row = out.data.data() + static_cast<size_t>(f) * dim;
      for (int m = 0; m < dim; ++m) row[m] -= mean_f[m];
    }
  }
  return out;
}

}  // namespace voxgate::dsp
