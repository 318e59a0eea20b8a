#include "telephony/payload_encoder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "audio/g711.h"
#include "audio/opus_codec.h"

namespace voxgate::telephony {
namespace {

Status CheckFrame(size_t got, int want) {
  if (got == static_cast<size_t>(want)) return Status::Ok();
  return InvalidArgumentError("a 20 ms frame is " + std::to_string(want) + " samples, got " +
                              std::to_string(got));
}

class G711Encoder final : public PayloadEncoder {
 public:
  explicit G711Encoder(const CodecSpec& spec) : spec_(spec) {}

  Result<size_t> Encode(std::span<const float> frame, std::span<uint8_t> out) override {
    VOXGATE_RETURN_IF_ERROR(CheckFrame(frame.size(), frame_samples()));
    if (out.size() < frame.size()) {
      return InvalidArgumentError("G.711 needs " + std::to_string(frame.size()) +
                                  " bytes of output, got " + std::to_string(out.size()));
    }
    const bool ulaw = spec_.codec == Codec::kPcmu;
    for (size_t i = 0; i < frame.size(); ++i) {
      // Same scaling as audio::G711Encode: [-1, 1] to 16-bit, clamped; NaN becomes silence.
      const float x = std::isnan(frame[i]) ? 0.0f : std::clamp(frame[i], -1.0f, 1.0f);
      const auto s = static_cast<int16_t>(std::lrint(x * 32767.0f));
      out[i] = ulaw ? audio::LinearToUlaw(s) : audio::LinearToAlaw(s);
    }
    return frame.size();
  }

  const CodecSpec& spec() const override { return spec_; }
  int input_rate_hz() const override { return 8000; }

 private:
  CodecSpec spec_;
};

class OpusPayloadEncoder final : public PayloadEncoder {
 public:
  OpusPayloadEncoder(const CodecSpec& spec, int rate, std::unique_ptr<audio::OpusEncoder> enc)
      : spec_(spec), rate_(rate), encoder_(std::move(enc)) {}

  Result<size_t> Encode(std::span<const float> frame, std::span<uint8_t> out) override {
    VOXGATE_RETURN_IF_ERROR(CheckFrame(frame.size(), frame_samples()));
    return encoder_->Encode(frame, out.first(std::min(out.size(), kMaxPayloadBytes)));
  }

  const CodecSpec& spec() const override { return spec_; }
  int input_rate_hz() const override { return rate_; }

 private:
  CodecSpec spec_;
  int rate_;
  std::unique_ptr<audio::OpusEncoder> encoder_;
};

}  // namespace

Result<std::unique_ptr<PayloadEncoder>> PayloadEncoder::Create(const CodecSpec& spec,
                                                               int input_rate_hz,
                                                               int opus_bitrate_bps) {
  VOXGATE_RETURN_IF_ERROR(CheckRtpClock(spec));
  switch (spec.codec) {
    case Codec::kPcmu:
    case Codec::kPcma:
      if (input_rate_hz != 8000) {
        return InvalidArgumentError("G.711 encodes 8000 Hz input, got " +
                                    std::to_string(input_rate_hz));
      }
      return std::unique_ptr<PayloadEncoder>(new G711Encoder(spec));
    case Codec::kOpus: {
      // Mono: what a call sends, whatever the SDP's "/2" says (RFC 7587 allows mono in a
      // stereo-signalled stream).
      VOXGATE_ASSIGN_OR_RETURN(auto enc,
                               audio::OpusEncoder::Create(input_rate_hz, 1, opus_bitrate_bps));
      return std::unique_ptr<PayloadEncoder>(
          new OpusPayloadEncoder(spec, input_rate_hz, std::move(enc)));
    }
  }
  return InvalidArgumentError("unknown codec");
}

}  // namespace voxgate::telephony
