#include "audio/opus_codec.h"

#include <opus/opus.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace voxgate::audio {
namespace {

constexpr int kMaxPacketMs = 120;  // the longest packet RFC 6716 allows
constexpr int kMinBitrateBps = 6000;
constexpr int kMaxBitrateBps = 510000;

Status CheckRateAndChannels(const char* who, int sample_rate_hz, int channels) {
  if (!IsOpusSampleRate(sample_rate_hz)) {
    return InvalidArgumentError(std::string(who) +
                                ": sample rate must be 8000, 12000, 16000, 24000 or 48000 Hz, "
                                "got " +
                                std::to_string(sample_rate_hz));
  }
  if (channels != 1 && channels != 2) {
    return InvalidArgumentError(std::string(who) + ": channels must be 1 or 2, got " +
                                std::to_string(channels));
  }
  return Status::Ok();
}

Status OpusError(const char* what, int code) {
  return DataLossError(std::string(what) + ": " + opus_strerror(code));
}

}  // namespace

bool IsOpusSampleRate(int sample_rate_hz) {
  switch (sample_rate_hz) {
    case 8000:
    case 12000:
    case 16000:
    case 24000:
    case 48000:
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// OpusDecoder

Result<std::unique_ptr<OpusDecoder>> OpusDecoder::Create(int sample_rate_hz, int channels) {
  VOXGATE_RETURN_IF_ERROR(CheckRateAndChannels("opus decoder", sample_rate_hz, channels));
  int err = OPUS_OK;
  // Always a mono decoder: libopus renders a stereo stream as mono itself.
  ::OpusDecoder* decoder = opus_decoder_create(sample_rate_hz, 1, &err);
  if (decoder == nullptr || err != OPUS_OK) {
    if (decoder != nullptr) opus_decoder_destroy(decoder);
    return InternalError(std::string("opus_decoder_create: ") + opus_strerror(err));
  }
  return std::unique_ptr<OpusDecoder>(new OpusDecoder(sample_rate_hz, channels, decoder));
}

OpusDecoder::OpusDecoder(int sample_rate_hz, int channels, ::OpusDecoder* decoder)
    : sample_rate_hz_(sample_rate_hz), channels_(channels), decoder_(decoder) {}

OpusDecoder::~OpusDecoder() { opus_decoder_destroy(decoder_); }

Result<int> OpusDecoder::Decode(std::span<const uint8_t> packet, std::span<float> out) {
  if (packet.empty()) {
    return InvalidArgumentError("opus decode: empty packet (use Conceal for a lost one)");
  }
  if (packet.size() > static_cast<size_t>(std::numeric_limits<opus_int32>::max())) {
    return InvalidArgumentError("opus decode: packet too large");
  }
  const auto len = static_cast<opus_int32>(packet.size());
  // The duration comes from the TOC byte and frame count alone; checking it first means a packet
  // that does not fit is refused before the decoder state moves.
  const int samples = opus_decoder_get_nb_samples(decoder_, packet.data(), len);
  // A code-3 packet may declare zero frames; libopus would call that a bad argument.
  if (samples <= 0) return OpusError("opus decode", samples < 0 ? samples : OPUS_INVALID_PACKET);
  if (samples > static_cast<int>(std::min<size_t>(out.size(), std::numeric_limits<int>::max()))) {
    return InvalidArgumentError("opus decode: packet holds " + std::to_string(samples) +
                                " samples, output has room for " + std::to_string(out.size()));
  }
  const int n = opus_decode_float(decoder_, packet.data(), len, out.data(), samples, 0);
  if (n < 0) return OpusError("opus decode", n);
  return n;
}

Status OpusDecoder::CheckGapSamples(int samples, size_t out_size) const {
  const int step = sample_rate_hz_ / 400;  // 2.5 ms
  const int max_samples = sample_rate_hz_ / 1000 * kMaxPacketMs;
  if (samples <= 0 || samples % step != 0 || samples > max_samples) {
    return InvalidArgumentError("opus: a gap must be a multiple of 2.5 ms (" +
                                std::to_string(step) + " samples) up to 120 ms, got " +
                                std::to_string(samples));
  }
  if (static_cast<size_t>(samples) > out_size) {
    return InvalidArgumentError("opus: gap of " + std::to_string(samples) +
                                " samples, output has room for " + std::to_string(out_size));
  }
  return Status::Ok();
}

Result<int> OpusDecoder::Conceal(int samples, std::span<float> out) {
  VOXGATE_RETURN_IF_ERROR(CheckGapSamples(samples, out.size()));
  const int n = opus_decode_float(decoder_, nullptr, 0, out.data(), samples, 0);
  if (n < 0) return InternalError(std::string("opus conceal: ") + opus_strerror(n));
  return n;
}

Result<int> OpusDecoder::DecodeFec(std::span<const uint8_t> next_packet, int samples,
                                   std::span<float> out) {
  if (next_packet.empty()) return Conceal(samples, out);
  if (next_packet.size() > static_cast<size_t>(std::numeric_limits<opus_int32>::max())) {
    return InvalidArgumentError("opus fec: packet too large");
  }
  VOXGATE_RETURN_IF_ERROR(CheckGapSamples(samples, out.size()));
  const auto len = static_cast<opus_int32>(next_packet.size());
  // Refuse a corrupt carrier up front, as Decode() would.
  const int packet_samples = opus_decoder_get_nb_samples(decoder_, next_packet.data(), len);
  if (packet_samples <= 0) {
    return OpusError("opus fec", packet_samples < 0 ? packet_samples : OPUS_INVALID_PACKET);
  }
  const int n = opus_decode_float(decoder_, next_packet.data(), len, out.data(), samples, 1);
  if (n < 0) return OpusError("opus fec", n);
  return n;
}

int OpusDecoder::last_packet_duration() const {
  opus_int32 duration = 0;
  opus_decoder_ctl(decoder_, OPUS_GET_LAST_PACKET_DURATION(&duration));
  return duration;
}

void OpusDecoder::Reset() { opus_decoder_ctl(decoder_, OPUS_RESET_STATE); }

// ---------------------------------------------------------------------------------------------
// OpusEncoder

Result<std::unique_ptr<OpusEncoder>> OpusEncoder::Create(int sample_rate_hz, int channels,
                                                         int bitrate_bps) {
  VOXGATE_RETURN_IF_ERROR(CheckRateAndChannels("opus encoder", sample_rate_hz, channels));
  if (bitrate_bps < kMinBitrateBps || bitrate_bps > kMaxBitrateBps) {
    return InvalidArgumentError("opus encoder: bitrate must be 6000..510000 bps, got " +
                                std::to_string(bitrate_bps));
  }
  int err = OPUS_OK;
  ::OpusEncoder* encoder =
      opus_encoder_create(sample_rate_hz, channels, OPUS_APPLICATION_VOIP, &err);
  if (encoder == nullptr || err != OPUS_OK) {
    if (encoder != nullptr) opus_encoder_destroy(encoder);
    return InternalError(std::string("opus_encoder_create: ") + opus_strerror(err));
  }
  std::unique_ptr<OpusEncoder> result(new OpusEncoder(sample_rate_hz, channels, encoder));
  for (const auto& [request, ok] :
       {std::pair{"bitrate", opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bitrate_bps))},
        {"inband fec", opus_encoder_ctl(encoder, OPUS_SET_INBAND_FEC(1))},
        {"packet loss",
         opus_encoder_ctl(encoder, OPUS_SET_PACKET_LOSS_PERC(kDefaultExpectedLossPct))}}) {
    if (ok != OPUS_OK) {
      return InternalError(std::string("opus encoder: setting ") + request + ": " +
                           opus_strerror(ok));
    }
  }
  return result;
}

OpusEncoder::OpusEncoder(int sample_rate_hz, int channels, ::OpusEncoder* encoder)
    : sample_rate_hz_(sample_rate_hz), channels_(channels), encoder_(encoder) {}

OpusEncoder::~OpusEncoder() { opus_encoder_destroy(encoder_); }

Status OpusEncoder::SetExpectedLossPct(int loss_pct) {
  if (loss_pct < 0 || loss_pct > 100) {
    return InvalidArgumentError("opus encoder: expected loss must be 0..100 %, got " +
                                std::to_string(loss_pct));
  }
  const int err = opus_encoder_ctl(encoder_, OPUS_SET_PACKET_LOSS_PERC(loss_pct));
  if (err != OPUS_OK) return InternalError(std::string("opus encoder: ") + opus_strerror(err));
  return Status::Ok();
}

Status OpusEncoder::SetBitrate(int bitrate_bps) {
  if (bitrate_bps < kMinBitrateBps || bitrate_bps > kMaxBitrateBps) {
    return InvalidArgumentError("opus encoder: bitrate must be 6000..510000 bps, got " +
                                std::to_string(bitrate_bps));
  }
  const int err = opus_encoder_ctl(encoder_, OPUS_SET_BITRATE(bitrate_bps));
  if (err != OPUS_OK) return InternalError(std::string("opus encoder: ") + opus_strerror(err));
  return Status::Ok();
}

Result<size_t> OpusEncoder::Encode(std::span<const float> frame, std::span<uint8_t> out) {
  const size_t per_channel = frame.size() / static_cast<size_t>(channels_);
  const size_t step = static_cast<size_t>(sample_rate_hz_ / 400);  // 2.5 ms
  const bool valid_duration = per_channel == step || per_channel == 2 * step ||
                              per_channel == 4 * step || per_channel == 8 * step ||
                              per_channel == 16 * step || per_channel == 24 * step;
  if (frame.size() % static_cast<size_t>(channels_) != 0 || !valid_duration) {
    return InvalidArgumentError("opus encode: a frame must be 2.5, 5, 10, 20, 40 or 60 ms (" +
                                std::to_string(step) + " samples per 2.5 ms per channel), got " +
                                std::to_string(frame.size()) + " samples");
  }
  if (out.empty()) return InvalidArgumentError("opus encode: no room for the packet");
  const auto max_bytes =
      static_cast<opus_int32>(std::min<size_t>(out.size(), std::numeric_limits<opus_int32>::max()));
  const opus_int32 n = opus_encode_float(encoder_, frame.data(), static_cast<int>(per_channel),
                                         out.data(), max_bytes);
  if (n == OPUS_BUFFER_TOO_SMALL) {
    return InvalidArgumentError("opus encode: packet does not fit in " +
                                std::to_string(out.size()) + " bytes");
  }
  if (n < 0) return InternalError(std::string("opus encode: ") + opus_strerror(n));
  return static_cast<size_t>(n);
}

int OpusEncoder::lookahead_samples() const {
  opus_int32 lookahead = 0;
  opus_encoder_ctl(encoder_, OPUS_GET_LOOKAHEAD(&lookahead));
  return lookahead;
}

void OpusEncoder::Reset() { opus_encoder_ctl(encoder_, OPUS_RESET_STATE); }

}  // namespace voxgate::audio
