// SDP offer/answer for one audio stream (RFC 3264, RFC 4566): parse a caller's offer with
// sofia-sip's SDP parser, choose the codec by OUR preference, and write the answer. Stateless
// free functions; thread-safe. The parser never aborts on bad input: it returns an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "telephony/call_handler.h"
#include "telephony/sip_config.h"

namespace voxgate::telephony {

/// Negotiates `offer_sdp` (the body of an INVITE) against config.codecs:
/// - the stream is the first m=audio line with a non-zero port and RTP/AVP (SRTP is not
///   supported); the answer rejects every other m= line;
/// - the codec is the first of config.codecs the stream offers: PCMU / PCMA by static payload
///   type 0 / 8 or by rtpmap, Opus by rtpmap opus/48000/2 (under the caller's payload type);
/// - telephone-event is taken when offered at the codec's clock rate (8000 for G.711, 48000 for
///   Opus);
/// - ptime from a=ptime (media, else session level) when it is 10-60 ms in steps of 10 (Opus:
///   10, 20, 40, 60), else config.ptime_ms;
/// - the remote address from the media-level c=, else the session-level one; RTCP port from
///   a=rtcp, else RTP port + 1; our direction mirrors the offer's (c=0.0.0.0 counts as sendonly).
/// Errors: kInvalidArgument naming what is wrong for unparsable SDP; kUnsupported when there is
/// no usable audio stream or no codec in common.
Result<NegotiatedMedia> NegotiateOffer(std::string_view offer_sdp, const SipConfig& config);

/// The SDP answer for `media`, receiving at `local` (c= and o= use local.address, IPv4 or IPv6).
/// `session_id` / `version` go into o=; keep them for the call and bump `version` only when the
/// answer changes (a session refresh re-sends the same SDP). Lines end with CRLF.
std::string BuildAnswer(const NegotiatedMedia& media, const MediaEndpoint& local,
                        uint64_t session_id, uint64_t version);

}  // namespace voxgate::telephony
