// PayloadDecoder: turns the RTP payloads of one received call into PCM, and fills the gaps the
// jitter buffer reports: packet-loss concealment and RFC 3389 comfort noise.
//
// G.711 (PCMU/PCMA) decodes at 8 kHz. Its concealment is G.711 Appendix I in a simplified form:
// the pitch period of the last 20 ms is found by normalised autocorrelation (5-15 ms), the last
// periods are repeated (one, then two, then three periods as the loss goes on, to avoid a buzzy
// tone), joined by short overlap-adds; after 10 ms the repetition fades linearly into comfort
// noise, which alone remains from 60 ms on. The first packet after a loss is cross-faded from the
// continued concealment. Opus decodes straight to the requested rate with libopus and conceals
// with libopus's own PLC.
//
// Not thread-safe: one per call. Decode(), Conceal() and ComfortNoise() do not allocate.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"
#include "telephony/call_handler.h"

namespace voxgate::telephony {

class PayloadDecoder {
 public:
  virtual ~PayloadDecoder() = default;

  /// `output_rate_hz`: 8000 for G.711; for Opus one of 8000, 12000, 16000, 24000, 48000 (16000
  /// feeds the 16 kHz pipeline without resampling). kInvalidArgument for other rates or a spec
  /// whose clock rate does not match its codec (G.711 8000, Opus 48000).
  static Result<std::unique_ptr<PayloadDecoder>> Create(const CodecSpec& spec, int output_rate_hz);

  /// Decodes one payload into `out`; returns the samples written. kInvalidArgument: empty payload
  /// or `out` too short (G.711: one sample per byte; Opus: the packet's duration). kDataLoss:
  /// a corrupt Opus packet (conceal instead).
  virtual Result<int> Decode(std::span<const uint8_t> payload, std::span<float> out) = 0;

  /// Writes min(samples, out.size()) samples of concealment for lost audio and returns that count
  /// (Opus: rounded down to whole 2.5 ms, at most 120 ms per call). Output stays within the level
  /// of the audio before the loss.
  virtual int Conceal(int samples, std::span<float> out) = 0;

  /// RFC 3389 comfort noise (payload type 13) for min(samples, out.size()) samples: white noise
  /// at the level of the payload's first byte (-dBov, 0 dBov being a full-scale square wave); the
  /// spectral coefficients that may follow are not used. An empty payload repeats the last level.
  /// The level also becomes the floor concealment fades to. Returns the count written.
  virtual int ComfortNoise(std::span<const uint8_t> cn_payload, int samples,
                           std::span<float> out) = 0;

  /// Drops all history, as for a new stream.
  virtual void Reset() = 0;

  virtual const CodecSpec& spec() const = 0;
  virtual int output_rate_hz() const = 0;
  /// Samples in one 20 ms frame at the output rate.
  int frame_samples() const { return output_rate_hz() / 50; }
};

}  // namespace voxgate::telephony
