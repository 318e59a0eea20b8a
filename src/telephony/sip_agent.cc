#include "telephony/sip_agent.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>

#include "telephony/sdp_negotiator.h"
#include "telephony/sip_log_sink.h"

namespace voxgate::telephony {

namespace {

// How long Stop() lets sofia finish (BYEs, un-REGISTER) before giving up on a clean shutdown. A
// peer that answers does so in milliseconds; one that is gone leaves a BYE retransmitting until
// Timer F (32 s), and a SIGTERM'd server must not hang that long (it was 40 s, past the 30 s a
// supervisor such as systemd or the tests waits before SIGKILL).
constexpr int kShutdownDeadlineMs = 5000;
// Retry of a failed trunk registration.
constexpr int kRegisterRetryMs = 60000;
// Retry-After for a 503 (too many calls, shutting down), seconds.
constexpr char kRetryAfterS[] = "5";

// su_init() sets process-wide state (the port implementation, the thread-local port key); it is
// done once and never undone, since agents may start and stop in any order.
void InitSofiaOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    SipLogSink::InstallRedirect();
    su_init();
  });
}

std::string Bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// A Warning / reason text is a quoted string in a header: no quotes, backslashes, controls.
std::string HeaderText(std::string_view text, size_t max = 160) {
  std::string out;
  for (char c : text.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') ? ' ' : c;
  }
  return out;
}

std::string UrlText(const url_t* url) {
  if (url == nullptr) return "";
  char buf[512];
  issize_t n = url_e(buf, sizeof buf, url);
  if (n < 0) return "";
  if (static_cast<size_t>(n) >= sizeof buf) n = sizeof buf - 1;
  return std::string(buf, static_cast<size_t>(n));
}

// "ip:port" the current request came from.
std::string RequestSource(nua_t* nua) {
  msg_t* msg = nua_current_request(nua);
  if (msg == nullptr) return "";
  su_sockaddr_t su;
  socklen_t len = sizeof su;
  std::memset(&su, 0, sizeof su);
  if (msg_get_address(msg, &su, &len) < 0) return "";
  char host[INET6_ADDRSTRLEN] = "";
  if (inet_ntop(su.su_family, SU_ADDR(&su), host, sizeof host) == nullptr) return "";
  const std::string h = su.su_family == AF_INET6 ? fmt::format("[{}]", host) : std::string(host);
  return fmt::format("{}:{}", h, ntohs(su.su_port));
}

int SipStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
      return 503;
    case StatusCode::kUnsupported:
      return 488;
    case StatusCode::kInvalidArgument:
      return 400;
    default:
      return 500;
  }
}

const char* PhraseFor(int status) {
  switch (status) {
    case 400:
      return sip_400_Bad_request;
    case 404:
      return sip_404_Not_found;
    case 415:
      return sip_415_Unsupported_media;
    case 480:
      return sip_480_Temporarily_unavailable;
    case 488:
      return sip_488_Not_acceptable;
    case 503:
      return sip_503_Service_unavailable;
    default:
      return sip_500_Internal_server_error;
  }
}

bool HasFeature(const sip_t* sip, const char* feature) {
  return sip_has_feature(sip->sip_supported, feature) || sip_has_feature(sip->sip_require, feature);
}

// The host[:port] of a registrar URI, for our address of record: "sip:trunk:5070;x=y" ->
// "trunk:5070".
std::string RegistrarDomain(const std::string& registrar) {
  std::string rest = registrar.substr(registrar.find(':') + 1);
  size_t at = rest.find('@');
  if (at != std::string::npos) rest = rest.substr(at + 1);
  size_t end = rest.find_first_of(";?>");
  return rest.substr(0, end);
}

// Binds a probe socket to see whether we can listen there; returns the port bound (the kernel's
// pick when port is 0), or the errno text.
Result<uint16_t> ProbeBind(const std::string& address, uint16_t port, int type) {
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (address.find(':') != std::string::npos) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) != 1) {
      return InvalidArgumentError("bad address " + address);
    }
    len = sizeof *sin6;
    family = AF_INET6;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1) {
      return InvalidArgumentError("bad address " + address);
    }
    len = sizeof *sin;
    family = AF_INET;
  }
  int fd = socket(family, type, 0);
  if (fd < 0) return UnavailableError(std::generic_category().message(errno));
  int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    std::string why = std::generic_category().message(errno);
    close(fd);
    return UnavailableError(why);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  close(fd);
  return family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                            : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

metrics::Family<metrics::Counter>& CallOutcomes(metrics::Registry& registry) {
  return registry.CounterFamily("voxgate_sip_calls_total",
                                "SIP calls by outcome: answered (ACKed), rejected, cancelled "
                                "(CANCEL before the answer), failed (answered, never established).",
                                {"outcome"});
}

}  // namespace

class SipAgent::Impl {
 public:
  Impl(SipConfig config, CallHandler* handler, metrics::Registry& registry);
  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  Status Hangup(const std::string& call_id);
  size_t active_calls() const { return active_.load(std::memory_order_relaxed); }
  uint16_t port() const { return port_; }

 private:
  // One call the handler accepted, from the INVITE until sofia terminates its handle.
  struct Call {
    std::string call_id;
    nua_handle_t* nh = nullptr;
    NegotiatedMedia media;
    MediaEndpoint endpoint;
    uint64_t session_id = 0;
    uint64_t sdp_version = 1;
    std::string answer_sdp;
    bool answered = false;     // 200 OK sent
    bool established = false;  // ACK received
    bool cancelled = false;    // CANCEL before the answer
    bool ended = false;        // OnCallEnded called; guarded by mu_ (Hangup reads it)
    su_timer_t* answer_timer = nullptr;
  };

  // Sets port_: config.port, or a free one for UDP and TCP when it is 0.
  Status PickPort();

  // --- agent thread ---
  void Run(std::promise<Status>* started);
  Status CreateStack();
  static void OnNuaEvent(nua_event_t event, int status, char const* phrase, nua_t* nua,
                         nua_magic_t* magic, nua_handle_t* nh, nua_hmagic_t* hmagic,
                         sip_t const* sip, tagi_t tags[]);
  void HandleEvent(nua_event_t event, int status, char const* phrase, nua_handle_t* nh, Call* call,
                   sip_t const* sip, tagi_t tags[]);
  void OnNewInvite(nua_handle_t* nh, sip_t const* sip);
  void OnReInvite(Call* call, int status, sip_t const* sip);
  void Reject(nua_handle_t* nh, int status, const char* phrase, const std::string& warning_code,
              std::string_view warning_text);
  void Answer(Call* call);
  static void OnAnswerTimer(su_root_magic_t* magic, su_timer_t* timer, su_timer_arg_t* arg);
  void OnCallState(nua_handle_t* nh, Call* call, int status, char const* phrase, tagi_t tags[]);
  void EndCall(Call* call, std::string_view reason);
  void ReleaseCall(Call* call);
  void HangupOnLoop(const std::string& call_id, std::string_view reason);
  void BeginShutdown();
  static void OnShutdownDeadline(su_root_magic_t* magic, su_timer_t* timer, su_timer_arg_t* arg);
  void Register();
  void OnRegisterResponse(nua_event_t event, int status, char const* phrase, sip_t const* sip);
  static void OnRegisterRetry(su_root_magic_t* magic, su_timer_t* timer, su_timer_arg_t* arg);
  Call* FindCall(const std::string& call_id);

  // --- any thread: run `fn` on the agent thread ---
  bool Post(std::function<void()> fn);
  static void OnWakeup(su_root_magic_t* magic, su_msg_r msg, su_msg_arg_t* arg);
  void DrainCommands();

  const SipConfig config_;
  CallHandler* const handler_;
  SipLogSink log_sink_;
  metrics::Counter& answered_;
  metrics::Counter& rejected_;
  metrics::Counter& cancelled_;
  metrics::Counter& failed_;
  metrics::Gauge& active_gauge_;
  metrics::Gauge& registered_gauge_;
  const std::string public_address_;
  uint16_t port_ = 0;
  std::atomic<size_t> active_{0};

  std::mutex stop_mu_;  // serialises Stop()
  std::thread thread_;

  // Agent-thread state.
  su_root_t* root_ = nullptr;
  nua_t* nua_ = nullptr;
  bool shutting_down_ = false;
  bool shutdown_final_ = false;
  su_timer_t* shutdown_timer_ = nullptr;
  nua_handle_t* register_nh_ = nullptr;
  su_timer_t* register_timer_ = nullptr;
  int register_challenges_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};

  mutable std::mutex mu_;
  // Every call from acceptance until its handle is released. Modified on the agent thread
  // under mu_; read there without it, and by Hangup() under it.
  std::map<std::string, std::unique_ptr<Call>> calls_;
  std::deque<std::function<void()>> commands_;  // guarded by mu_
  bool accepting_commands_ = false;             // guarded by mu_: the su_root exists
};

SipAgent::Impl::Impl(SipConfig config, CallHandler* handler, metrics::Registry& registry)
    : config_(std::move(config)),
      handler_(handler),
      log_sink_(registry),
      answered_(CallOutcomes(registry).WithLabels({"answered"})),
      rejected_(CallOutcomes(registry).WithLabels({"rejected"})),
      cancelled_(CallOutcomes(registry).WithLabels({"cancelled"})),
      failed_(CallOutcomes(registry).WithLabels({"failed"})),
      active_gauge_(
          registry.GetGauge("voxgate_sip_active_calls", "SIP calls accepted and not yet ended.")),
      registered_gauge_(registry.GetGauge(
          "voxgate_sip_registered", "1 while the registration to the SIP trunk holds, else 0.")),
      public_address_(config_.PublicAddress()) {}

Status SipAgent::Impl::Start() {
  // Port 0: one free port for UDP and TCP alike (sofia would pick two different ones). Another
  // process may take it between our probe and sofia's bind, so a few attempts.
  const int attempts = config_.port == 0 ? 5 : 1;
  Status status;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    status = PickPort();
    if (!status.ok()) return status;
    std::promise<Status> started;
    auto result = started.get_future();
    thread_ = std::thread([this, &started] { Run(&started); });
    status = result.get();
    if (status.ok()) break;
    thread_.join();
    if (status.code() != StatusCode::kUnavailable) return status;
  }
  if (!status.ok()) return status;
  spdlog::info("SIP agent listening on {}{}{} {}:{} (advertised as {})", config_.udp ? "udp" : "",
               config_.udp && config_.tcp ? "+" : "", config_.tcp ? "tcp" : "",
               config_.bind_address, port_, public_address_);
  return Status::Ok();
}

Status SipAgent::Impl::PickPort() {
  if (config_.port != 0) {
    port_ = static_cast<uint16_t>(config_.port);
    // sofia's own failure says little; a probe names the reason (in use, no permission).
    for (auto [enabled, type, name] : {std::tuple{config_.udp, SOCK_DGRAM, "udp"},
                                       std::tuple{config_.tcp, SOCK_STREAM, "tcp"}}) {
      if (!enabled) continue;
      auto probe = ProbeBind(config_.bind_address, port_, type);
      if (!probe.ok()) {
        return UnavailableError(fmt::format("SIP: cannot listen on {}:{} ({}): {}",
                                            config_.bind_address, port_, name,
                                            probe.status().message()));
      }
    }
    return Status::Ok();
  }
  Status last = UnavailableError("no free port");
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto first = ProbeBind(config_.bind_address, 0, config_.udp ? SOCK_DGRAM : SOCK_STREAM);
    if (!first.ok()) {
      last = first.status();
      continue;
    }
    if (config_.udp && config_.tcp) {
      auto tcp = ProbeBind(config_.bind_address, *first, SOCK_STREAM);
      if (!tcp.ok()) {
        last = tcp.status();
        continue;
      }
    }
    port_ = *first;
    return Status::Ok();
  }
  return UnavailableError(
      fmt::format("SIP: cannot listen on {}:0: {}", config_.bind_address, last.message()));
}

void SipAgent::Impl::Run(std::promise<Status>* started) {
  SipLogSink::BindThisThread(&log_sink_);
  Status status = CreateStack();
  if (!status.ok()) {
    if (root_ != nullptr) su_root_destroy(root_);
    root_ = nullptr;
    SipLogSink::BindThisThread(nullptr);
    started->set_value(status);
    return;
  }
  {
    std::lock_guard lock(mu_);
    accepting_commands_ = true;
  }
  started->set_value(Status::Ok());  // `started` is gone after this
  Register();

  su_root_run(root_);

  {
    std::lock_guard lock(mu_);
    accepting_commands_ = false;
    commands_.clear();
  }
  // Calls sofia dropped without a final state (shutdown deadline) still end exactly once.
  for (auto& [id, call] : calls_) EndCall(call.get(), "shutdown");
  {
    std::lock_guard lock(mu_);
    calls_.clear();
  }
  if (register_timer_ != nullptr) su_timer_destroy(register_timer_);
  if (shutdown_timer_ != nullptr) su_timer_destroy(shutdown_timer_);
  register_timer_ = shutdown_timer_ = nullptr;
  if (shutdown_final_) {
    nua_destroy(nua_);
    su_root_destroy(root_);
  } else {
    // nua_destroy() refuses a stack whose shutdown did not complete; leaking it (and the root it
    // runs on) is the only safe choice left.
    spdlog::error("SIP agent: sofia-sip did not shut down within {} ms; leaking its stack",
                  kShutdownDeadlineMs);
  }
  nua_ = nullptr;
  root_ = nullptr;
  SipLogSink::BindThisThread(nullptr);
}

Status SipAgent::Impl::CreateStack() {
  InitSofiaOnce();
  root_ = su_root_create(this);
  if (root_ == nullptr) return InternalError("SIP: su_root_create failed");
  // Keep nua's stack on this thread (by default it gets a thread of its own): every sofia call,
  // callback and log line then happens here, where the log sink is bound.
  su_root_threading(root_, 0);

  std::string transport;
  if (config_.udp && !config_.tcp) transport = ";transport=udp";
  if (config_.tcp && !config_.udp) transport = ";transport=tcp";
  // The host part is what Via and Contact advertise; maddr is where we bind.
  std::string url = fmt::format("sip:{}:{};maddr={}{}", Bracketed(public_address_), port_,
                                Bracketed(config_.bind_address), transport);
  const bool timers = config_.session_expires_s > 0;
  nua_ = nua_create(
      root_, &Impl::OnNuaEvent, this, NUTAG_URL(url.c_str()),
      // We negotiate SDP ourselves (sdp_negotiator) instead of sofia's soa engine.
      NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0),
      SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"),
      // No 100rel: we never send reliable provisional responses.
      SIPTAG_SUPPORTED_STR(timers ? "timer" : "path"),
      NUTAG_SESSION_TIMER(static_cast<unsigned>(config_.session_expires_s)),
      NUTAG_MIN_SE(static_cast<unsigned>(config_.min_se_s)),
      // If a caller asks us to refresh, do it with UPDATE (no SDP needed).
      NUTAG_UPDATE_REFRESH(1), SIPTAG_USER_AGENT_STR(config_.user_agent.c_str()),
      // The message trace feeds the request/response counters (sip_log_sink.h).
      TPTAG_LOG(1),
      // A datagram starting with 0x00/0x01 is not STUN for us: let it count as malformed.
      TPTAG_STUN_SERVER(0), TAG_END());
  if (nua_ == nullptr) {
    return UnavailableError(fmt::format("SIP: cannot listen on {}:{} (sofia-sip refused {})",
                                        config_.bind_address, port_, url));
  }
  return Status::Ok();
}

void SipAgent::Impl::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (!thread_.joinable()) return;
  if (std::this_thread::get_id() == thread_.get_id()) {
    spdlog::error("SipAgent::Stop() called from a CallHandler callback; ignored");
    return;
  }
  if (!Post([this] { BeginShutdown(); })) {
    spdlog::error("SipAgent::Stop(): agent loop is gone");
  }
  thread_.join();
}

Status SipAgent::Impl::Hangup(const std::string& call_id) {
  {
    std::lock_guard lock(mu_);
    if (!accepting_commands_) return UnavailableError("SIP agent is not running");
    auto it = calls_.find(call_id);
    if (it == calls_.end() || it->second->ended) {
      return NotFoundError("no live SIP call with Call-ID " + call_id);
    }
  }
  if (!Post([this, call_id] { HangupOnLoop(call_id, "local hangup"); })) {
    return UnavailableError("SIP agent is not running");
  }
  return Status::Ok();
}

bool SipAgent::Impl::Post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (!accepting_commands_) return false;
  commands_.push_back(std::move(fn));
  if (commands_.size() > 1) return true;  // a wakeup is already on its way
  // su_msg is sofia's cross-thread mailbox: the port is thread-safe (a mutex and a socketpair),
  // and the message function runs on the root's thread. su_task_execute() does the same.
  su_msg_r msg = SU_MSG_R_INIT;
  // The message carries the Impl pointer itself.
  // NOLINTNEXTLINE(bugprone-sizeof-expression)
  if (su_msg_create(msg, su_root_task(root_), su_task_null, &Impl::OnWakeup, sizeof(Impl*)) != 0) {
    commands_.pop_back();
    return false;
  }
  *reinterpret_cast<Impl**>(su_msg_data(msg)) = this;
  if (su_msg_send(msg) != 0) {
    commands_.pop_back();
    return false;
  }
  return true;
}

void SipAgent::Impl::OnWakeup(su_root_magic_t*, su_msg_r, su_msg_arg_t* arg) {
  (*reinterpret_cast<Impl**>(arg))->DrainCommands();
}

void SipAgent::Impl::DrainCommands() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(commands_);
  }
  for (auto& fn : batch) fn();
}

void SipAgent::Impl::OnNuaEvent(nua_event_t event, int status, char const* phrase, nua_t*,
                                nua_magic_t* magic, nua_handle_t* nh, nua_hmagic_t* hmagic,
                                sip_t const* sip, tagi_t tags[]) {
  auto* self = static_cast<Impl*>(magic);
  self->HandleEvent(event, status, phrase ? phrase : "", nh, static_cast<Call*>(hmagic), sip, tags);
}

void SipAgent::Impl::HandleEvent(nua_event_t event, int status, char const* phrase,
                                 nua_handle_t* nh, Call* call, sip_t const* sip, tagi_t tags[]) {
  switch (event) {
    case nua_i_invite:
      if (call != nullptr) {
        OnReInvite(call, status, sip);
      } else if (status < 200 && sip != nullptr) {
        OnNewInvite(nh, sip);
      }
      // INVITEs sofia refuses by itself (420 Bad Extension, 422 Session Interval Too Small) never
      // reach us; they show in voxgate_sip_responses_total only.
      break;
    case nua_i_ack:
      if (call != nullptr && !call->established) {
        call->established = true;
        answered_.Increment();
        try {
          handler_->OnCallEstablished(call->call_id);
        } catch (const std::exception& e) {
          spdlog::error("CallHandler::OnCallEstablished threw: {}", e.what());
        }
      }
      break;
    case nua_i_cancel:
      if (call != nullptr) {
        call->cancelled = true;
        EndCall(call, "cancelled");
      }
      break;
    case nua_i_bye:
      if (call != nullptr) EndCall(call, "remote hangup");
      break;
    case nua_i_state:
      OnCallState(nh, call, status, phrase, tags);
      break;
    case nua_i_update:
      // sofia answers a plain session-refresh UPDATE itself; one that waits for us gets 200, with
      // our SDP if it carried an offer.
      if (status < 200 && nh != nullptr) {
        if (call != nullptr && sip != nullptr && sip->sip_payload != nullptr) {
          nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                      SIPTAG_PAYLOAD_STR(call->answer_sdp.c_str()), TAG_END());
        } else {
          nua_respond(nh, SIP_200_OK, TAG_END());
        }
      }
      break;
    case nua_i_options:
    case nua_i_message:
    case nua_i_subscribe:
    case nua_i_publish:
    case nua_i_register:
    case nua_i_method:
    case nua_i_refer:
    case nua_i_notify:
    case nua_i_info:
      // Requests outside a call get a handle of their own, which is ours to destroy. sofia has
      // answered them (OPTIONS 200, the rest 405/501) unless it left one to us.
      if (nh != nullptr && status < 200) nua_respond(nh, SIP_405_METHOD_NOT_ALLOWED, TAG_END());
      if (nh != nullptr && call == nullptr && nh != register_nh_ && !nua_handle_has_invite(nh)) {
        nua_handle_destroy(nh);
      }
      break;
    case nua_r_register:
    case nua_r_unregister:
      OnRegisterResponse(event, status, phrase, sip);
      break;
    case nua_r_shutdown:
      if (status >= 200) {
        shutdown_final_ = true;
        if (status >= 300) spdlog::warn("SIP agent: sofia shutdown: {} {}", status, phrase);
        su_root_break(root_);
      }
      break;
    case nua_i_error:
      spdlog::warn("SIP agent: sofia error: {} {}", status, phrase);
      break;
    default:
      break;
  }
}

void SipAgent::Impl::Reject(nua_handle_t* nh, int status, const char* phrase,
                            const std::string& warning_code, std::string_view warning_text) {
  rejected_.Increment();
  std::string warning;
  if (!warning_code.empty()) {
    warning = fmt::format("{} {} \"{}\"", warning_code, Bracketed(public_address_),
                          HeaderText(warning_text));
  }
  const bool retry = status == 503;
  nua_respond(nh, status, phrase, TAG_IF(!warning.empty(), SIPTAG_WARNING_STR(warning.c_str())),
              TAG_IF(retry, SIPTAG_RETRY_AFTER_STR(kRetryAfterS)),
              TAG_IF(status == 415, SIPTAG_ACCEPT_STR("application/sdp")), TAG_END());
}

void SipAgent::Impl::OnNewInvite(nua_handle_t* nh, sip_t const* sip) {
  if (shutting_down_) {
    Reject(nh, SIP_503_SERVICE_UNAVAILABLE, "399", "shutting down");
    return;
  }
  const std::string call_id =
      sip->sip_call_id && sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "";
  if (call_id.empty() || calls_.count(call_id) != 0) {
    Reject(nh, 400, "Duplicate Call-ID", "", "");
    return;
  }
  if (active_.load(std::memory_order_relaxed) >= static_cast<size_t>(config_.max_calls)) {
    Reject(nh, SIP_503_SERVICE_UNAVAILABLE, "399", "too many calls");
    return;
  }
  const sip_payload_t* body = sip->sip_payload;
  if (body == nullptr || body->pl_data == nullptr || body->pl_len == 0) {
    Reject(nh, SIP_488_NOT_ACCEPTABLE, "399", "an SDP offer in the INVITE is required");
    return;
  }
  if (sip->sip_content_type != nullptr && sip->sip_content_type->c_type != nullptr &&
      strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0) {
    Reject(nh, SIP_415_UNSUPPORTED_MEDIA, "", "");
    return;
  }
  auto media = NegotiateOffer(std::string_view(body->pl_data, body->pl_len), config_);
  if (!media.ok()) {
    // 304 Media type not available / 305 Incompatible media format / 399 miscellaneous.
    const bool no_audio = media.status().message().find("audio") != std::string::npos;
    const std::string code =
        media.status().code() == StatusCode::kUnsupported ? (no_audio ? "304" : "305") : "399";
    spdlog::info("SIP: rejecting INVITE {}: {}", call_id, media.status().message());
    Reject(nh, SIP_488_NOT_ACCEPTABLE, code, media.status().message());
    return;
  }

  IncomingCall incoming;
  incoming.call_id = call_id;
  if (sip->sip_request && sip->sip_request->rq_url->url_user) {
    incoming.request_user = sip->sip_request->rq_url->url_user;
  }
  incoming.from_uri = sip->sip_from ? UrlText(sip->sip_from->a_url) : "";
  incoming.to_uri = sip->sip_to ? UrlText(sip->sip_to->a_url) : "";
  incoming.remote_signal_address = RequestSource(nua_);
  incoming.media = *media;

  Result<MediaEndpoint> endpoint = InternalError("CallHandler threw");
  try {
    endpoint = handler_->OnIncomingCall(incoming);
  } catch (const std::exception& e) {
    spdlog::error("CallHandler::OnIncomingCall threw: {}", e.what());
  }
  if (endpoint.ok() && endpoint->rtp_port == 0) {
    // Port 0 in our answer would reject the stream we just accepted.
    endpoint = InternalError("CallHandler returned a media endpoint without an RTP port");
  }
  if (!endpoint.ok()) {
    int code = SipStatusFor(endpoint.status());
    spdlog::info("SIP: call {} to {} refused by the call handler: {}", call_id,
                 incoming.request_user, endpoint.status().ToString());
    Reject(nh, code, PhraseFor(code), code == 488 ? "305" : "",
           code == 488 ? endpoint.status().message() : "");
    return;
  }

  auto owned = std::make_unique<Call>();
  Call* call = owned.get();
  call->call_id = call_id;
  call->nh = nh;
  call->media = *media;
  call->endpoint = *endpoint;
  if (call->endpoint.address.empty()) call->endpoint.address = public_address_;
  // o= session ids are decimal; keep them within 62 bits so any parser takes them.
  call->session_id = rng_() >> 2;
  call->answer_sdp = BuildAnswer(call->media, call->endpoint, call->session_id, call->sdp_version);
  {
    std::lock_guard lock(mu_);
    calls_.emplace(call_id, std::move(owned));
  }
  nua_handle_bind(nh, call);
  active_.fetch_add(1, std::memory_order_relaxed);
  active_gauge_.Increment();
  spdlog::info("SIP: call {} from {} to {} ({} {}/{} -> {}:{})", call_id, incoming.from_uri,
               incoming.request_user, CodecName(media->audio.codec), media->audio.payload_type,
               media->ptime_ms, media->remote_address, media->remote_rtp_port);

  // A caller without session timers would leave us as the refresher, and a refresh we sent
  // would need an SDP offer sofia cannot make for us: no timer for this call.
  if (config_.session_expires_s > 0 && !HasFeature(sip, "timer")) {
    nua_set_hparams(nh, NUTAG_SESSION_TIMER(0), TAG_END());
  }
  if (config_.answer_delay_ms > 0) {
    nua_respond(nh, SIP_180_RINGING, TAG_END());
    call->answer_timer = su_timer_create(su_root_task(root_), config_.answer_delay_ms);
    if (call->answer_timer == nullptr ||
        su_timer_set_interval(call->answer_timer, &Impl::OnAnswerTimer, call,
                              config_.answer_delay_ms) != 0) {
      Answer(call);
    }
    return;
  }
  Answer(call);
}

void SipAgent::Impl::OnAnswerTimer(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
  auto* self = static_cast<Impl*>(magic);
  auto* call = static_cast<Call*>(arg);
  su_timer_destroy(call->answer_timer);
  call->answer_timer = nullptr;
  if (!call->ended) self->Answer(call);
}

void SipAgent::Impl::Answer(Call* call) {
  call->answered = true;
  nua_respond(call->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
              SIPTAG_PAYLOAD_STR(call->answer_sdp.c_str()), TAG_END());
}

void SipAgent::Impl::OnReInvite(Call* call, int status, sip_t const* sip) {
  if (status >= 200 || call->ended) return;  // sofia answered it (e.g. 491/500 overlap)
  // A refresh re-sends the same SDP. A re-offer that changes direction (hold, resume) gets the
  // mirrored direction in a new SDP version; anything else about the stream stays as negotiated.
  if (sip != nullptr && sip->sip_payload != nullptr && sip->sip_payload->pl_data != nullptr) {
    auto media = NegotiateOffer(
        std::string_view(sip->sip_payload->pl_data, sip->sip_payload->pl_len), config_);
    if (media.ok() && media->direction != call->media.direction) {
      call->media.direction = media->direction;
      ++call->sdp_version;
      call->answer_sdp =
          BuildAnswer(call->media, call->endpoint, call->session_id, call->sdp_version);
    }
  }
  nua_respond(call->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
              SIPTAG_PAYLOAD_STR(call->answer_sdp.c_str()), TAG_END());
}

void SipAgent::Impl::OnCallState(nua_handle_t* nh, Call* call, int status, char const* phrase,
                                 tagi_t tags[]) {
  int state = nua_callstate_init;
  tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
  if (state != nua_callstate_terminated || nh == nullptr) return;
  if (call == nullptr) {
    // A rejected INVITE: its handle is ours to destroy.
    if (nh != register_nh_) nua_handle_destroy(nh);
    return;
  }
  EndCall(call, fmt::format("{} {}", status, phrase));
  ReleaseCall(call);
}

void SipAgent::Impl::EndCall(Call* call, std::string_view reason) {
  {
    std::lock_guard lock(mu_);
    if (call->ended) return;
    call->ended = true;
  }
  if (call->answer_timer != nullptr) {
    su_timer_destroy(call->answer_timer);
    call->answer_timer = nullptr;
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
  active_gauge_.Decrement();
  if (call->established) {
    // counted as answered at the ACK
  } else if (call->cancelled) {
    cancelled_.Increment();
  } else if (!call->answered) {
    rejected_.Increment();  // we hung up or shut down while it was ringing
  } else {
    failed_.Increment();
  }
  spdlog::info("SIP: call {} ended: {}", call->call_id, reason);
  try {
    handler_->OnCallEnded(call->call_id, reason);
  } catch (const std::exception& e) {
    spdlog::error("CallHandler::OnCallEnded threw: {}", e.what());
  }
}

void SipAgent::Impl::ReleaseCall(Call* call) {
  nua_handle_t* nh = call->nh;
  std::unique_ptr<Call> owned;
  {
    std::lock_guard lock(mu_);
    auto it = calls_.find(call->call_id);
    if (it != calls_.end() && it->second.get() == call) {
      owned = std::move(it->second);
      calls_.erase(it);
    }
  }
  nua_handle_bind(nh, nullptr);
  nua_handle_destroy(nh);
}

SipAgent::Impl::Call* SipAgent::Impl::FindCall(const std::string& call_id) {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

void SipAgent::Impl::HangupOnLoop(const std::string& call_id, std::string_view reason) {
  Call* call = FindCall(call_id);
  if (call == nullptr || call->ended) return;
  const bool ringing = !call->answered;
  EndCall(call, reason);
  if (ringing) {
    nua_respond(call->nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END());
  } else {
    nua_bye(call->nh, TAG_END());
  }
}

void SipAgent::Impl::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  std::vector<std::string> live;
  for (auto& [id, call] : calls_) {
    if (!call->ended) live.push_back(id);
  }
  for (const auto& id : live) {
    Call* call = FindCall(id);
    const bool ringing = !call->answered;
    EndCall(call, "shutdown");
    if (ringing) {
      nua_respond(call->nh, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
    } else {
      nua_bye(call->nh, SIPTAG_REASON_STR("SIP;cause=503;text=\"shutting down\""), TAG_END());
    }
  }
  if (register_timer_ != nullptr) su_timer_reset(register_timer_);
  registered_gauge_.Set(0);
  // nua_shutdown() waits for the BYEs and un-REGISTERs the trunk.
  nua_shutdown(nua_);
  shutdown_timer_ = su_timer_create(su_root_task(root_), kShutdownDeadlineMs);
  if (shutdown_timer_ != nullptr) {
    su_timer_set_interval(shutdown_timer_, &Impl::OnShutdownDeadline, nullptr, kShutdownDeadlineMs);
  }
}

void SipAgent::Impl::OnShutdownDeadline(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t*) {
  su_root_break(static_cast<Impl*>(magic)->root_);
}

void SipAgent::Impl::Register() {
  const auto& reg = config_.registration;
  if (!reg.enabled() || shutting_down_) return;
  if (register_nh_ == nullptr) {
    const std::string aor = fmt::format("sip:{}@{}", reg.username, RegistrarDomain(reg.registrar));
    register_nh_ = nua_handle(nua_, nullptr, SIPTAG_TO_STR(aor.c_str()),
                              SIPTAG_FROM_STR(aor.c_str()), TAG_END());
    if (register_nh_ == nullptr) {
      spdlog::error("SIP: cannot create the registration handle");
      return;
    }
  }
  register_challenges_ = 0;
  const std::string expires = std::to_string(reg.expires_s);
  nua_register(register_nh_, NUTAG_REGISTRAR(reg.registrar.c_str()),
               SIPTAG_EXPIRES_STR(expires.c_str()), NUTAG_M_USERNAME(reg.username.c_str()),
               TAG_END());
}

void SipAgent::Impl::OnRegisterResponse(nua_event_t event, int status, char const* phrase,
                                        sip_t const* sip) {
  const auto& reg = config_.registration;
  if (status < 200) return;
  if ((status == 401 || status == 407) && event == nua_r_register) {
    // Two challenges in a row mean the trunk did not take our credentials.
    if (++register_challenges_ <= 2 && sip != nullptr) {
      std::string realm = reg.realm;
      const msg_auth_t* challenge =
          status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
      if (realm.empty() && challenge != nullptr) {
        const char* value = msg_params_find(challenge->au_params, "realm=");
        if (value != nullptr) {
          realm = value;
          if (realm.size() >= 2 && realm.front() == '"' && realm.back() == '"') {
            realm = realm.substr(1, realm.size() - 2);
          }
        }
      }
      const std::string credentials =
          fmt::format("Digest:\"{}\":{}:{}", realm, reg.username, reg.password);
      nua_authenticate(register_nh_, NUTAG_AUTH(credentials.c_str()), TAG_END());
      return;
    }
    spdlog::error("SIP: registration to {} rejected our credentials ({} {})", reg.registrar, status,
                  phrase);
  } else if (status < 300) {
    register_challenges_ = 0;
    const bool registered = event == nua_r_register;
    registered_gauge_.Set(registered ? 1 : 0);
    spdlog::info("SIP: {} {} as {}", registered ? "registered with" : "unregistered from",
                 reg.registrar, reg.username);
    return;
  } else {
    spdlog::warn("SIP: registration to {} failed: {} {}", reg.registrar, status, phrase);
  }
  registered_gauge_.Set(0);
  if (event == nua_r_register && !shutting_down_) {
    if (register_timer_ == nullptr) {
      register_timer_ = su_timer_create(su_root_task(root_), kRegisterRetryMs);
    }
    if (register_timer_ != nullptr) {
      su_timer_set_interval(register_timer_, &Impl::OnRegisterRetry, nullptr, kRegisterRetryMs);
    }
  }
}

void SipAgent::Impl::OnRegisterRetry(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t*) {
  static_cast<Impl*>(magic)->Register();
}

// --- SipAgent ---

Result<std::unique_ptr<SipAgent>> SipAgent::Start(const SipConfig& config, CallHandler* handler,
                                                  metrics::Registry* registry) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (handler == nullptr) return InvalidArgumentError("SipAgent needs a CallHandler");
  auto impl = std::make_unique<Impl>(
      config, handler, registry != nullptr ? *registry : metrics::Registry::Default());
  VOXGATE_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<SipAgent>(new SipAgent(std::move(impl)));
}

SipAgent::SipAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SipAgent::~SipAgent() { Stop(); }

uint16_t SipAgent::port() const { return impl_->port(); }

Status SipAgent::Hangup(const std::string& call_id) { return impl_->Hangup(call_id); }

size_t SipAgent::active_calls() const { return impl_->active_calls(); }

void SipAgent::Stop() { impl_->Stop(); }

}  // namespace voxgate::telephony
