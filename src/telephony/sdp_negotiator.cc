#include "telephony/sdp_negotiator.h"

#include <fmt/format.h>
#include <sofia-sip/sdp.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

namespace voxgate::telephony {

namespace {

struct ParserDeleter {
  void operator()(sdp_parser_t* p) const { sdp_parser_free(p); }
};
using ParserPtr = std::unique_ptr<sdp_parser_t, ParserDeleter>;

bool EqualsNoCase(const char* a, std::string_view b) {
  return a != nullptr && std::strlen(a) == b.size() && strncasecmp(a, b.data(), b.size()) == 0;
}

// A decimal number at the start of `text` (after spaces), or -1.
int64_t LeadingNumber(const char* text) {
  if (text == nullptr) return -1;
  std::string_view s(text);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  int64_t value = -1;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr == s.data()) return -1;
  return value;
}

// Whether `rm` is `codec` as we support it.
bool Matches(const sdp_rtpmap_t* rm, Codec codec) {
  switch (codec) {
    case Codec::kPcmu:
      return EqualsNoCase(rm->rm_encoding, "PCMU") && rm->rm_rate == 8000;
    case Codec::kPcma:
      return EqualsNoCase(rm->rm_encoding, "PCMA") && rm->rm_rate == 8000;
    case Codec::kOpus:
      // RFC 7587 always signals opus/48000/2; accept a missing channel count too.
      return EqualsNoCase(rm->rm_encoding, "opus") && rm->rm_rate == 48000 &&
             (rm->rm_params == nullptr || *rm->rm_params == '\0' ||
              std::string_view(rm->rm_params) == "2");
  }
  return false;
}

CodecSpec SpecFor(Codec codec, int payload_type) {
  CodecSpec spec;
  spec.codec = codec;
  spec.payload_type = payload_type;
  spec.clock_rate_hz = codec == Codec::kOpus ? 48000 : 8000;
  spec.channels = 1;
  return spec;
}

bool ValidPtime(int64_t ptime_ms, Codec codec) {
  if (codec == Codec::kOpus) {
    return ptime_ms == 10 || ptime_ms == 20 || ptime_ms == 40 || ptime_ms == 60;
  }
  return ptime_ms >= 10 && ptime_ms <= 60 && ptime_ms % 10 == 0;
}

MediaDirection Mirror(unsigned mode) {
  switch (mode) {
    case sdp_sendonly:
      return MediaDirection::kRecvOnly;
    case sdp_recvonly:
      return MediaDirection::kSendOnly;
    case sdp_inactive:
      return MediaDirection::kInactive;
    default:
      return MediaDirection::kSendRecv;
  }
}

std::string_view DirectionAttribute(MediaDirection d) {
  switch (d) {
    case MediaDirection::kSendOnly:
      return "sendonly";
    case MediaDirection::kRecvOnly:
      return "recvonly";
    case MediaDirection::kInactive:
      return "inactive";
    case MediaDirection::kSendRecv:
      break;
  }
  return "sendrecv";
}

bool IsRtpAvp(const sdp_media_t* m) {
  return m->m_proto == sdp_proto_rtp && EqualsNoCase(m->m_proto_name, "RTP/AVP");
}

// A parsed token is safe to copy into our SDP when it is one printable word.
bool IsToken(const char* text) {
  if (text == nullptr || *text == '\0') return false;
  for (const char* p = text; *p; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// "video 0 RTP/AVP 96 97": how the answer rejects an offered stream (same type, proto and
// formats, port 0).
std::string RejectedLine(const sdp_media_t* m) {
  std::string line = IsToken(m->m_type_name) ? m->m_type_name : "application";
  line += " 0 ";
  line += IsToken(m->m_proto_name) ? m->m_proto_name : "RTP/AVP";
  int formats = 0;
  for (const sdp_rtpmap_t* rm = m->m_rtpmaps; rm != nullptr && formats < 32; rm = rm->rm_next) {
    line += fmt::format(" {}", static_cast<unsigned>(rm->rm_pt));
    ++formats;
  }
  for (const sdp_list_t* f = m->m_rtpmaps ? nullptr : m->m_format; f != nullptr && formats < 32;
       f = f->l_next) {
    if (!IsToken(f->l_text)) continue;
    line += " ";
    line += f->l_text;
    ++formats;
  }
  // RTP/AVP and RTP/SAVP need a numeric format even when rejected ("*" does not parse back:
  // found by sdp_fuzz); anything else takes the wildcard.
  if (formats == 0)
    line += m->m_proto == sdp_proto_rtp || m->m_proto == sdp_proto_srtp ? " 0" : " *";
  return line;
}

// sofia-sip 1.12.11's parse_media() loops forever, allocating, when the format list of an m=
// line does not advance: a word that starts with a non-token character ("m=video 9 X ,") or
// whitespace it does not skip (a tab after a non-RTP proto). Fixed upstream after 1.12.11; here
// any such offer could take the process down. So m= lines must have RFC 4566's exact shape
// before sofia sees them: media SP port ["/" integer] SP proto 1*(SP fmt) with media and fmt
// tokens and proto token *("/" token); extra spaces are tolerated (some phones send them), tabs
// are not.
bool IsSdpTokenChar(char c) {
  static constexpr std::string_view kTokenPunct = "-!#$%&'*+.^_`{|}~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kTokenPunct.find(c) != std::string_view::npos;
}

bool IsSdpToken(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), IsSdpTokenChar);
}

bool IsDigits(std::string_view word) {
  return !word.empty() &&
         std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsWellFormedMediaLine(std::string_view line) {
  int index = 0;
  while (true) {
    // Runs of spaces (sofia skips them) but no tabs (sofia stalls on one after the proto).
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty()) return index >= 3;
    size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    bool ok = false;
    if (index == 0 || index >= 3) {
      ok = IsSdpToken(word);
    } else if (index == 1) {
      size_t slash = word.find('/');
      ok = IsDigits(word.substr(0, slash)) &&
           (slash == std::string_view::npos || IsDigits(word.substr(slash + 1)));
    } else {
      ok = true;
      for (size_t start = 0; ok;) {
        size_t slash = word.find('/', start);
        ok =
            IsSdpToken(word.substr(start, slash == std::string_view::npos ? slash : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
      }
    }
    if (!ok) return false;
    ++index;
    line.remove_prefix(word.size());
  }
}

Status CheckMediaLines(std::string_view sdp) {
  while (!sdp.empty()) {
    size_t end = sdp.find_first_of("\r\n");
    std::string_view line = sdp.substr(0, end);
    sdp = end == std::string_view::npos ? std::string_view() : sdp.substr(end + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.substr(0, 2) == "m=" && !IsWellFormedMediaLine(line.substr(2))) {
      std::string shown(line.substr(0, 60));
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      }
      return InvalidArgumentError("malformed SDP offer: bad m= line \"" + shown + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<NegotiatedMedia> NegotiateOffer(std::string_view offer_sdp, const SipConfig& config) {
  if (offer_sdp.empty()) return InvalidArgumentError("empty SDP offer");
  VOXGATE_RETURN_IF_ERROR(CheckMediaLines(offer_sdp));
  // sdp_parse copies the text (it keeps its own NUL-terminated buffer), so a view is fine.
  ParserPtr parser(sdp_parse(nullptr, offer_sdp.data(), static_cast<issize_t>(offer_sdp.size()),
                             sdp_f_mode_0000));
  if (parser == nullptr) return InternalError("SDP parser: out of memory");
  const sdp_session_t* session = sdp_session(parser.get());
  if (session == nullptr) {
    const char* why = sdp_parsing_error(parser.get());
    return InvalidArgumentError(fmt::format("malformed SDP offer: {}", why ? why : "unparsable"));
  }

  NegotiatedMedia media;
  const sdp_media_t* audio = nullptr;
  bool saw_audio = false;
  bool saw_srtp = false;
  for (const sdp_media_t* m = session->sdp_media; m != nullptr; m = m->m_next) {
    bool usable = audio == nullptr && m->m_type == sdp_media_audio && m->m_port != 0 &&
                  m->m_port <= 65535 && !m->m_rejected;
    if (m->m_type == sdp_media_audio && m->m_port != 0) saw_audio = true;
    if (usable && !IsRtpAvp(m)) {
      saw_srtp = saw_srtp || m->m_proto == sdp_proto_srtp;
      usable = false;
    }
    if (usable) {
      audio = m;
      media.answer_media_lines.emplace_back();
    } else {
      media.answer_media_lines.push_back(RejectedLine(m));
    }
  }
  if (audio == nullptr) {
    if (saw_srtp) return UnsupportedError("offer has only SRTP audio (RTP/SAVP), not supported");
    return UnsupportedError(saw_audio ? "offer has no RTP/AVP audio stream"
                                      : "offer has no audio stream with a non-zero port");
  }
  if (media.answer_media_lines.size() == 1) media.answer_media_lines.clear();

  // Codec: our preference first; the caller's payload type.
  const sdp_rtpmap_t* chosen = nullptr;
  Codec chosen_codec = Codec::kPcmu;
  for (Codec codec : config.codecs) {
    for (const sdp_rtpmap_t* rm = audio->m_rtpmaps; rm != nullptr; rm = rm->rm_next) {
      if (Matches(rm, codec)) {
        chosen = rm;
        chosen_codec = codec;
        break;
      }
    }
    if (chosen != nullptr) break;
  }
  if (chosen == nullptr) {
    std::string offered;
    for (const sdp_rtpmap_t* rm = audio->m_rtpmaps; rm != nullptr; rm = rm->rm_next) {
      if (!offered.empty()) offered += ", ";
      offered += fmt::format("{} {}/{}", static_cast<unsigned>(rm->rm_pt),
                             IsToken(rm->rm_encoding) ? rm->rm_encoding : "?", rm->rm_rate);
    }
    return UnsupportedError(
        fmt::format("no codec in common (offered: {})", offered.empty() ? "none" : offered));
  }
  media.audio = SpecFor(chosen_codec, chosen->rm_pt);

  for (const sdp_rtpmap_t* rm = audio->m_rtpmaps; rm != nullptr; rm = rm->rm_next) {
    if (EqualsNoCase(rm->rm_encoding, "telephone-event") &&
        static_cast<int64_t>(rm->rm_rate) == media.audio.clock_rate_hz) {
      media.telephone_event_pt = rm->rm_pt;
      break;
    }
  }

  media.ptime_ms = config.ptime_ms;
  const sdp_attribute_t* ptime = sdp_attribute_find(audio->m_attributes, "ptime");
  if (ptime == nullptr) ptime = sdp_attribute_find(session->sdp_attributes, "ptime");
  if (ptime != nullptr) {
    int64_t offered = LeadingNumber(ptime->a_value);
    if (ValidPtime(offered, chosen_codec)) media.ptime_ms = static_cast<int>(offered);
  }
  if (!ValidPtime(media.ptime_ms, chosen_codec)) media.ptime_ms = 20;

  const sdp_connection_t* c = audio->m_connections ? audio->m_connections : session->sdp_connection;
  if (c == nullptr || !IsToken(c->c_address)) {
    return InvalidArgumentError("SDP offer has no connection address (c=) for its audio stream");
  }
  if (c->c_nettype != sdp_net_in ||
      (c->c_addrtype != sdp_addr_ip4 && c->c_addrtype != sdp_addr_ip6)) {
    return UnsupportedError("SDP offer connection is not IN IP4 / IN IP6");
  }
  media.remote_address = c->c_address;
  media.remote_rtp_port = static_cast<uint16_t>(audio->m_port);
  media.remote_rtcp_port = static_cast<uint16_t>(audio->m_port < 65535 ? audio->m_port + 1 : 0);
  if (const sdp_attribute_t* rtcp = sdp_attribute_find(audio->m_attributes, "rtcp")) {
    int64_t port = LeadingNumber(rtcp->a_value);
    if (port > 0 && port <= 65535) media.remote_rtcp_port = static_cast<uint16_t>(port);
  }
  media.direction = Mirror(audio->m_mode);
  return media;
}

std::string BuildAnswer(const NegotiatedMedia& media, const MediaEndpoint& local,
                        uint64_t session_id, uint64_t version) {
  const bool ip6 = local.address.find(':') != std::string::npos;
  const char* addr_type = ip6 ? "IP6" : "IP4";
  std::string sdp;
  sdp += "v=0\r\n";
  sdp += fmt::format("o=voxgate {} {} IN {} {}\r\n", session_id, version, addr_type, local.address);
  sdp += "s=voxgate\r\n";
  sdp += fmt::format("c=IN {} {}\r\n", addr_type, local.address);
  sdp += "t=0 0\r\n";

  std::string audio;
  const int pt = media.audio.payload_type;
  if (media.telephone_event_pt >= 0) {
    audio +=
        fmt::format("m=audio {} RTP/AVP {} {}\r\n", local.rtp_port, pt, media.telephone_event_pt);
  } else {
    audio += fmt::format("m=audio {} RTP/AVP {}\r\n", local.rtp_port, pt);
  }
  switch (media.audio.codec) {
    case Codec::kPcmu:
      audio += fmt::format("a=rtpmap:{} PCMU/8000\r\n", pt);
      break;
    case Codec::kPcma:
      audio += fmt::format("a=rtpmap:{} PCMA/8000\r\n", pt);
      break;
    case Codec::kOpus:
      audio += fmt::format("a=rtpmap:{} opus/48000/2\r\n", pt);
      audio += fmt::format("a=fmtp:{} useinbandfec=1; minptime=10\r\n", pt);
      break;
  }
  if (media.telephone_event_pt >= 0) {
    audio += fmt::format("a=rtpmap:{} telephone-event/{}\r\n", media.telephone_event_pt,
                         media.audio.clock_rate_hz);
    audio += fmt::format("a=fmtp:{} 0-16\r\n", media.telephone_event_pt);
  }
  audio += fmt::format("a=ptime:{}\r\n", media.ptime_ms);
  audio += fmt::format("a={}\r\n", DirectionAttribute(media.direction));

  if (media.answer_media_lines.empty()) {
    sdp += audio;
  } else {
    for (const std::string& line : media.answer_media_lines) {
      if (line.empty()) {
        sdp += audio;
      } else {
        sdp += "m=" + line + "\r\n";
      }
    }
  }
  return sdp;
}

}  // namespace voxgate::telephony
