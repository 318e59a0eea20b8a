#include "stream/stream_protocol.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "audio/g711.h"
#include "voiceprint/user_id.h"

namespace voxgate::stream {

const char* EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kPcmS16le:
      return "pcm_s16le";
    case Encoding::kPcmF32le:
      return "pcm_f32le";
    case Encoding::kPcmu:
      return "pcmu";
    case Encoding::kPcma:
      return "pcma";
    case Encoding::kOpus:
      return "opus";
  }
  return "unknown";
}

namespace {

// Largest message we decode at once: 1 s of 48 kHz stereo float (the transport's own limit is
// what really bounds it).
constexpr size_t kMaxDecodedSamples = 48000 * 2;

Result<Encoding> ParseEncoding(std::string_view s) {
  if (s == "pcm_s16le") return Encoding::kPcmS16le;
  if (s == "pcm_f32le") return Encoding::kPcmF32le;
  if (s == "pcmu") return Encoding::kPcmu;
  if (s == "pcma") return Encoding::kPcma;
  if (s == "opus") return Encoding::kOpus;
  return InvalidArgumentError(
      fmt::format("unknown encoding '{}' (pcm_s16le, pcm_f32le, pcmu, pcma or opus)", s));
}

}  // namespace

Result<StartRequest> ParseStartMessage(std::string_view json_text) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("the message is not a JSON object");
  }
  StartRequest r;
  auto str = [&](const char* key, std::string* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_string()) return InvalidArgumentError(fmt::format("'{}' must be a string", key));
    *out = j[key].get<std::string>();
    return Status::Ok();
  };
  auto integer = [&](const char* key, int* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_number_integer()) {
      return InvalidArgumentError(fmt::format("'{}' must be an integer", key));
    }
    const int64_t v = j[key].get<int64_t>();
    if (v < 0 || v > 1000000) return InvalidArgumentError(fmt::format("'{}' is out of range", key));
    *out = static_cast<int>(v);
    return Status::Ok();
  };
  std::string mode = "identify";
  std::string encoding = "pcm_s16le";
  VOXGATE_RETURN_IF_ERROR(str("mode", &mode));
  VOXGATE_RETURN_IF_ERROR(str("user_id", &r.user_id));
  VOXGATE_RETURN_IF_ERROR(str("name", &r.name));
  VOXGATE_RETURN_IF_ERROR(str("encoding", &encoding));
  VOXGATE_RETURN_IF_ERROR(integer("sample_rate", &r.sample_rate_hz));
  VOXGATE_RETURN_IF_ERROR(integer("channels", &r.channels));
  if (j.contains("threshold")) {
    if (!j["threshold"].is_number()) return InvalidArgumentError("'threshold' must be a number");
    r.threshold = j["threshold"].get<double>();
    if (r.threshold < -1 || r.threshold > 1) {
      return InvalidArgumentError("'threshold' must be between -1 and 1");
    }
  }
  if (j.contains("security_level")) {
    if (!j["security_level"].is_string()) {
      return InvalidArgumentError("'security_level' must be high, balanced or convenient");
    }
    VOXGATE_ASSIGN_OR_RETURN(
        r.security_level, voiceprint::ParseSecurityLevel(j["security_level"].get<std::string>()));
  }
  if (j.contains("record")) {
    if (!j["record"].is_boolean()) return InvalidArgumentError("'record' must be true or false");
    r.record = j["record"].get<bool>();
  }
  if (mode == "record") {
    r.record_only = true;
    r.record = true;
  } else {
    VOXGATE_ASSIGN_OR_RETURN(r.mode, voiceprint::ParseLiveMode(mode));
  }
  if (!r.record_only && r.mode != voiceprint::LiveMode::kIdentify) {
    if (r.user_id.empty()) {
      return InvalidArgumentError(fmt::format("mode '{}' needs a user_id", mode));
    }
  }
  if (!r.user_id.empty()) VOXGATE_RETURN_IF_ERROR(voiceprint::ValidateUserId(r.user_id));
  VOXGATE_ASSIGN_OR_RETURN(r.encoding, ParseEncoding(encoding));
  if (r.channels != 1 && r.channels != 2) return InvalidArgumentError("'channels' must be 1 or 2");
  if (r.encoding == Encoding::kOpus) {
    const int rates[] = {8000, 12000, 16000, 24000, 48000};
    if (std::find(std::begin(rates), std::end(rates), r.sample_rate_hz) == std::end(rates)) {
      return InvalidArgumentError("opus 'sample_rate' must be 8000, 12000, 16000, 24000 or 48000");
    }
  } else if (r.sample_rate_hz < 8000 || r.sample_rate_hz > 48000) {
    return InvalidArgumentError("'sample_rate' must be 8000..48000");
  }
  return r;
}

StreamProtocol::StreamProtocol(const LiveServices& services, std::string actor, nlohmann::json info,
                               SendFn send, CloseFn close)
    : services_(services),
      actor_(std::move(actor)),
      info_(std::move(info)),
      send_(std::move(send)),
      close_(std::move(close)) {}

StreamProtocol::~StreamProtocol() = default;

std::shared_ptr<VoiceSession> StreamProtocol::session() const {
  std::lock_guard lock(mu_);
  return session_;
}

void StreamProtocol::SendError(std::string_view code, std::string_view message) {
  ++bad_messages_;
  nlohmann::json j = {{"type", "error"}, {"error_code", code}, {"message", message}};
  send_(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), true);
}

void StreamProtocol::OnText(std::string_view message) {
  nlohmann::json j = nlohmann::json::parse(message, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return SendError("invalid_argument", "every message must be a JSON object with a \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "start") {
    if (session() || stopped_) {
      return SendError("invalid_argument", "the stream has already started");
    }
    auto request = ParseStartMessage(message);
    if (!request.ok()) return SendError("invalid_argument", request.status().message());
    return Start(*request);
  }
  if (type == "stop") {
    if (!session()) return SendError("invalid_argument", "nothing to stop: send start first");
    return Stop("client stop");
  }
  if (type == "ping") {
    send_(nlohmann::json{{"type", "pong"}}.dump(), false);
    return;
  }
  SendError("invalid_argument", fmt::format("unknown message type '{}'", type));
}

void StreamProtocol::Start(const StartRequest& request) {
  VoiceSessionOptions o;
  o.kind = "websocket";
  if (!request.record_only) o.mode = request.mode;
  o.user_id = request.user_id;
  o.user_name = request.name;
  o.threshold = request.threshold;
  o.security_level = request.security_level;
  o.input_rate_hz = request.sample_rate_hz;
  o.codec = EncodingName(request.encoding);
  o.record = request.record;
  o.info = info_;
  o.info["actor"] = actor_;
  o.info["channels"] = request.channels;
  if (request.encoding == Encoding::kOpus) {
    auto dec = audio::OpusDecoder::Create(request.sample_rate_hz, request.channels);
    if (!dec.ok()) return SendError("invalid_argument", dec.status().message());
    opus_ = std::move(*dec);
  }
  start_ = request;
  frame_samples_ = request.sample_rate_hz / 50;
  frame_.sample_rate_hz = request.sample_rate_hz;
  frame_.num_samples = 0;
  decoded_.reserve(kMaxDecodedSamples);
  std::weak_ptr<StreamProtocol> weak = weak_from_this();
  auto session = VoiceSession::Start(services_, std::move(o), [weak](const analytics::Event& e) {
    auto self = weak.lock();
    if (!self) return;
    nlohmann::json msg = e.data;
    std::string type = e.type.rfind("session.", 0) == 0 ? e.type.substr(8) : e.type;
    msg["type"] = type;
    msg["session_id"] = e.session_id;
    const bool essential = type != "score" && type != "qos" && type != "vad";
    self->send_(msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), essential);
    if (type == "final") self->close_(1000, "stream finished");
  });
  if (!session.ok()) {
    const std::string code(StatusCodeName(session.status().code()));
    return SendError(code, session.status().message());
  }
  std::lock_guard lock(mu_);
  session_ = std::move(*session);
}

Status StreamProtocol::DecodeInto(std::span<const uint8_t> data) {
  decoded_.clear();
  decoded_used_ = 0;
  const int ch = start_.channels;
  auto push_interleaved = [&](auto&& sample_at, size_t frames) {
    for (size_t i = 0; i < frames; ++i) {
      float v = sample_at(i * ch);
      if (ch == 2) v = 0.5f * (v + sample_at(i * ch + 1));
      decoded_.push_back(v);
    }
  };
  switch (start_.encoding) {
    case Encoding::kPcmS16le:
    case Encoding::kPcmF32le: {
      const size_t width = start_.encoding == Encoding::kPcmS16le ? 2 : 4;
      const size_t block = width * static_cast<size_t>(ch);
      bool finite = true;
      auto decode = [&](const char* p, size_t frames) {
        if (width == 2) {
          push_interleaved(
              [&](size_t k) {
                int16_t v;
                std::memcpy(&v, p + 2 * k, 2);
                return static_cast<float>(v) / 32768.0f;
              },
              frames);
        } else {
          push_interleaved(
              [&](size_t k) {
                float v;
                std::memcpy(&v, p + 4 * k, 4);
                if (!std::isfinite(v)) {
                  finite = false;
                  return 0.0f;
                }
                return std::clamp(v, -1.0f, 1.0f);
              },
              frames);
        }
      };
      const char* in = reinterpret_cast<const char*>(data.data());
      size_t in_size = data.size();
      // A sample split across messages: complete it from this message first, so only those few
      // bytes are ever copied.
      if (!carry_.empty()) {
        const size_t take = std::min(block - carry_.size(), in_size);
        carry_.append(in, take);
        in += take;
        in_size -= take;
        if (carry_.size() < block) return Status::Ok();  // the message was shorter still
        decode(carry_.data(), 1);
        carry_.clear();
      }
      const size_t frames = std::min(in_size / block, kMaxDecodedSamples - decoded_.size());
      decode(in, frames);
      carry_.assign(in + frames * block, in_size - frames * block);
      if (!finite) return InvalidArgumentError("pcm_f32le audio holds NaN or infinite samples");
      return Status::Ok();
    }
    case Encoding::kPcmu:
    case Encoding::kPcma: {
      const auto law =
          start_.encoding == Encoding::kPcmu ? audio::G711Law::kUlaw : audio::G711Law::kAlaw;
      const size_t frames = std::min(data.size() / static_cast<size_t>(ch), kMaxDecodedSamples);
      push_interleaved(
          [&](size_t k) {
            return static_cast<float>(law == audio::G711Law::kUlaw ? audio::UlawToLinear(data[k])
                                                                   : audio::AlawToLinear(data[k])) /
                   32768.0f;
          },
          frames);
      return Status::Ok();
    }
    case Encoding::kOpus: {
      // One Opus packet per message, up to 120 ms.
      decoded_.resize(static_cast<size_t>(start_.sample_rate_hz) * 12 / 100);
      auto n = opus_->Decode(data, decoded_);
      if (!n.ok()) {
        decoded_.clear();
        return n.status();
      }
      decoded_.resize(static_cast<size_t>(*n));
      return Status::Ok();
    }
  }
  return InternalError("unhandled encoding");
}

bool StreamProtocol::Append(std::span<const float> mono) {
  auto session = this->session();
  for (; decoded_used_ < mono.size();) {
    const size_t room = static_cast<size_t>(frame_samples_ - frame_.num_samples);
    const size_t n = std::min(room, mono.size() - decoded_used_);
    std::copy_n(mono.begin() + static_cast<ptrdiff_t>(decoded_used_), n,
                frame_.samples.begin() + frame_.num_samples);
    frame_.num_samples += static_cast<int>(n);
    decoded_used_ += n;
    if (frame_.num_samples == frame_samples_) {
      frame_.clock = clock_;
      if (!session->PushFrame(frame_)) {
        // Queue full: take the frame back and stop here; the transport offers the message again.
        frame_.num_samples -= static_cast<int>(n);
        decoded_used_ -= n;
        return false;
      }
      clock_ += frame_samples_;
      frame_.num_samples = 0;
    }
  }
  return true;
}

bool StreamProtocol::OnBinary(std::span<const uint8_t> data) {
  auto session = this->session();
  if (!session || stopped_) {
    SendError("invalid_argument", "audio before start (or after stop) is ignored");
    return true;
  }
  if (session->finished()) return true;
  if (!pending_) {
    session->qos().OnBytesIn(data.size(), session->ElapsedS());
    Status s = DecodeInto(data);
    if (!s.ok()) {
      SendError("invalid_argument", s.message());
      return true;
    }
  }
  if (!Append(decoded_)) {
    pending_ = true;
    return false;
  }
  pending_ = false;
  return true;
}

void StreamProtocol::Stop(std::string reason) {
  if (stopped_) return;
  stopped_ = true;
  auto session = this->session();
  if (!session) return;
  // Finishing waits for the last embedding: run it on the live pool, not the I/O thread.
  auto finish = [session, reason] { session->Finish(reason); };
  if (!services_.executor || !services_.executor(finish)) finish();
}

void StreamProtocol::OnClose() {
  if (!stopped_) Stop("client disconnected");
}

}  // namespace voxgate::stream
