// SipLogSink: where sofia-sip's own log output goes. sofia logs through su_log (SOFIA_DEBUG,
// NTA_DEBUG, TPORT_DEBUG, ...) to stderr by default; InstallRedirect() sends every sofia log into
// the process logger at debug level instead, so sofia is silent unless debug logging is on.
//
// The log is also the only place sofia reports what crosses the wire. nua hides the transaction
// layer (nta) and its statistics from the application: requests that nta answers by itself never
// reach the nua callback, and there is no hook for messages that fail to parse. So the sink reads
// two of sofia's own reports:
// - the message trace tport writes with TPTAG_LOG(1) ("recv 514 bytes from udp/[...]:5062 at
//   ...:" then the message between two separator lines): every received request counts in
//   voxgate_sip_requests_total{method} and every sent response in
//   voxgate_sip_responses_total{code}, retransmissions and the ones nta sends on its own included;
// - nta's reports of rejected input ("received garbage", "failed sanity check", "has bad X
//   header", "is Bad Request", "has fatal syntax errors", a transport receive error): each
//   malformed message counts once in voxgate_sip_malformed_total. These are nta log level 5 and
//   tport level 1, which InstallRedirect() asks for (NTA_DEBUG in the environment still wins).
//
// sofia calls the logger on the thread that logs; each agent's sofia stack runs on one thread,
// which binds its sink with BindThisThread(). Output from threads with no sink only goes to the
// process logger. Feed() is not thread-safe (one sink per agent thread); the metrics are.
#pragma once

#include <string>
#include <string_view>

#include "metrics/registry.h"

namespace voxgate::telephony {

class SipLogSink {
 public:
  /// Registers the metrics on `registry`, which must outlive the sink.
  explicit SipLogSink(metrics::Registry& registry);
  SipLogSink(const SipLogSink&) = delete;
  SipLogSink& operator=(const SipLogSink&) = delete;

  /// Formatted sofia log text, in whatever pieces sofia writes it ('\n' ends a line).
  void Feed(std::string_view text);

  /// Redirects every sofia log module into this class (once per process; idempotent) and sets
  /// the levels the counters need. Call before creating a sofia stack.
  static void InstallRedirect();
  /// Sends sofia log output produced on the calling thread to `sink` (nullptr: logger only).
  static void BindThisThread(SipLogSink* sink);

 private:
  void OnLine(std::string_view line);
  void OnTraceEnd();
  void OnLogLine(std::string_view line);
  void CountMalformed();

  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& responses_;
  metrics::Counter& malformed_;

  std::string pending_;  // text after the last '\n'
  enum class Trace { kIdle, kHeader, kBody } trace_ = Trace::kIdle;
  bool trace_recv_ = false;
  std::string trace_header_;
  std::string trace_first_line_;
  std::string trace_text_;
  bool trace_has_first_line_ = false;
  bool message_flagged_ = false;  // the message nta is reporting on was already counted
};

/// The metric label for a request method: the standard ones by name, anything else "other".
std::string_view SipMethodLabel(std::string_view method);

}  // namespace voxgate::telephony
