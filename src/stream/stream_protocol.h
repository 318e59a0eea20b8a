// StreamProtocol: Voxgate's live-audio WebSocket protocol (GET /api/v1/stream; docs/streaming.md),
// independent of the transport. The client sends a JSON "start" message, binary audio, then
// "stop"; the server answers with JSON events: started, vad, score, decision, turn, enrolled, qos,
// error, final.
//
// Incoming binary audio is decoded (PCM s16/f32, G.711 µ/A-law, Opus packets), down-mixed and cut
// into 20 ms frames for a VoiceSession. When the session's queue is full OnBinary() says so and
// the transport stops reading (TCP backpressure) instead of buffering. Outgoing events go through
// the transport's bounded queue: running updates may be dropped for a slow reader, decisions and
// the final summary never.
//
// Thread-safety: OnText/OnBinary/OnClose from the transport, one at a time; events arrive from the
// session's worker. Internally synchronised where those meet.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "audio/audio_frame.h"
#include "audio/opus_codec.h"
#include "stream/voice_session.h"
#include "voiceprint/calibration.h"

namespace voxgate::stream {

enum class Encoding { kPcmS16le, kPcmF32le, kPcmu, kPcma, kOpus };

/// What the client asked for in its start message.
struct StartRequest {
  voiceprint::LiveMode mode = voiceprint::LiveMode::kIdentify;
  bool record_only = false;  // mode "record"
  std::string user_id;
  std::string name;  // enroll: the display name to store
  Encoding encoding = Encoding::kPcmS16le;
  int sample_rate_hz = 16000;
  int channels = 1;
  double threshold = -2.0;
  std::optional<voiceprint::SecurityLevel> security_level;
  bool record = false;
};

/// Parses and validates a start message; errors say which field is wrong. Never throws.
Result<StartRequest> ParseStartMessage(std::string_view json_text);

class StreamProtocol : public std::enable_shared_from_this<StreamProtocol> {
 public:
  /// Sends one text message; `essential` ones must not be dropped.
  using SendFn = std::function<bool(std::string text, bool essential)>;
  using CloseFn = std::function<void(uint16_t code, std::string reason)>;

  StreamProtocol(const LiveServices& services, std::string actor, nlohmann::json info, SendFn send,
                 CloseFn close);
  ~StreamProtocol();

  void OnText(std::string_view message);
  /// False: the session cannot take more audio now; offer the same message again later.
  bool OnBinary(std::span<const uint8_t> data);
  void OnClose();

  /// Counters for tests and metrics.
  uint64_t bad_messages() const { return bad_messages_.load(); }
  std::shared_ptr<VoiceSession> session() const;

 private:
  void SendError(std::string_view code, std::string_view message);
  void Start(const StartRequest& request);
  void Stop(std::string reason);
  // Appends decoded mono samples to the current frame, pushing full frames. Returns false if the
  // session refused a frame (the caller keeps the input for later).
  bool Append(std::span<const float> mono);
  Status DecodeInto(std::span<const uint8_t> data);

  const LiveServices services_;
  std::string actor_;
  nlohmann::json info_;
  SendFn send_;
  CloseFn close_;

  mutable std::mutex mu_;  // guards session_ (read by other threads)
  std::shared_ptr<VoiceSession> session_;
  StartRequest start_;
  std::unique_ptr<audio::OpusDecoder> opus_;
  audio::AudioFrame frame_;  // being filled
  int frame_samples_ = 0;    // 20 ms at the input rate
  int64_t clock_ = 0;
  std::vector<float> decoded_;  // scratch: one message decoded, mono
  size_t decoded_used_ = 0;     // samples of decoded_ already framed (backpressure resumes here)
  bool pending_ = false;        // decoded_ holds a message not fully pushed
  std::string carry_;           // bytes of an incomplete sample from the previous message
  bool stopped_ = false;
  std::atomic<uint64_t> bad_messages_{0};
};

const char* EncodingName(Encoding e);

}  // namespace voxgate::stream
