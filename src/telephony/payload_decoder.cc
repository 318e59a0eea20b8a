#include "telephony/payload_decoder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "audio/g711.h"
#include "audio/opus_codec.h"

namespace voxgate::telephony {
namespace {

constexpr float kDefaultNoiseRms = 0.001f;  // -60 dBov until a CN packet says otherwise

// Level of an RFC 3389 noise byte: -dBov, 0 dBov being a full-scale square wave (RMS 1.0 here).
float CnLevelToRms(uint8_t level) {
  return std::pow(10.0f, -static_cast<float>(level & 0x7F) / 20.0f);
}

// White noise for comfort noise and the tail of a concealment. xorshift32: cheap, no state beyond
// one word, and deterministic per decoder.
class NoiseSource {
 public:
  /// Uniform noise with RMS `rms`.
  float Next(float rms) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    const float u = static_cast<float>(state_) * (2.0f / 4294967296.0f) - 1.0f;  // [-1, 1)
    return u * rms * 1.7320508f;  // uniform [-1, 1) has RMS 1/sqrt(3)
  }
  void Fill(float rms, std::span<float> out) {
    for (float& v : out) v = Next(rms);
  }

 private:
  uint32_t state_ = 0x9E3779B9u;
};

// ---------------------------------------------------------------------------------------------
// G.711 with Appendix I style concealment (8 kHz).

class G711Decoder final : public PayloadDecoder {
 public:
  explicit G711Decoder(const CodecSpec& spec) : spec_(spec) {}

  Result<int> Decode(std::span<const uint8_t> payload, std::span<float> out) override {
    if (payload.empty()) return InvalidArgumentError("empty G.711 payload");
    if (out.size() < payload.size()) {
      return InvalidArgumentError("G.711 payload of " + std::to_string(payload.size()) +
                                  " bytes needs as many output samples, got " +
                                  std::to_string(out.size()));
    }
    const size_t n = payload.size();
    const bool ulaw = spec_.codec == Codec::kPcmu;
    for (size_t i = 0; i < n; ++i) {
      const int16_t s = ulaw ? audio::UlawToLinear(payload[i]) : audio::AlawToLinear(payload[i]);
      out[i] = static_cast<float>(s) / 32768.0f;
    }
    if (erased_ > 0) {
      // Cross-fade from the continued concealment into the received audio (Appendix I: 1/4
      // pitch period, plus 4 ms per further 10 ms of loss, at most 10 ms).
      const int ola =
          std::min<int>({period_ / 4 + 32 * ((erased_ - 1) / 80), 80, static_cast<int>(n)});
      std::array<float, 80> tail{};
      Synthesize(std::span<float>(tail.data(), static_cast<size_t>(ola)));
      for (int i = 0; i < ola; ++i) {
        const float w = static_cast<float>(i + 1) / static_cast<float>(ola + 1);
        out[i] = w * out[i] + (1.0f - w) * tail[i];
      }
      erased_ = 0;
    }
    PushHistory(out.first(n));
    return static_cast<int>(n);
  }

  int Conceal(int samples, std::span<float> out) override {
    const int n = std::clamp<int>(samples, 0, static_cast<int>(out.size()));
    if (n == 0) return 0;
    if (erased_ == 0) StartErasure();
    Synthesize(out.first(static_cast<size_t>(n)));
    PushHistory(out.first(static_cast<size_t>(n)));
    return n;
  }

  int ComfortNoise(std::span<const uint8_t> cn_payload, int samples,
                   std::span<float> out) override {
    if (!cn_payload.empty()) {
      noise_rms_ = CnLevelToRms(cn_payload[0]);
      cn_known_ = true;
    }
    const int n = std::clamp<int>(samples, 0, static_cast<int>(out.size()));
    noise_.Fill(noise_rms_, out.first(static_cast<size_t>(n)));
    erased_ = 0;  // noise is the sender's signal, not a loss to fade out of
    PushHistory(out.first(static_cast<size_t>(n)));
    return n;
  }

  void Reset() override {
    history_.fill(0.0f);
    erased_ = 0;
    cn_known_ = false;
    noise_rms_ = kDefaultNoiseRms;
  }

  const CodecSpec& spec() const override { return spec_; }
  int output_rate_hz() const override { return 8000; }

 private:
  static constexpr int kHistory = 390;   // 48.75 ms: three longest periods plus an overlap
  static constexpr int kMinPitch = 40;   // 5 ms (200 Hz)
  static constexpr int kMaxPitch = 120;  // 15 ms (66.7 Hz)
  static constexpr int kCorrLen = 160;   // the last 20 ms is matched against the past
  static constexpr int kFullGain = 80;   // the first 10 ms of a loss repeats at full level
  static constexpr int kFadeEnd = 480;   // after 60 ms only comfort noise is left

  void PushHistory(std::span<const float> x) {
    const size_t n = std::min(x.size(), history_.size());
    std::memmove(history_.data(), history_.data() + n, (history_.size() - n) * sizeof(float));
    std::memcpy(history_.data() + history_.size() - n, x.data() + x.size() - n, n * sizeof(float));
  }

  // At the first lost sample: the pitch period and the three repetition cycles.
  void StartErasure() {
    const float* h = history_.data();
    const int end = kHistory;
    double energy = 0;
    for (int i = end - kCorrLen; i < end; ++i) energy += static_cast<double>(h[i]) * h[i];
    voiced_ = energy > 1e-9 * kCorrLen;
    period_ = kMinPitch;
    if (voiced_) {
      double best = -1e300;
      for (int lag = kMinPitch; lag <= kMaxPitch; ++lag) {
        double corr = 0, e = 0;
        for (int i = end - kCorrLen; i < end; ++i) {
          corr += static_cast<double>(h[i]) * h[i - lag];
          e += static_cast<double>(h[i - lag]) * h[i - lag];
        }
        const double score = e > 0 ? corr / std::sqrt(e) : -1e300;
        if (score > best) {
          best = score;
          period_ = lag;
        }
      }
    }
    // Background estimate for the fade when no CN packet told us: well under the quietest 5 ms
    // of the history, within [-70, -50] dBov.
    if (!cn_known_) {
      double quietest = 1e300;
      for (int b = 0; b + 40 <= kHistory; b += 40) {
        double e = 0;
        for (int i = b; i < b + 40; ++i) e += static_cast<double>(h[i]) * h[i];
        quietest = std::min(quietest, std::sqrt(e / 40));
      }
      noise_rms_ = std::clamp(0.5f * static_cast<float>(quietest), 0.000316f, 0.00316f);
    }
    for (int k = 1; k <= 3; ++k) BuildCycle(k);
    periods_ = 1;
    pos_ = 0;
  }

  // cycles_[k-1]: the last k periods of history, their end overlap-added with the 1/4 period
  // before them so that the cycle wraps around without a click.
  void BuildCycle(int k) {
    const int len = k * period_;
    const int ola = std::max(1, period_ / 4);
    const float* h = history_.data();
    float* c = cycles_[k - 1].data();
    std::memcpy(c, h + kHistory - len, static_cast<size_t>(len) * sizeof(float));
    for (int i = 0; i < ola; ++i) {
      const float w = static_cast<float>(i + 1) / static_cast<float>(ola + 1);
      c[len - ola + i] = (1.0f - w) * h[kHistory - ola + i] + w * h[kHistory - len - ola + i];
    }
  }

  // The next concealment samples: periodic repetition fading into noise.
  void Synthesize(std::span<float> out) {
    for (float& v : out) {
      // One more period at 10 ms and at 20 ms into the loss, entered at the same phase (the
      // longer cycle ends with the shorter one).
      const int want = erased_ < 80 ? 1 : (erased_ < 160 ? 2 : 3);
      if (want != periods_) {
        pos_ += (want - periods_) * period_;
        periods_ = want;
      }
      const float periodic = voiced_ ? cycles_[periods_ - 1][pos_] : 0.0f;
      pos_ = (pos_ + 1) % (periods_ * period_);
      float g = 1.0f;
      if (erased_ >= kFadeEnd) {
        g = 0.0f;
      } else if (erased_ >= kFullGain) {
        g = 1.0f - static_cast<float>(erased_ - kFullGain) / (kFadeEnd - kFullGain);
      }
      if (!voiced_) g = 0.0f;
      v = g * periodic + (1.0f - g) * noise_.Next(noise_rms_);
      if (erased_ < kFadeEnd) ++erased_;
    }
  }

  CodecSpec spec_;
  std::array<float, kHistory> history_{};
  std::array<std::array<float, size_t{3} * kMaxPitch>, 3> cycles_{};
  int erased_ = 0;  // samples concealed in the current loss (saturates at kFadeEnd)
  bool voiced_ = false;
  int period_ = kMinPitch;
  int periods_ = 1;
  int pos_ = 0;
  bool cn_known_ = false;
  float noise_rms_ = kDefaultNoiseRms;
  NoiseSource noise_;
};

// ---------------------------------------------------------------------------------------------
// Opus through audio::OpusDecoder.

class OpusPayloadDecoder final : public PayloadDecoder {
 public:
  OpusPayloadDecoder(const CodecSpec& spec, int rate, std::unique_ptr<audio::OpusDecoder> dec)
      : spec_(spec), rate_(rate), decoder_(std::move(dec)) {}

  Result<int> Decode(std::span<const uint8_t> payload, std::span<float> out) override {
    return decoder_->Decode(payload, out);
  }

  int Conceal(int samples, std::span<float> out) override {
    const int quantum = rate_ / 400;  // libopus conceals in multiples of 2.5 ms
    int n = std::min<int>(samples, static_cast<int>(out.size()));
    n = std::min(n, rate_ * 120 / 1000) / quantum * quantum;
    if (n <= 0) return 0;
    auto r = decoder_->Conceal(n, out);
    if (r.ok()) return *r;
    // Not reachable with a valid count; fall back to noise rather than leave garbage.
    noise_.Fill(noise_rms_, out.first(static_cast<size_t>(n)));
    return n;
  }

  int ComfortNoise(std::span<const uint8_t> cn_payload, int samples,
                   std::span<float> out) override {
    if (!cn_payload.empty()) noise_rms_ = CnLevelToRms(cn_payload[0]);
    const int n = std::clamp<int>(samples, 0, static_cast<int>(out.size()));
    noise_.Fill(noise_rms_, out.first(static_cast<size_t>(n)));
    return n;
  }

  void Reset() override {
    decoder_->Reset();
    noise_rms_ = kDefaultNoiseRms;
  }

  const CodecSpec& spec() const override { return spec_; }
  int output_rate_hz() const override { return rate_; }

 private:
  CodecSpec spec_;
  int rate_;
  std::unique_ptr<audio::OpusDecoder> decoder_;
  float noise_rms_ = kDefaultNoiseRms;
  NoiseSource noise_;
};

}  // namespace

Result<std::unique_ptr<PayloadDecoder>> PayloadDecoder::Create(const CodecSpec& spec,
                                                               int output_rate_hz) {
  VOXGATE_RETURN_IF_ERROR(CheckRtpClock(spec));
  switch (spec.codec) {
    case Codec::kPcmu:
    case Codec::kPcma:
      if (output_rate_hz != 8000) {
        return InvalidArgumentError("G.711 decodes at 8000 Hz, asked for " +
                                    std::to_string(output_rate_hz));
      }
      return std::unique_ptr<PayloadDecoder>(new G711Decoder(spec));
    case Codec::kOpus: {
      if (!audio::IsOpusSampleRate(output_rate_hz)) {
        return InvalidArgumentError("Opus cannot decode at " + std::to_string(output_rate_hz) +
                                    " Hz (8000, 12000, 16000, 24000 or 48000)");
      }
      // Signalled as 2 channels in SDP; the stream may carry either, the output is mono.
      const int channels = spec.channels == 2 ? 2 : 1;
      VOXGATE_ASSIGN_OR_RETURN(auto dec, audio::OpusDecoder::Create(output_rate_hz, channels));
      return std::unique_ptr<PayloadDecoder>(
          new OpusPayloadDecoder(spec, output_rate_hz, std::move(dec)));
    }
  }
  return InvalidArgumentError("unknown codec");
}

}  // namespace voxgate::telephony
