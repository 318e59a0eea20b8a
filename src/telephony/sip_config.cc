#include "telephony/sip_config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace voxgate::telephony {

namespace {

bool IsIpLiteral(const std::string& text) {
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, text.c_str(), &v4) == 1 || inet_pton(AF_INET6, text.c_str(), &v6) == 1;
}

// SIP URIs and tokens we build from config must not smuggle header or line breaks.
bool HasControlChars(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

Result<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("sip.registration.password_file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

Result<Codec> ParseCodecName(std::string_view name) {
  for (Codec c : {Codec::kPcmu, Codec::kPcma, Codec::kOpus}) {
    std::string_view n = CodecName(c);
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return c;
  }
  return InvalidArgumentError(
      fmt::format("unknown codec \"{}\" (expected PCMU, PCMA or opus)", name));
}

Status SipRegistrationConfig::Validate() const {
  if (!enabled()) return Status::Ok();
  if (registrar.rfind("sip:", 0) != 0 && registrar.rfind("sips:", 0) != 0) {
    return InvalidArgumentError("sip.registration.registrar must be a sip: URI, got " + registrar);
  }
  if (HasControlChars(registrar) || HasControlChars(username) || HasControlChars(realm)) {
    return InvalidArgumentError("sip.registration: control characters in registrar/username/realm");
  }
  if (username.empty()) return InvalidArgumentError("sip.registration.username is required");
  if (username.find_first_of("@:;\" ") != std::string::npos) {
    return InvalidArgumentError("sip.registration.username must be a plain user name");
  }
  if (realm.find('"') != std::string::npos || password.find('"') != std::string::npos ||
      HasControlChars(password)) {
    // sofia's NUTAG_AUTH credential string is "Digest:\"realm\":user:password".
    return InvalidArgumentError("sip.registration: realm and password must not contain '\"'");
  }
  if (password.empty()) {
    return InvalidArgumentError(
        "sip.registration needs a password: set password_env (an environment variable name) or "
        "password_file");
  }
  if (expires_s < 60 || expires_s > 86400) {
    return InvalidArgumentError("sip.registration.expires_s must be in [60, 86400]");
  }
  return Status::Ok();
}

std::string SipRegistrationConfig::ToString() const {
  if (!enabled()) return "SipRegistrationConfig{off}";
  return fmt::format(
      "SipRegistrationConfig{{registrar={}, username={}, realm={}, password_env={}, "
      "password_file={}, expires_s={}, password={}}}",
      registrar, username, realm.empty() ? "(any)" : realm, password_env, password_file, expires_s,
      password.empty() ? "(unset)" : "***");
}

Status SipRegistrationConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("registrar", &registrar));
  VOXGATE_RETURN_IF_ERROR(node.Get("username", &username));
  VOXGATE_RETURN_IF_ERROR(node.Get("realm", &realm));
  VOXGATE_RETURN_IF_ERROR(node.Get("password_env", &password_env));
  VOXGATE_RETURN_IF_ERROR(node.Get("password_file", &password_file));
  VOXGATE_RETURN_IF_ERROR(node.Get("expires_s", &expires_s));
  if (!password_env.empty() && !password_file.empty()) {
    return InvalidArgumentError("sip.registration: set password_env or password_file, not both");
  }
  if (!password_env.empty()) {
    // Config loads once at startup, before any thread that could setenv().
    const char* value = std::getenv(password_env.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr || *value == '\0') {
      return InvalidArgumentError("sip.registration.password_env names " + password_env +
                                  ", which is not set");
    }
    password = value;
  } else if (!password_file.empty()) {
    auto text = ReadPasswordFile(password_file);
    if (!text.ok()) return text.status();
    password = std::move(text).value();
  }
  return Status::Ok();
}

Status SipConfig::Validate() const {
  if (!IsIpLiteral(bind_address)) {
    return InvalidArgumentError("sip.bind_address must be an IP address, got " + bind_address);
  }
  if (port < 0 || port > 65535) return InvalidArgumentError("sip.port must be in [0, 65535]");
  if (!udp && !tcp) return InvalidArgumentError("sip: enable udp, tcp or both");
  if (!public_address.empty() && !IsIpLiteral(public_address)) {
    return InvalidArgumentError("sip.public_address must be an IP address, got " + public_address);
  }
  if (codecs.empty()) return InvalidArgumentError("sip.codecs must name at least one codec");
  for (size_t i = 0; i < codecs.size(); ++i) {
    if (std::count(codecs.begin(), codecs.end(), codecs[i]) > 1) {
      return InvalidArgumentError(fmt::format("sip.codecs names {} twice", CodecName(codecs[i])));
    }
  }
  if (opus_payload_type < 96 || opus_payload_type > 127) {
    return InvalidArgumentError("sip.opus_payload_type must be a dynamic payload type (96-127)");
  }
  if (ptime_ms < 10 || ptime_ms > 60 || ptime_ms % 10 != 0) {
    return InvalidArgumentError("sip.ptime_ms must be 10, 20, 30, 40, 50 or 60");
  }
  if (min_se_s < 90) return InvalidArgumentError("sip.min_se_s must be >= 90 (RFC 4028)");
  if (session_expires_s != 0 && session_expires_s < min_se_s) {
    return InvalidArgumentError("sip.session_expires_s must be 0 (off) or >= sip.min_se_s");
  }
  if (user_agent.empty() || HasControlChars(user_agent)) {
    return InvalidArgumentError("sip.user_agent must be a non-empty single line");
  }
  if (max_calls < 1) return InvalidArgumentError("sip.max_calls must be >= 1");
  if (answer_delay_ms < 0 || answer_delay_ms > 60000) {
    return InvalidArgumentError("sip.answer_delay_ms must be in [0, 60000]");
  }
  return registration.Validate();
}

std::string SipConfig::ToString() const {
  std::string codec_names;
  for (Codec c : codecs) {
    if (!codec_names.empty()) codec_names += ",";
    codec_names += CodecName(c);
  }
  return fmt::format(
      "SipConfig{{enabled={}, bind_address={}, port={}, udp={}, tcp={}, public_address={}, "
      "codecs=[{}], opus_payload_type={}, ptime_ms={}, session_expires_s={}, min_se_s={}, "
      "user_agent={}, max_calls={}, answer_delay_ms={}, registration={}}}",
      enabled, bind_address, port, udp, tcp, public_address.empty() ? "(auto)" : public_address,
      codec_names, opus_payload_type, ptime_ms, session_expires_s, min_se_s, user_agent, max_calls,
      answer_delay_ms, registration.ToString());
}

Status SipConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("enabled", &enabled));
  VOXGATE_RETURN_IF_ERROR(node.Get("bind_address", &bind_address));
  VOXGATE_RETURN_IF_ERROR(node.Get("port", &port));
  VOXGATE_RETURN_IF_ERROR(node.Get("udp", &udp));
  VOXGATE_RETURN_IF_ERROR(node.Get("tcp", &tcp));
  VOXGATE_RETURN_IF_ERROR(node.Get("public_address", &public_address));
  // Unset keys leave the current list, so start from it.
  std::vector<std::string> names;
  for (Codec c : codecs) names.emplace_back(CodecName(c));
  VOXGATE_RETURN_IF_ERROR(node.Get("codecs", &names));
  std::vector<Codec> parsed;
  for (const auto& name : names) {
    auto codec = ParseCodecName(name);
    if (!codec.ok()) return codec.status().WithContext(node.path() + ".codecs");
    parsed.push_back(*codec);
  }
  codecs = std::move(parsed);
  VOXGATE_RETURN_IF_ERROR(node.Get("opus_payload_type", &opus_payload_type));
  VOXGATE_RETURN_IF_ERROR(node.Get("ptime_ms", &ptime_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("session_expires_s", &session_expires_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("min_se_s", &min_se_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("user_agent", &user_agent));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_calls", &max_calls));
  VOXGATE_RETURN_IF_ERROR(node.Get("answer_delay_ms", &answer_delay_ms));
  return registration.Load(node.Child("registration"));
}

std::string SipConfig::PublicAddress() const {
  if (!public_address.empty()) return public_address;
  if (bind_address != "0.0.0.0" && bind_address != "::") return bind_address;
  std::string found = "127.0.0.1";
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return found;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    if ((it->ifa_flags & IFF_UP) == 0 || (it->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<sockaddr_in*>(it->ifa_addr);
    if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text) != nullptr) {
      found = text;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

}  // namespace voxgate::telephony
