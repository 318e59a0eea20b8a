// SipAgent: Voxgate's SIP user agent, on sofia-sip's nua. It answers calls; the CallHandler (the
// call manager) owns their media.
//
// What it answers:
// - INVITE: 100 Trying (sofia, at once), SDP negotiation (NegotiateOffer; a failure is
//   488 Not Acceptable Here with a Warning), then the CallHandler decides: its error picks the
//   answer (see call_handler.h), otherwise 200 OK with our SDP answer. With
//   answer_delay_ms > 0 the agent sends 180 Ringing and answers that much later. Beyond
//   max_calls: 503 with Retry-After. An INVITE without an SDP offer is 488 (offerless INVITEs are
//   not supported). ACK -> CallHandler::OnCallEstablished.
// - BYE, CANCEL, an ACK that never comes, an expired session, a transport error, Hangup() or
//   Stop() end the call: CallHandler::OnCallEnded exactly once for every call it accepted.
// - re-INVITE (session refresh or hold) is answered 200 with the SDP we already sent; UPDATE is
//   answered by sofia. Session timers per RFC 4028 when the caller supports them (we ask the
//   caller to refresh; a caller that does not support them gets no timer, because a refresh we
//   sent would need an SDP offer from us).
// - OPTIONS: 200 (sofia). Other methods: 405 with Allow, unknown ones 501 (sofia).
// - Optional outbound REGISTER to a trunk with digest authentication, refreshed by sofia.
//
// Threads: sofia runs on the agent's own thread (its su_root event loop); every nua call happens
// there. CallHandler methods are called on that thread and must not block for long; they may
// call Hangup() and active_calls(), but not Stop(). The public methods are thread-safe.
//
// Metrics (on the registry given to Start): voxgate_sip_requests_total{method},
// voxgate_sip_responses_total{code}, voxgate_sip_malformed_total (see sip_log_sink.h),
// voxgate_sip_calls_total{outcome=answered|rejected|cancelled|failed}, voxgate_sip_active_calls,
// voxgate_sip_registered (1 while the trunk registration holds).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "metrics/registry.h"
#include "telephony/call_handler.h"
#include "telephony/sip_config.h"

namespace voxgate::telephony {

class SipAgent {
 public:
  /// Validates `config`, binds UDP and/or TCP on bind_address:port (port 0: one free port for
  /// both) and starts the agent's thread. kUnavailable naming host:port when it cannot listen.
  /// `handler` must outlive the agent; `registry` too (null: metrics::Registry::Default()).
  static Result<std::unique_ptr<SipAgent>> Start(const SipConfig& config, CallHandler* handler,
                                                 metrics::Registry* registry);
  /// Stop().
  ~SipAgent();
  SipAgent(const SipAgent&) = delete;
  SipAgent& operator=(const SipAgent&) = delete;

  /// The port we listen on (the one picked when config.port was 0).
  uint16_t port() const;

  /// Ends the call with this Call-ID: BYE once it is answered, 480 while it still rings.
  /// Returns at once (the BYE is sent on the agent's thread); kNotFound for no such live call.
  Status Hangup(const std::string& call_id);

  /// Calls the handler accepted that have not ended.
  size_t active_calls() const;

  /// Sends BYE on every call (OnCallEnded reason "shutdown"), unregisters, shuts sofia down
  /// (waiting for the final nua_r_shutdown: sofia gives up on unanswered requests within ~32 s)
  /// and joins the thread. Idempotent. Not from a CallHandler callback.
  void Stop();

 private:
  class Impl;
  explicit SipAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::telephony
