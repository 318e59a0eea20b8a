#include "telephony/sip_log_sink.h"

#include <sofia-sip/su_log.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <vector>

// sofia's per-module logs. libsofia-sip-ua exports them, but only soa_log has a public
// declaration (FreeSWITCH's mod_sofia declares them the same way to redirect them).
extern "C" {
extern su_log_t iptsec_log[];
extern su_log_t nea_log[];
extern su_log_t nta_log[];
extern su_log_t nth_client_log[];
extern su_log_t nth_server_log[];
extern su_log_t nua_log[];
extern su_log_t soa_log[];
extern su_log_t sresolv_log[];
extern su_log_t stun_log[];
extern su_log_t tport_log[];
}

namespace voxgate::telephony {

namespace {

thread_local SipLogSink* tls_sink = nullptr;

// Lines for threads with no sink: assembled per thread, then only logged.
thread_local std::string tls_pending;

constexpr size_t kMaxLineBytes = 16384;  // a line longer than this is cut (sofia caps its own)
constexpr size_t kMaxTraceBytes = 8192;  // logged part of one traced message

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// Printable ASCII only: a log line must not carry the raw bytes of a hostile message.
std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n') || u >= 0x7f) c = '.';
  }
  return out;
}

void LogLine(std::string_view line) {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  spdlog::debug("sofia: {}", Printable(line));
}

void Logger(void* /*stream*/, char const* fmt, va_list ap) {
  std::array<char, 2048> small;
  va_list copy;
  va_copy(copy, ap);
  // The analyzer cannot see that sofia hands us an initialised va_list.
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
  int n = std::vsnprintf(small.data(), small.size(), fmt, copy);
  va_end(copy);
  if (n < 0) return;
  std::string_view text;
  std::vector<char> big;
  if (static_cast<size_t>(n) < small.size()) {
    text = std::string_view(small.data(), static_cast<size_t>(n));
  } else {
    big.resize(static_cast<size_t>(n) + 1);
    va_list again;
    va_copy(again, ap);
    std::vsnprintf(big.data(), big.size(), fmt, again);
    va_end(again);
    text = std::string_view(big.data(), static_cast<size_t>(n));
  }
  if (tls_sink != nullptr) {
    tls_sink->Feed(text);
    return;
  }
  tls_pending.append(text);
  size_t pos;
  while ((pos = tls_pending.find('\n')) != std::string::npos) {
    LogLine(std::string_view(tls_pending).substr(0, pos));
    tls_pending.erase(0, pos + 1);
  }
  if (tls_pending.size() > kMaxLineBytes) {
    LogLine(tls_pending);
    tls_pending.clear();
  }
}

// "recv 514 bytes from udp/[127.0.0.1]:5062 at 11:36:20.682011:" (tport_stamp); "send ... to".
bool IsTraceHeader(std::string_view line, bool* recv) {
  std::string_view rest;
  if (StartsWith(line, "recv ")) {
    *recv = true;
  } else if (StartsWith(line, "send ") || StartsWith(line, "sent ")) {
    *recv = false;
  } else {
    return false;
  }
  rest = line.substr(5);
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits == 0) return false;
  rest = rest.substr(digits);
  return StartsWith(rest, " bytes from ") || StartsWith(rest, " bytes to ");
}

bool IsTraceSeparator(std::string_view line) { return StartsWith(line, "   -----"); }

}  // namespace

std::string_view SipMethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {
      "INVITE", "ACK",   "BYE",   "CANCEL",    "OPTIONS", "REGISTER", "INFO",
      "UPDATE", "PRACK", "REFER", "SUBSCRIBE", "NOTIFY",  "MESSAGE",  "PUBLISH"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

SipLogSink::SipLogSink(metrics::Registry& registry)
    : requests_(registry.CounterFamily("voxgate_sip_requests_total",
                                       "SIP requests received, by method (retransmissions "
                                       "included; unknown methods as other).",
                                       {"method"})),
      responses_(registry.CounterFamily(
          "voxgate_sip_responses_total",
          "SIP responses sent, by status code (provisional and retransmitted included).",
          {"code"})),
      malformed_(registry.GetCounter(
          "voxgate_sip_malformed_total",
          "SIP messages dropped or answered 400 because they did not parse or failed sofia-sip's "
          "sanity checks.")) {}

void SipLogSink::InstallRedirect() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (su_log_t* log :
         {su_log_default, su_log_global, iptsec_log, nea_log, nta_log, nth_client_log,
          nth_server_log, nua_log, soa_log, sresolv_log, stun_log, tport_log}) {
      su_log_redirect(log, Logger, nullptr);
    }
    // The counters read nta's level-5 reports; soft: NTA_DEBUG in the environment still wins.
    su_log_soft_set_level(nta_log, 5);
  });
}

void SipLogSink::BindThisThread(SipLogSink* sink) { tls_sink = sink; }

void SipLogSink::Feed(std::string_view text) {
  pending_.append(text);
  size_t start = 0;
  size_t pos;
  while ((pos = pending_.find('\n', start)) != std::string::npos) {
    OnLine(std::string_view(pending_).substr(start, pos - start));
    start = pos + 1;
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxLineBytes) {
    OnLine(pending_);
    pending_.clear();
  }
}

void SipLogSink::OnLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  switch (trace_) {
    case Trace::kIdle: {
      bool recv = false;
      if (IsTraceHeader(line, &recv)) {
        trace_ = Trace::kHeader;
        trace_recv_ = recv;
        trace_header_.assign(line);
        trace_first_line_.clear();
        trace_text_.clear();
        trace_has_first_line_ = false;
        return;
      }
      break;
    }
    case Trace::kHeader:
      if (IsTraceSeparator(line)) {
        trace_ = Trace::kBody;
        return;
      }
      trace_ = Trace::kIdle;  // not a trace after all
      break;
    case Trace::kBody:
      if (IsTraceSeparator(line)) {
        OnTraceEnd();
        trace_ = Trace::kIdle;
        return;
      }
      if (StartsWith(line, "   ")) line.remove_prefix(3);
      if (!trace_has_first_line_) {
        trace_first_line_.assign(line);
        trace_has_first_line_ = true;
      }
      if (trace_text_.size() < kMaxTraceBytes) {
        trace_text_ += '\n';
        trace_text_.append(line.substr(0, kMaxTraceBytes - trace_text_.size()));
      }
      return;
  }
  OnLogLine(line);
}

void SipLogSink::OnTraceEnd() {
  std::string_view first = trace_first_line_;
  if (trace_recv_) {
    // "INVITE sip:alice@example.com SIP/2.0"
    size_t sp = first.find(' ');
    if (sp != std::string_view::npos && sp > 0 && Contains(first, " SIP/2.0") &&
        !StartsWith(first, "SIP/")) {
      requests_.WithLabels({SipMethodLabel(first.substr(0, sp))}).Increment();
    }
  } else if (StartsWith(first, "SIP/2.0 ") && first.size() >= 11) {
    std::string_view code = first.substr(8, 3);
    if (code[0] >= '1' && code[0] <= '6' && code[1] >= '0' && code[1] <= '9' && code[2] >= '0' &&
        code[2] <= '9') {
      responses_.WithLabels({code}).Increment();
    }
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("sip {}{}", Printable(trace_header_), Printable(trace_text_));
  }
}

void SipLogSink::CountMalformed() {
  if (message_flagged_) return;
  message_flagged_ = true;
  malformed_.Increment();
}

void SipLogSink::OnLogLine(std::string_view line) {
  LogLine(line);
  // nta announces each message it starts processing; the reports below are about that one.
  if (StartsWith(line, "nta: received ")) {
    message_flagged_ = false;
    return;
  }
  if (StartsWith(line, "nta_agent: received garbage")) {
    message_flagged_ = false;
    CountMalformed();
    return;
  }
  if (StartsWith(line, "nta: ")) {
    static constexpr std::string_view kMarkers[] = {" failed sanity check",
                                                    " has bad ",
                                                    " is Bad ",
                                                    " has fatal syntax errors",
                                                    "nta: bad version ",
                                                    " has invalid Via",
                                                    " is response to ACK",
                                                    " is Request Entity Too Large"};
    for (std::string_view marker : kMarkers) {
      if (Contains(line, marker)) {
        CountMalformed();
        return;
      }
    }
    return;
  }
  // agent_tp_error(): "nta_agent: tport: <remote>: <error>" for send errors (ICMP and the
  // like), "nta_agent: tport: <error>" with no remote when a received datagram or stream could
  // not be turned into a message.
  if (StartsWith(line, "nta_agent: tport: ")) {
    std::string_view rest = line.substr(18);
    if (!Contains(rest, ": ")) {
      message_flagged_ = false;
      CountMalformed();
    }
  }
}

}  // namespace voxgate::telephony
