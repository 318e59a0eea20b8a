#include "telephony/call_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "telephony/call_scenario.h"

namespace voxgate::telephony {
namespace {

namespace net = boost::asio;
using udp = net::ip::udp;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(10);
constexpr int kTickMs = 10;
constexpr int kSendFrameMs = 20;
constexpr size_t kDatagramBytes = 2048;
// After the result prompt, wait this long before the BYE so its last packets are played out by
// the caller's jitter buffer.
constexpr double kHangupGraceS = 0.3;

// Rates the calls send at: G.711 is 8 kHz; Opus is encoded from 16 kHz.
int SendRateHz(Codec codec) { return codec == Codec::kOpus ? 16000 : 8000; }
// Rates the calls' frames are decoded to: G.711 8 kHz; Opus straight to the pipeline's 16 kHz.
int DecodeRateHz(Codec codec) { return codec == Codec::kOpus ? 16000 : 8000; }

std::string CodecTag(Codec codec) { return std::string(CodecName(codec)); }

bool Sends(MediaDirection d) {
  return d == MediaDirection::kSendRecv || d == MediaDirection::kSendOnly;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Config

Status CallManagerConfig::Validate() const {
  boost::system::error_code ec;
  net::ip::make_address(rtp_address, ec);
  if (ec) return InvalidArgumentError(fmt::format("rtp_address '{}' is not an IP", rtp_address));
  if (rtp_port_min < 1024 || rtp_port_max > 65534 || rtp_port_min + 1 > rtp_port_max) {
    return InvalidArgumentError(fmt::format(
        "rtp_port_min..rtp_port_max must lie in 1024..65534 and hold a port pair, got {}..{}",
        rtp_port_min, rtp_port_max));
  }
  VOXGATE_RETURN_IF_ERROR(media.Validate());
  if (!(rtcp_interval_s >= 1 && rtcp_interval_s <= 60)) {
    return InvalidArgumentError(
        fmt::format("rtcp_interval_s must be in [1, 60], got {}", rtcp_interval_s));
  }
  if (!(media_timeout_s >= 0 && media_timeout_s <= 3600)) {
    return InvalidArgumentError(
        fmt::format("media_timeout_s must be in [0, 3600], got {}", media_timeout_s));
  }
  if (!(scenario_timeout_s >= 5 && scenario_timeout_s <= 3600)) {
    return InvalidArgumentError(
        fmt::format("scenario_timeout_s must be in [5, 3600], got {}", scenario_timeout_s));
  }
  if (!(threshold <= 1)) {
    return InvalidArgumentError(
        fmt::format("threshold must be <= 1 (< -1: the model's), got {}", threshold));
  }
  if (finisher_threads < 1 || finisher_threads > 16) {
    return InvalidArgumentError(
        fmt::format("finisher_threads must be in [1, 16], got {}", finisher_threads));
  }
  VOXGATE_RETURN_IF_ERROR(voice.Validate());
  return prompts.Validate();
}

std::string CallManagerConfig::ToString() const {
  std::ostringstream os;
  os << "CallManagerConfig(rtp_address=" << rtp_address << ", rtp_ports=" << rtp_port_min << ".."
     << rtp_port_max << ", " << media.ToString() << ", rtcp_interval_s=" << rtcp_interval_s
     << ", media_timeout_s=" << media_timeout_s << ", scenario_timeout_s=" << scenario_timeout_s
     << ", threshold=" << threshold << ", symmetric_rtp=" << symmetric_rtp << ", "
     << voice.ToString() << ", " << prompts.ToString() << ", finisher_threads=" << finisher_threads
     << ")";
  return os.str();
}

Status CallManagerConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("rtp_address", &rtp_address));
  VOXGATE_RETURN_IF_ERROR(node.Get("rtp_port_min", &rtp_port_min));
  VOXGATE_RETURN_IF_ERROR(node.Get("rtp_port_max", &rtp_port_max));
  VOXGATE_RETURN_IF_ERROR(media.Load(node.Child("media")));
  VOXGATE_RETURN_IF_ERROR(node.Get("rtcp_interval_s", &rtcp_interval_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("media_timeout_s", &media_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("scenario_timeout_s", &scenario_timeout_s));
  VOXGATE_RETURN_IF_ERROR(node.Get("threshold", &threshold));
  VOXGATE_RETURN_IF_ERROR(node.Get("symmetric_rtp", &symmetric_rtp));
  VOXGATE_RETURN_IF_ERROR(node.Get("finisher_threads", &finisher_threads));
  ConfigNode v = node.Child("voice");
  VOXGATE_RETURN_IF_ERROR(v.Get("voice", &voice.voice));
  VOXGATE_RETURN_IF_ERROR(v.Get("rate_wpm", &voice.rate_wpm));
  VOXGATE_RETURN_IF_ERROR(v.Get("pitch", &voice.pitch));
  VOXGATE_RETURN_IF_ERROR(v.Get("data_path", &voice.data_path));
  VOXGATE_RETURN_IF_ERROR(prompts.Load(node.Child("prompts")));
  return Validate();
}

// ---------------------------------------------------------------------------------------------
// Impl

class CallManager::Impl {
 public:
  // One call's media. Everything but the constant fields is touched only on the I/O thread.
  struct Call {
    Call(net::io_context& io, std::string id) : call_id(std::move(id)), rtp(io), rtcp(io) {}
    const std::string call_id;
    CallScenario scenario;
    std::shared_ptr<stream::VoiceSession> session;
    std::unique_ptr<CallMedia> media;
    uint16_t port = 0;
    udp::socket rtp;
    udp::socket rtcp;
    udp::endpoint rtp_peer;
    udp::endpoint rtcp_peer;
    bool latched = false;
    std::array<uint8_t, kDatagramBytes> rtp_in{};
    std::array<uint8_t, kDatagramBytes> rtcp_in{};
    udp::endpoint rtp_from;
    udp::endpoint rtcp_from;

    bool open = false;  // on the I/O thread's list, sockets receiving
    bool ended = false;
    bool established = false;
    double answered_s = 0;
    double established_s = 0;
    int rx_ms = 0;  // time owed to playout, ms
    int tx_ms = 0;  // time owed to the send side, ms
    double next_rtcp_s = 0;
    // Prompts to play, in order, and the position in the first.
    std::deque<std::span<const float>> prompts;
    size_t prompt_pos = 0;
    bool result_given = false;
    bool hangup_after_prompts = false;
    double hangup_at_s = -1;  // when the prompts are done: hang up at this time
    bool hangup_sent = false;

    audio::AudioFrame frame;
    std::vector<float> send_pcm;
    std::array<uint8_t, RtpPacketizer::kMaxPacketBytes> send_buf{};
  };

  Impl(const CallManagerConfig& config, stream::LiveServices services, metrics::Registry& registry)
      : config_(config),
        services_(std::move(services)),
        timer_(io_),
        work_(net::make_work_guard(io_)),
        finisher_(static_cast<size_t>(config.finisher_threads)),
        rng_(std::random_device{}()),
        next_port_(config.rtp_port_min + (config.rtp_port_min & 1)),
        rtp_ok_(RtpFamily(registry).WithLabels({"ok"})),
        rtp_malformed_(RtpFamily(registry).WithLabels({"malformed"})),
        rtp_wrong_ssrc_(RtpFamily(registry).WithLabels({"wrong_ssrc"})),
        rtp_unknown_pt_(RtpFamily(registry).WithLabels({"unknown_payload_type"})),
        rtp_sent_(registry.GetCounter("voxgate_rtp_sent_packets_total",
                                      "RTP packets sent by calls (prompts, silence, DTMF).")),
        rtcp_in_(RtcpFamily(registry).WithLabels({"in"})),
        rtcp_out_(RtcpFamily(registry).WithLabels({"out"})),
        scenarios_(registry.CounterFamily("voxgate_call_scenarios_total",
                                          "Calls accepted, by Request-URI scenario.",
                                          {"scenario"})),
        ports_in_use_(registry.GetGauge("voxgate_call_media_ports_in_use",
                                        "RTP/RTCP port pairs held by calls.")),
        tick_overruns_(registry.GetCounter(
            "voxgate_call_tick_overruns_total",
            "Media I/O ticks that started a whole tick late or more (CPU starved).")) {
    // Start the port cursor at a random pair: a stream still flowing to a port from before a
    // restart (a caller that has not noticed the BYE) must not land in this process's first call
    // and be taken for its caller.
    const int first = config.rtp_port_min + (config.rtp_port_min & 1);
    const int pairs = (config.rtp_port_max - first + 1) / 2;
    next_port_ = first + 2 * std::uniform_int_distribution<int>(0, std::max(0, pairs - 1))(rng_);
  }

  static metrics::Family<metrics::Counter>& RtpFamily(metrics::Registry& r) {
    return r.CounterFamily("voxgate_rtp_packets_total",
                           "RTP datagrams received by calls, by what became of them.", {"result"});
  }
  static metrics::Family<metrics::Counter>& RtcpFamily(metrics::Registry& r) {
    return r.CounterFamily("voxgate_rtcp_packets_total", "RTCP compounds received and sent.",
                           {"direction"});
  }

  Status Start() {
    std::vector<int> rates = {SendRateHz(Codec::kPcmu), SendRateHz(Codec::kOpus)};
    VOXGATE_ASSIGN_OR_RETURN(prompts_,
                             PromptLibrary::Create(config_.prompts, config_.voice, rates));
    next_tick_ = SteadyClock::now() + kTick;
    ScheduleTick();
    io_thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  void SetHangup(HangupFn hangup) {
    std::lock_guard lock(mu_);
    hangup_ = std::move(hangup);
  }

  Result<MediaEndpoint> OnIncomingCall(const IncomingCall& in) {
    if (stopped_.load()) return UnavailableError("shutting down");
    VOXGATE_ASSIGN_OR_RETURN(CallScenario scenario, ParseCallScenario(in.request_user));
    const bool scoring = scenario.kind != ScenarioKind::kRecord;
    if (scoring && (!services_.embedder || !services_.directory)) {
      return UnavailableError("no speaker model is loaded");
    }
    if (scenario.kind == ScenarioKind::kVerify) {
      VOXGATE_RETURN_IF_ERROR(services_.directory->CheckScorable(scenario.user_id));
    }

    auto call = std::make_shared<Call>(io_, in.call_id);
    call->scenario = scenario;
    VOXGATE_ASSIGN_OR_RETURN(call->port, BindPorts(*call));
    PortsGuard release_on_error(this, call.get());

    stream::VoiceSessionOptions o;
    o.kind = "sip";
    switch (scenario.kind) {
      case ScenarioKind::kIdentify:
        o.mode = voiceprint::LiveMode::kIdentify;
        break;
      case ScenarioKind::kVerify:
        o.mode = voiceprint::LiveMode::kVerify;
        break;
      case ScenarioKind::kEnroll:
        o.mode = voiceprint::LiveMode::kEnroll;
        break;
      case ScenarioKind::kRecord:
        o.record = true;
        break;
    }
    o.user_id = scenario.user_id;
    o.threshold = config_.threshold;
    o.input_rate_hz = DecodeRateHz(in.media.audio.codec);
    o.codec = CodecTag(in.media.audio.codec);
    o.rtp_clock_rate_hz = in.media.audio.clock_rate_hz;
    o.info = {
        {"call_id", in.call_id},
        {"scenario", ScenarioName(scenario.kind)},
        {"from", in.from_uri},
        {"to", in.to_uri},
        {"signal_from", in.remote_signal_address},
        {"remote_rtp", fmt::format("{}:{}", in.media.remote_address, in.media.remote_rtp_port)},
        {"local_rtp_port", call->port},
        {"ptime_ms", in.media.ptime_ms}};
    std::weak_ptr<Call> weak = call;
    VOXGATE_ASSIGN_OR_RETURN(
        call->session, stream::VoiceSession::Start(
                           services_, std::move(o),
                           [this, weak](const analytics::Event& e) { OnSessionEvent(weak, e); }));
    auto media = CallMedia::Create(
        in.media, config_.media, &call->session->qos(), DecodeRateHz(in.media.audio.codec),
        SendRateHz(in.media.audio.codec), fmt::format("voxgate@{}", call->session->id()));
    if (!media.ok()) {
      FinishLater(call->session, "media setup failed");
      return media.status();
    }
    call->media = std::move(*media);
    call->send_pcm.assign(static_cast<size_t>(call->media->send_frame_samples()), 0.0f);

    boost::system::error_code ec;
    const auto remote = net::ip::make_address(in.media.remote_address, ec);
    if (!ec) {
      call->rtp_peer = udp::endpoint(remote, in.media.remote_rtp_port);
      call->rtcp_peer =
          udp::endpoint(remote, in.media.remote_rtcp_port != 0 ? in.media.remote_rtcp_port
                                                               : in.media.remote_rtp_port + 1);
    }
    call->answered_s = stream::VoiceSession::NowS();
    call->next_rtcp_s = call->answered_s + NextRtcpDelay();
    release_on_error.Release();
    {
      std::lock_guard lock(mu_);
      calls_[call->call_id] = call;
    }
    scenarios_.WithLabels({std::string(ScenarioName(scenario.kind))}).Increment();
    net::post(io_, [this, call] { Open(call); });
    spdlog::info("call {}: {} session {} on RTP port {}", call->call_id,
                 ScenarioName(scenario.kind), call->session->id(), call->port);
    return MediaEndpoint{"", call->port};
  }

  void OnCallEstablished(const std::string& call_id) {
    auto call = Find(call_id);
    if (!call) return;
    net::post(io_, [this, call] {
      if (call->ended) return;
      call->established = true;
      call->established_s = stream::VoiceSession::NowS();
      if (call->scenario.kind == ScenarioKind::kVerify) Say(*call, Prompt::kVerifyIntro);
      if (call->scenario.kind == ScenarioKind::kEnroll) Say(*call, Prompt::kEnrollIntro);
    });
  }

  void OnCallEnded(const std::string& call_id, std::string_view reason) {
    std::shared_ptr<Call> call;
    {
      std::lock_guard lock(mu_);
      auto it = calls_.find(call_id);
      if (it == calls_.end()) return;
      call = std::move(it->second);
      calls_.erase(it);
    }
    net::post(io_, [this, call, r = std::string(reason)] { End(call, r); });
  }

  size_t active_calls() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    std::vector<std::shared_ptr<Call>> left;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, c] : calls_) left.push_back(c);
      calls_.clear();
    }
    for (auto& c : left) {
      net::post(io_, [this, c] { End(c, "shutdown"); });
    }
    // Ends queued above run before the I/O thread stops; then the sessions are finished.
    net::post(io_, [this] {
      timer_.cancel();
      work_.reset();
    });
    if (io_thread_.joinable()) io_thread_.join();
    finisher_.join();
    // Session events posted while the sessions finished: run them here (they find their calls
    // ended) so no handler holding a call outlives the I/O thread's sockets.
    io_.restart();
    io_.poll();
  }

 private:
  // Releases a call's ports if OnIncomingCall fails after binding them.
  class PortsGuard {
   public:
    PortsGuard(Impl* impl, Call* call) : impl_(impl), call_(call) {}
    ~PortsGuard() {
      if (call_ != nullptr) impl_->ClosePorts(*call_);
    }
    void Release() { call_ = nullptr; }

   private:
    Impl* impl_;
    Call* call_;
  };

  std::shared_ptr<Call> Find(const std::string& call_id) {
    std::lock_guard lock(mu_);
    auto it = calls_.find(call_id);
    return it == calls_.end() ? nullptr : it->second;
  }

  double NextRtcpDelay() {
    std::lock_guard lock(rng_mu_);
    return config_.rtcp_interval_s * std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
  }

  // Binds an even RTP port and the next one for RTCP, from a rotating cursor, so a port a call
  // just released is not reused at once (late packets of the old call would land in the new).
  Result<uint16_t> BindPorts(Call& call) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(config_.rtp_address, ec);
    if (ec) return InvalidArgumentError("bad rtp_address");
    std::lock_guard lock(port_mu_);
    const int first = config_.rtp_port_min + (config_.rtp_port_min & 1);
    const int pairs = (config_.rtp_port_max - first + 1) / 2;
    for (int attempt = 0; attempt < pairs; ++attempt) {
      const int port = next_port_;
      next_port_ += 2;
      if (next_port_ + 1 > config_.rtp_port_max) next_port_ = first;
      boost::system::error_code e1, e2;
      call.rtp.open(address.is_v6() ? udp::v6() : udp::v4(), e1);
      if (!e1) call.rtp.bind(udp::endpoint(address, static_cast<uint16_t>(port)), e1);
      if (!e1) call.rtcp.open(address.is_v6() ? udp::v6() : udp::v4(), e2);
      if (!e1 && !e2) call.rtcp.bind(udp::endpoint(address, static_cast<uint16_t>(port + 1)), e2);
      if (!e1 && !e2) {
        ports_in_use_.Increment();
        return static_cast<uint16_t>(port);
      }
      boost::system::error_code ignored;
      call.rtp.close(ignored);
      call.rtcp.close(ignored);
    }
    return UnavailableError(
        fmt::format("no free RTP port pair in {}..{}", config_.rtp_port_min, config_.rtp_port_max));
  }

  void ClosePorts(Call& call) {
    boost::system::error_code ignored;
    const bool was_open = call.rtp.is_open();
    call.rtp.close(ignored);
    call.rtcp.close(ignored);
    if (was_open) ports_in_use_.Increment(-1);
  }

  void FinishLater(std::shared_ptr<stream::VoiceSession> session, std::string reason) {
    net::post(finisher_, [session = std::move(session), reason = std::move(reason)] {
      session->Finish(reason);
    });
  }

  // ---- I/O thread ----

  void Open(const std::shared_ptr<Call>& call) {
    if (call->ended) return;
    call->open = true;
    active_.push_back(call);
    ReceiveRtp(call);
    ReceiveRtcp(call);
  }

  void End(const std::shared_ptr<Call>& call, const std::string& reason) {
    if (call->ended) return;
    call->ended = true;
    if (auto d = call->media->FlushDtmf()) ReportDigit(*call, *d);
    if (call->open) {
      SendRtcp(*call, /*bye=*/true);
      std::erase(active_, call);
      call->open = false;
    }
    ExportCounters(*call);
    ClosePorts(*call);
    spdlog::info("call {} ended ({}): {} frames, {} concealed, {} malformed, {} wrong-SSRC",
                 call->call_id, reason, call->media->counters().frames_played,
                 call->media->counters().frames_concealed, call->media->counters().malformed,
                 call->media->counters().wrong_ssrc);
    FinishLater(call->session, reason);
  }

  void ExportCounters(Call& call) {
    // Per-call counters go to the process metrics once, at the end (no shared atomics per packet).
    const auto& c = call.media->counters();
    rtp_ok_.Increment(static_cast<double>(c.rtp_packets));
    rtp_malformed_.Increment(static_cast<double>(c.malformed));
    rtp_wrong_ssrc_.Increment(static_cast<double>(c.wrong_ssrc));
    rtp_unknown_pt_.Increment(static_cast<double>(c.unknown_payload_type));
    rtp_sent_.Increment(static_cast<double>(c.rtp_sent));
    rtcp_in_.Increment(static_cast<double>(c.rtcp_packets));
  }

  void ReceiveRtp(const std::shared_ptr<Call>& call) {
    call->rtp.async_receive_from(
        net::buffer(call->rtp_in), call->rtp_from,
        [this, call](const boost::system::error_code& ec, size_t n) {
          if (ec == net::error::operation_aborted || call->ended) return;
          if (!ec) {
            const double now = stream::VoiceSession::NowS();
            const int64_t before = call->media->counters().rtp_packets;
            auto digits = call->media->OnRtp({call->rtp_in.data(), n}, now);
            if (config_.symmetric_rtp && !call->latched &&
                call->media->counters().rtp_packets > before) {
              // RFC 4961 symmetric RTP: answer where the media comes from (NAT, or a peer that
              // sends from another address than its SDP says).
              call->latched = true;
              if (call->rtp_from != call->rtp_peer) {
                call->rtp_peer = call->rtp_from;
                call->rtcp_peer = udp::endpoint(call->rtp_from.address(),
                                                static_cast<uint16_t>(call->rtp_from.port() + 1));
              }
            }
            for (const DtmfDigit& d : digits) ReportDigit(*call, d);
          }
          ReceiveRtp(call);
        });
  }

  void ReceiveRtcp(const std::shared_ptr<Call>& call) {
    call->rtcp.async_receive_from(
        net::buffer(call->rtcp_in), call->rtcp_from,
        [this, call](const boost::system::error_code& ec, size_t n) {
          if (ec == net::error::operation_aborted || call->ended) return;
          if (!ec) call->media->OnRtcp({call->rtcp_in.data(), n}, stream::VoiceSession::NowS());
          ReceiveRtcp(call);
        });
  }

  void ReportDigit(Call& call, const DtmfDigit& d) {
    call.session->Report("session.dtmf", {{"digit", std::string(1, d.digit)},
                                          {"duration_ms", d.duration_ms},
                                          {"time_s", call.session->ElapsedS()}});
  }

  void ScheduleTick() {
    timer_.expires_at(next_tick_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      const auto now = SteadyClock::now();
      int ticks = 1;
      next_tick_ += kTick;
      if (now >= next_tick_) {
        // Starved: run the owed ticks (playout must keep pace with arrival), at most 10 at once.
        tick_overruns_.Increment();
        while (now >= next_tick_ && ticks < 10) {
          next_tick_ += kTick;
          ++ticks;
        }
        if (now >= next_tick_) next_tick_ = now + kTick;
      }
      const double now_s = stream::VoiceSession::NowS();
      // Tick never ends a call itself (a hang-up comes back through the SIP agent later), so
      // active_ does not change under the loop.
      for (const auto& call : active_) Tick(*call, ticks, now_s);
      ScheduleTick();
    });
  }

  void Tick(Call& c, int ticks, double now_s) {
    c.rx_ms += ticks * kTickMs;
    const int ptime = c.media->ptime_ms();
    while (c.rx_ms >= ptime) {
      c.rx_ms -= ptime;
      if (c.media->Playout(&c.frame)) c.session->PushFrame(c.frame);
    }
    if (c.established && Sends(c.media->media().direction) && c.rtp_peer.port() != 0) {
      c.tx_ms += ticks * kTickMs;
      while (c.tx_ms >= kSendFrameMs) {
        c.tx_ms -= kSendFrameMs;
        SendFrame(c, now_s);
      }
    }
    if (now_s >= c.next_rtcp_s) {
      SendRtcp(c, /*bye=*/false);
      c.next_rtcp_s = now_s + NextRtcpDelay();
    }
    CheckTimeouts(c, now_s);
  }

  void SendFrame(Call& c, double now_s) {
    const size_t n = c.send_pcm.size();
    if (c.prompts.empty()) {
      if (c.hangup_after_prompts && c.hangup_at_s < 0) c.hangup_at_s = now_s + kHangupGraceS;
      // Nothing to say. G.711 sends silence (cheap, and keeps NAT bindings and peers that watch
      // for RTP happy); Opus uses silence suppression rather than encoding silence.
      if (c.media->media().audio.codec == Codec::kOpus) {
        c.media->SkipFrame();
        return;
      }
      std::fill(c.send_pcm.begin(), c.send_pcm.end(), 0.0f);
    } else {
      std::span<const float> p = c.prompts.front();
      const size_t take = std::min(n, p.size() - c.prompt_pos);
      std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(c.prompt_pos), take, c.send_pcm.begin());
      std::fill(c.send_pcm.begin() + static_cast<std::ptrdiff_t>(take), c.send_pcm.end(), 0.0f);
      c.prompt_pos += take;
      if (c.prompt_pos >= p.size()) {
        c.prompts.pop_front();
        c.prompt_pos = 0;
      }
    }
    auto size = c.media->WriteRtp(c.send_pcm, c.send_buf);
    if (!size.ok()) return;
    boost::system::error_code ec;
    c.rtp.send_to(net::buffer(c.send_buf.data(), *size), c.rtp_peer, 0, ec);
  }

  void SendRtcp(Call& c, bool bye) {
    if (c.rtcp_peer.port() == 0) return;
    const auto report = c.media->MakeRtcpReport(stream::VoiceSession::NowS(), bye);
    boost::system::error_code ec;
    c.rtcp.send_to(net::buffer(report), c.rtcp_peer, 0, ec);
    if (!ec) rtcp_out_.Increment();
  }

  void CheckTimeouts(Call& c, double now_s) {
    if (c.hangup_sent) return;
    if (c.hangup_at_s >= 0 && now_s >= c.hangup_at_s) {
      Hangup(c, "scenario finished");
      return;
    }
    if (!c.established) return;
    if (config_.media_timeout_s > 0) {
      const double last =
          std::isnan(c.media->last_rtp_s()) ? c.established_s : c.media->last_rtp_s();
      if (now_s - last > config_.media_timeout_s) {
        spdlog::info("call {}: no RTP for {:.0f} s, hanging up", c.call_id, now_s - last);
        Hangup(c, "media timeout");
        return;
      }
    }
    const bool prompted =
        c.scenario.kind == ScenarioKind::kVerify || c.scenario.kind == ScenarioKind::kEnroll;
    if (prompted && !c.result_given && now_s - c.established_s > config_.scenario_timeout_s) {
      spdlog::info("call {}: no result within {:.0f} s", c.call_id, config_.scenario_timeout_s);
      GiveResult(c, c.scenario.kind == ScenarioKind::kVerify ? Prompt::kInconclusive
                                                             : Prompt::kEnrollFailed);
    }
  }

  void Hangup(Call& c, const char* why) {
    c.hangup_sent = true;
    HangupFn hangup;
    {
      std::lock_guard lock(mu_);
      hangup = hangup_;
    }
    if (!hangup) return;
    Status s = hangup(c.call_id);
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      spdlog::warn("call {}: hang-up ({}) failed: {}", c.call_id, why, s.ToString());
    }
  }

  void Say(Call& c, Prompt p) {
    auto samples = prompts_->Get(p, SendRateHz(c.media->media().audio.codec));
    if (!samples.empty()) c.prompts.push_back(samples);
  }

  // Says the scenario's outcome and hangs up once it has been said.
  void GiveResult(Call& c, Prompt p) {
    if (c.result_given) return;
    c.result_given = true;
    // Cut a prompt still playing short: the caller is waiting for the answer.
    c.prompts.clear();
    c.prompt_pos = 0;
    Say(c, p);
    c.hangup_after_prompts = true;
  }

  // A session event (media worker thread): the outcome of verify/enroll calls.
  void OnSessionEvent(const std::weak_ptr<Call>& weak, const analytics::Event& e) {
    const bool decision = e.type == "session.decision";
    const bool enrolled = e.type == "session.enrolled";
    const bool error = e.type == "session.error";
    if (!decision && !enrolled && !error) return;
    auto call = weak.lock();
    if (!call) return;
    std::optional<Prompt> result;
    if (call->scenario.kind == ScenarioKind::kVerify && decision) {
      const std::string d = e.data.value("decision", "");
      result = d == "verified"   ? Prompt::kVerified
               : d == "rejected" ? Prompt::kRejected
                                 : Prompt::kInconclusive;
    } else if (call->scenario.kind == ScenarioKind::kEnroll && enrolled) {
      result = Prompt::kEnrolled;
    }
    if (error) {
      // Enrollment keeps listening after a refused attempt (fresh speech may pass the quality
      // gates); the scenario timeout ends a call that never succeeds.
      spdlog::info("call {}: {}", call->call_id, e.data.value("message", "session error"));
    }
    if (!result) return;
    net::post(io_, [this, call, p = *result] {
      if (!call->ended && call->established) GiveResult(*call, p);
    });
  }

  const CallManagerConfig config_;
  const stream::LiveServices services_;
  std::shared_ptr<const PromptLibrary> prompts_;

  net::io_context io_;
  net::steady_timer timer_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  SteadyClock::time_point next_tick_;
  std::thread io_thread_;
  net::thread_pool finisher_;
  std::vector<std::shared_ptr<Call>> active_;  // I/O thread only

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Call>> calls_;  // GUARDED_BY(mu_)
  HangupFn hangup_;                                               // GUARDED_BY(mu_)
  std::atomic<bool> stopped_{false};

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)
  std::mutex port_mu_;
  int next_port_;  // GUARDED_BY(port_mu_)

  metrics::Counter& rtp_ok_;
  metrics::Counter& rtp_malformed_;
  metrics::Counter& rtp_wrong_ssrc_;
  metrics::Counter& rtp_unknown_pt_;
  metrics::Counter& rtp_sent_;
  metrics::Counter& rtcp_in_;
  metrics::Counter& rtcp_out_;
  metrics::Family<metrics::Counter>& scenarios_;
  metrics::Gauge& ports_in_use_;
  metrics::Counter& tick_overruns_;
};

// ---------------------------------------------------------------------------------------------

CallManager::CallManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CallManager::~CallManager() { Stop(); }

Result<std::unique_ptr<CallManager>> CallManager::Create(const CallManagerConfig& config,
                                                         stream::LiveServices services,
                                                         metrics::Registry* registry) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  if (!services.workers) return InvalidArgumentError("calls need media workers");
  auto impl = std::make_unique<Impl>(
      config, std::move(services), registry != nullptr ? *registry : metrics::Registry::Default());
  VOXGATE_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<CallManager>(new CallManager(std::move(impl)));
}

void CallManager::SetHangup(HangupFn hangup) { impl_->SetHangup(std::move(hangup)); }
Result<MediaEndpoint> CallManager::OnIncomingCall(const IncomingCall& call) {
  return impl_->OnIncomingCall(call);
}
void CallManager::OnCallEstablished(const std::string& call_id) {
  impl_->OnCallEstablished(call_id);
}
void CallManager::OnCallEnded(const std::string& call_id, std::string_view reason) {
  impl_->OnCallEnded(call_id, reason);
}
size_t CallManager::active_calls() const { return impl_->active_calls(); }
void CallManager::Stop() { impl_->Stop(); }

}  // namespace voxgate::telephony
