// Opus (RFC 6716) encode and decode for live streams with libopus: the codec of WebRTC and of SIP
// calls that negotiate opus/48000/2. The two classes share one file because they are the two ends
// of one codec and share its rules (rates, frame durations, error mapping).
//
// Samples are float, nominally in [-1, 1] (libopus's float API, so no int16 round trip). Both
// classes are per stream and not thread-safe; after Create() nothing allocates or locks (libopus
// works on its preallocated state and the stack).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"

// libopus's C types share the class names below; they live in the global namespace.
struct OpusDecoder;
struct OpusEncoder;

namespace voxgate::audio {

/// The rates libopus runs at.
bool IsOpusSampleRate(int sample_rate_hz);

class OpusDecoder {
 public:
  /// sample_rate_hz: 8000, 12000, 16000, 24000 or 48000, the rate of the output whatever the
  /// sender encoded at. channels: 1 or 2, the stream's channel count as negotiated; the output is
  /// mono either way (libopus mixes a stereo stream down itself, cheaper than decoding both
  /// channels and averaging). kInvalidArgument otherwise.
  static Result<std::unique_ptr<OpusDecoder>> Create(int sample_rate_hz, int channels = 1);
  ~OpusDecoder();
  OpusDecoder(const OpusDecoder&) = delete;
  OpusDecoder& operator=(const OpusDecoder&) = delete;

  /// Decodes one packet (2.5 to 120 ms) into `out` (mono); returns the samples written.
  /// kInvalidArgument: empty packet (a lost packet goes to Conceal() or DecodeFec()) or `out`
  /// shorter than the packet's duration. kDataLoss (with libopus's reason): a corrupt packet
  /// (nothing is written; the stream goes on, e.g. with Conceal() for the gap).
  Result<int> Decode(std::span<const uint8_t> packet, std::span<float> out);

  /// Packet-loss concealment: `samples` (a multiple of 2.5 ms, at most 120 ms, at most
  /// out.size()) of audio extrapolated from what came before, fading out over a long loss.
  /// Returns `samples`. kInvalidArgument on a bad count.
  Result<int> Conceal(int samples, std::span<float> out);

  /// Recovers the lost packet just before `next_packet` from the redundancy (in-band FEC) that
  /// `next_packet` carries: `samples` is the lost packet's duration (a multiple of 2.5 ms; use
  /// last_packet_duration() when unsure). Without FEC data in `next_packet`, this is Conceal().
  /// `next_packet` itself must still be passed to Decode() afterwards. Errors as Decode/Conceal.
  Result<int> DecodeFec(std::span<const uint8_t> next_packet, int samples, std::span<float> out);

  /// Duration of the last packet decoded or concealed, in samples (0 before the first).
  int last_packet_duration() const;
  /// Drops the decoder state, as for a new stream.
  void Reset();

  int sample_rate_hz() const { return sample_rate_hz_; }
  int channels() const { return channels_; }

 private:
  OpusDecoder(int sample_rate_hz, int channels, ::OpusDecoder* decoder);
  Status CheckGapSamples(int samples, size_t out_size) const;

  int sample_rate_hz_;
  int channels_;
  ::OpusDecoder* decoder_;
};

class OpusEncoder {
 public:
  /// The expected loss the encoder plans its in-band FEC for until SetExpectedLossPct() says
  /// otherwise: libopus adds no FEC at all at 0 %, so "FEC on" needs some figure from the start.
  static constexpr int kDefaultExpectedLossPct = 5;

  /// sample_rate_hz: 8000, 12000, 16000, 24000 or 48000; channels 1 or 2; bitrate_bps 6000 ..
  /// 510000 (per stream, all channels). Application VoIP (speech-tuned, with the encoder's
  /// high-pass and speech emphasis), in-band FEC on, kDefaultExpectedLossPct expected loss.
  /// kInvalidArgument otherwise.
  static Result<std::unique_ptr<OpusEncoder>> Create(int sample_rate_hz, int channels = 1,
                                                     int bitrate_bps = 24000);
  ~OpusEncoder();
  OpusEncoder(const OpusEncoder&) = delete;
  OpusEncoder& operator=(const OpusEncoder&) = delete;

  /// The loss rate (0..100 %) the in-band FEC should plan for, e.g. from RTCP receiver reports:
  /// more loss means more redundancy and fewer bits for the primary signal. kInvalidArgument
  /// outside 0..100.
  Status SetExpectedLossPct(int loss_pct);
  /// kInvalidArgument outside 6000..510000.
  Status SetBitrate(int bitrate_bps);

  /// Encodes one frame (2.5, 5, 10, 20, 40 or 60 ms; interleaved when channels == 2) into `out`
  /// and returns the packet's size in bytes. 1275 bytes always suffice for a 20 ms frame; a
  /// smaller `out` caps the packet (libopus lowers the bitrate to fit, at 1-2 bytes sending a
  /// packet the decoder conceals). kInvalidArgument: other frame sizes, or an empty `out`.
  Result<size_t> Encode(std::span<const float> frame, std::span<uint8_t> out);

  /// The encoder's delay (look-ahead) in samples: decoded audio lags the input by this much.
  int lookahead_samples() const;
  /// Drops the encoder state, as for a new stream (settings are kept).
  void Reset();

  int sample_rate_hz() const { return sample_rate_hz_; }
  int channels() const { return channels_; }

 private:
  OpusEncoder(int sample_rate_hz, int channels, ::OpusEncoder* encoder);

  int sample_rate_hz_;
  int channels_;
  ::OpusEncoder* encoder_;
};

}  // namespace voxgate::audio
