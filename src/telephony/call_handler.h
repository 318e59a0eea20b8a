// The seam between SIP signalling (SipAgent) and call media (the call manager): the agent
// negotiates the session and tells a CallHandler about each call; the handler owns the RTP side.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace voxgate::telephony {

enum class Codec { kPcmu, kPcma, kOpus };

/// "PCMU", "PCMA", "opus".
std::string_view CodecName(Codec codec);

/// One negotiated RTP payload format.
struct CodecSpec {
  Codec codec = Codec::kPcmu;
  int payload_type = 0;      // RTP payload type (0 PCMU, 8 PCMA, dynamic for Opus)
  int clock_rate_hz = 8000;  // RTP clock: 8000 for G.711, 48000 for Opus
  int channels = 1;          // Opus is always signalled as 2 in SDP; audio is mono here
};

/// kInvalidArgument unless the RTP clock is the codec's: 8000 Hz for G.711, 48000 Hz for Opus.
Status CheckRtpClock(const CodecSpec& spec);

/// RFC 3264 stream direction.
enum class MediaDirection { kSendRecv, kSendOnly, kRecvOnly, kInactive };

/// The media half of an answered offer: what we will receive and send.
struct NegotiatedMedia {
  CodecSpec audio;
  int telephone_event_pt = -1;  // RFC 4733 payload type; -1 when the offer had none
  int ptime_ms = 20;            // packetisation time
  std::string remote_address;   // where to send RTP (connection address of the offer)
  uint16_t remote_rtp_port = 0;
  uint16_t remote_rtcp_port = 0;  // a=rtcp, else remote_rtp_port + 1
  // OUR direction, the mirror of the offer's: an offer that is sendonly (caller on hold music,
  // or a recording feed) gives kRecvOnly, so the media side must not send.
  MediaDirection direction = MediaDirection::kSendRecv;
  // An answer carries one m= line per offered one, in order (RFC 3264 section 6). The offer's
  // other m= lines, rejected as "video 0 RTP/AVP 96"; "" marks the negotiated audio stream.
  // Empty for an audio-only offer. Only the SDP answer uses it.
  std::vector<std::string> answer_media_lines;
};

struct IncomingCall {
  std::string call_id;       // the SIP Call-ID
  std::string request_user;  // user part of the Request-URI: "identify", "verify-alice", ...
  std::string from_uri;
  std::string to_uri;
  std::string remote_signal_address;  // host:port the INVITE came from
  NegotiatedMedia media;
};

/// Where we receive RTP; goes into the SDP answer.
struct MediaEndpoint {
  std::string address;    // IP to put in c=
  uint16_t rtp_port = 0;  // RTCP on rtp_port + 1
};

/// Implemented by the call manager. Called on the SIP agent's thread; must not block for long.
class CallHandler {
 public:
  virtual ~CallHandler() = default;
  /// A new INVITE whose SDP negotiated. Return where we receive RTP, or an error that picks the
  /// SIP answer: kNotFound 404, kUnavailable / kResourceExhausted 503, kUnsupported 488,
  /// kInvalidArgument 400, anything else 500.
  virtual Result<MediaEndpoint> OnIncomingCall(const IncomingCall& call) = 0;
  /// The call is confirmed (ACK received).
  virtual void OnCallEstablished(const std::string& call_id) = 0;
  /// The call ended for any reason (BYE either way, CANCEL, timeout, error). Called exactly once
  /// for every call OnIncomingCall accepted.
  virtual void OnCallEnded(const std::string& call_id, std::string_view reason) = 0;
};

}  // namespace voxgate::telephony
