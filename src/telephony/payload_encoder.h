// PayloadEncoder: encodes 20 ms frames of PCM into the RTP payloads of one sent stream: G.711
// (PCMU/PCMA, input at 8 kHz) or Opus (input at any Opus rate, sent on the 48 kHz RTP clock).
//
// Not thread-safe: one per call. Encode() does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"
#include "telephony/call_handler.h"

namespace voxgate::telephony {

class PayloadEncoder {
 public:
  /// Room that always suffices for one 20 ms payload of any supported codec.
  static constexpr size_t kMaxPayloadBytes = 1275;
  static constexpr int kFrameMs = 20;

  virtual ~PayloadEncoder() = default;

  /// `input_rate_hz`: 8000 for G.711; 8000, 12000, 16000, 24000 or 48000 for Opus.
  /// `opus_bitrate_bps`: Opus only, 6000..510000. kInvalidArgument otherwise, or when the spec's
  /// clock rate does not match its codec.
  static Result<std::unique_ptr<PayloadEncoder>> Create(const CodecSpec& spec, int input_rate_hz,
                                                        int opus_bitrate_bps = 24000);

  /// Encodes exactly one frame (frame_samples() samples, nominally in [-1, 1]; G.711 clamps) into
  /// `out` and returns the payload size. kInvalidArgument: wrong frame length or `out` too small
  /// (G.711 needs one byte per sample; Opus caps the packet to `out`).
  virtual Result<size_t> Encode(std::span<const float> frame, std::span<uint8_t> out) = 0;

  virtual const CodecSpec& spec() const = 0;
  virtual int input_rate_hz() const = 0;
  /// Input samples per frame (20 ms at the input rate).
  int frame_samples() const { return input_rate_hz() / 50; }
  /// RTP timestamp advance per frame: 20 ms on the codec's RTP clock (160 G.711, 960 Opus).
  int timestamp_increment() const { return spec().clock_rate_hz / 50; }
};

}  // namespace voxgate::telephony
