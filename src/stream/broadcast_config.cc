#include "stream/broadcast_config.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace voxgate::stream {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IsRtmp(std::string_view url) {
  return StartsWith(url, "rtmp://") || StartsWith(url, "rtmps://");
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // A local file has no secret in it; anything else (rtmp, or a mistyped scheme that still ends
  // with the key) is redacted the same way.
  if (StartsWith(out, "file:")) return out;
  const size_t scheme_end = out.find("://");
  const size_t authority = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  // user:password@host: the password is as secret as the key.
  {
    const size_t path = out.find('/', authority);
    const size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
    if (at != std::string::npos && at >= authority) out.replace(authority, at - authority, "***");
  }
  const size_t query = out.find('?', authority);
  if (query != std::string::npos) out.replace(query + 1, std::string::npos, "***");
  const std::string_view head = std::string_view(out).substr(0, out.find('?', authority));
  const size_t first_slash = head.find('/', authority);
  if (first_slash == std::string::npos) return out;  // no path: nothing secret left
  size_t last_slash = head.rfind('/');
  size_t element_end = head.size();
  // A trailing slash ("rtmp://h/app/key/") must not let the key through.
  if (last_slash + 1 == head.size() && last_slash > first_slash) {
    element_end = last_slash;
    last_slash = head.rfind('/', last_slash - 1);
  }
  if (element_end > last_slash + 1)
    out.replace(last_slash + 1, element_end - last_slash - 1, "***");
  return out;
}

Status ValidateBroadcastUrl(std::string_view url) {
  const std::string shown = RedactUrl(url);
  if (url.empty()) return InvalidArgumentError("url is empty (expected rtmp://host/app/key)");
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      return InvalidArgumentError(
          fmt::format("url \"{}\" contains whitespace or a control character", shown));
    }
  }
  if (StartsWith(url, "file:")) {
    if (url.size() <= 5) return InvalidArgumentError("url \"file:\" names no file");
    return Status::Ok();
  }
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return InvalidArgumentError(
        fmt::format("url \"{}\" is malformed: no scheme (expected rtmp://host/app/key)", shown));
  }
  if (!IsRtmp(url)) {
    return InvalidArgumentError(
        fmt::format("url \"{}\" has scheme \"{}\": only rtmp, rtmps and file are supported", shown,
                    url.substr(0, scheme_end)));
  }
  const std::string_view rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    const size_t close = host.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError(fmt::format("url \"{}\" is malformed: unclosed '['", shown));
    }
    host = authority.substr(0, close + 1);
    authority = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (host.empty()) {
    return InvalidArgumentError(fmt::format("url \"{}\" is malformed: no host", shown));
  }
  if (!authority.empty()) {
    if (authority.front() != ':' || authority.size() < 2 || authority.size() > 6) {
      return InvalidArgumentError(fmt::format("url \"{}\" is malformed: bad port", shown));
    }
    int port = 0;
    for (char c : authority.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return InvalidArgumentError(fmt::format("url \"{}\" is malformed: bad port", shown));
      }
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) {
      return InvalidArgumentError(
          fmt::format("url \"{}\" is malformed: port {} out of range", shown, port));
    }
  }
  if (slash == std::string_view::npos || slash + 1 >= rest.size() || rest[slash + 1] == '/' ||
      rest[slash + 1] == '?') {
    return InvalidArgumentError(
        fmt::format("url \"{}\" is malformed: no application path (rtmp://host/app/key)", shown));
  }
  return Status::Ok();
}

Result<std::string> BroadcastConfig::ConnectUrl() const {
  if (stream_key_env.empty() && stream_key_file.empty()) return url;
  std::string key;
  if (!stream_key_env.empty()) {
    const char* value = std::getenv(stream_key_env.c_str());
    if (value == nullptr) {
      return NotFoundError(
          fmt::format("stream key variable {} is not set", stream_key_env.substr(0, 128)));
    }
    key = value;
  } else {
    std::ifstream in(stream_key_file);
    if (!in) {
      return NotFoundError(fmt::format("stream key file {} cannot be read", stream_key_file));
    }
    std::getline(in, key, '\n');
    if (!key.empty() && key.back() == '\r') key.pop_back();
  }
  const char* source = stream_key_env.empty() ? "stream_key_file" : "stream_key_env";
  if (key.empty()) return InvalidArgumentError(fmt::format("the stream key ({}) is empty", source));
  if (key.size() > 1024)
    return InvalidArgumentError(fmt::format("the stream key ({}) is over 1024 bytes", source));
  for (unsigned char c : key) {
    if (c <= 0x20 || c == 0x7f || c == '/' || c == '?') {
      return InvalidArgumentError(fmt::format(
          "the stream key ({}) contains whitespace, a control character, '/' or '?'", source));
    }
  }
  std::string out = url;
  if (!out.empty() && out.back() == '/') out.pop_back();
  return out + "/" + key;
}

Result<BroadcastConfig> BroadcastConfig::FromPreset(std::string_view name) {
  BroadcastConfig c;
  c.preset = std::string(name);
  if (name == "540p") {
    c.width = 960, c.height = 540, c.fps = 25, c.video_bitrate_kbps = 2000;
  } else if (name == "720p") {
    c.width = 1280, c.height = 720, c.fps = 30, c.video_bitrate_kbps = 3000;
  } else if (name == "mobile") {
    c.width = 640, c.height = 360, c.fps = 15, c.video_bitrate_kbps = 1000;
    c.audio_bitrate_kbps = 64;
  } else {
    return InvalidArgumentError(
        fmt::format("unknown preset \"{}\" (expected 540p, 720p or mobile)", name.substr(0, 64)));
  }
  return c;
}

Status BroadcastConfig::Validate() const {
  VOXGATE_RETURN_IF_ERROR(ValidateBroadcastUrl(url));
  if (!stream_key_env.empty() && !stream_key_file.empty()) {
    return InvalidArgumentError("set at most one of stream_key_env and stream_key_file");
  }
  if ((!stream_key_env.empty() || !stream_key_file.empty()) && url.rfind("file:", 0) == 0) {
    return InvalidArgumentError("stream_key_env/stream_key_file need an rtmp or rtmps url");
  }
  if (width < 16 || width > 4096 || width % 2 != 0 || height < 16 || height > 4096 ||
      height % 2 != 0) {
    return InvalidArgumentError(
        fmt::format("width and height must be even and 16..4096, got {}x{}", width, height));
  }
  if (fps < 1 || fps > 120)
    return InvalidArgumentError(fmt::format("fps must be 1..120, got {}", fps));
  if (video_bitrate_kbps < 50 || video_bitrate_kbps > 100000) {
    return InvalidArgumentError(
        fmt::format("video_bitrate_kbps must be 50..100000, got {}", video_bitrate_kbps));
  }
  if (vbv_buffer_kbits < 0 || gop_frames < 0 || keyint_min_frames < 0) {
    return InvalidArgumentError("vbv_buffer_kbits, gop_frames and keyint_min_frames must be >= 0");
  }
  if (KeyintMinFrames() > GopFrames()) {
    return InvalidArgumentError(fmt::format("keyint_min_frames ({}) exceeds gop_frames ({})",
                                            KeyintMinFrames(), GopFrames()));
  }
  if (x264_preset.empty() || x264_tune.empty()) {
    return InvalidArgumentError("x264_preset and x264_tune must not be empty");
  }
  if (encoder_threads < 0 || encoder_threads > 64) {
    return InvalidArgumentError(
        fmt::format("encoder_threads must be 0..64, got {}", encoder_threads));
  }
  static constexpr int kAacRates[] = {8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000};
  bool rate_ok = false;
  for (int r : kAacRates) rate_ok |= r == audio_sample_rate_hz;
  if (!rate_ok) {
    return InvalidArgumentError(
        fmt::format("audio_sample_rate_hz must be an AAC rate (8000..48000, e.g. 44100), got {}",
                    audio_sample_rate_hz));
  }
  if (audio_channels != 1 && audio_channels != 2) {
    return InvalidArgumentError(
        fmt::format("audio_channels must be 1 or 2, got {}", audio_channels));
  }
  if (audio_bitrate_kbps < 16 || audio_bitrate_kbps > 512) {
    return InvalidArgumentError(
        fmt::format("audio_bitrate_kbps must be 16..512, got {}", audio_bitrate_kbps));
  }
  if (!(connect_timeout_s > 0) || connect_timeout_s > 600) {
    return InvalidArgumentError(
        fmt::format("connect_timeout_s must be in (0, 600], got {}", connect_timeout_s));
  }
  if (reconnect_attempts < -1 || reconnect_attempts == 0) {
    return InvalidArgumentError(
        fmt::format("reconnect_attempts must be >= 1 or -1 (forever), got {}", reconnect_attempts));
  }
  if (!(reconnect_backoff_s >= 0) || !(reconnect_backoff_max_s >= reconnect_backoff_s) ||
      !std::isfinite(reconnect_backoff_max_s)) {
    return InvalidArgumentError(
        "reconnect_backoff_s must be >= 0 and reconnect_backoff_max_s >= reconnect_backoff_s");
  }
  return Status::Ok();
}

std::string BroadcastConfig::ToString() const {
  std::ostringstream os;
  os << "BroadcastConfig(url=\"" << RedactUrl(url) << "\"";
  if (!stream_key_env.empty()) os << ", stream_key_env=" << stream_key_env;
  if (!stream_key_file.empty()) os << ", stream_key_file=" << stream_key_file;
  os << ", preset=" << preset << ", " << width << "x" << height << "@" << fps
     << ", video_bitrate_kbps=" << video_bitrate_kbps << ", vbv_buffer_kbits=" << VbvBufferKbits()
     << ", gop_frames=" << GopFrames() << ", keyint_min_frames=" << KeyintMinFrames()
     << ", x264=" << x264_preset << "/" << x264_tune << ", encoder_threads=" << encoder_threads
     << ", audio=" << audio_sample_rate_hz << "Hz/" << audio_channels << "ch/" << audio_bitrate_kbps
     << "kbps, connect_timeout_s=" << connect_timeout_s
     << ", reconnect_attempts=" << reconnect_attempts
     << ", reconnect_backoff_s=" << reconnect_backoff_s
     << ", reconnect_backoff_max_s=" << reconnect_backoff_max_s << ")";
  return os.str();
}

}  // namespace voxgate::stream
