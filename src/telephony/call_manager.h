// CallManager: the media side of Voxgate's phone calls. The SIP agent tells it about each call
// (it is the agent's CallHandler); it binds the call's RTP and RTCP ports, turns received RTP into
// frames (jitter buffer, decode, concealment: CallMedia) that feed a live VoiceSession (pipeline,
// streaming verification/identification, QoS, events), plays the scenario's prompts back as RTP,
// sends RTCP reports, and hangs up when the scenario is over.
//
// Scenarios (call_scenario.h), by Request-URI user:
//   identify@  listens for the whole call; decisions per speaker turn go to the event bus.
//   verify-<user_id>@  is refused with 404 unless the user is enrolled; plays the verify prompt,
//              listens, and on the first decision says verified / rejected, then hangs up. No
//              decision within scenario_timeout_s of the answer: "inconclusive" and hang up.
//   enroll-<user_id>@  plays the enroll prompt, collects speech, enrolls, says the outcome and
//              hangs up.
//   record@    records the cleaned audio to recordings_dir (WAV); no scoring.
// Key presses (RFC 4733) become session.dtmf events. A call whose RTP stops for
// media_timeout_s is hung up ("media timeout").
//
// Threads: one I/O thread runs every call's sockets and a 10 ms tick (playout per ptime, 20 ms
// send ticks, RTCP); frames cross to the media workers through each session's SPSC ring.
// VoiceSession::Finish (which waits for the last embedding) runs on a small finisher pool, never
// on the SIP or I/O thread. CallHandler methods are called by the SIP agent's thread and return
// at once. Thread-safe.
//
// Metrics: voxgate_rtp_packets_total{result=ok|malformed|wrong_ssrc|unknown_payload_type},
// voxgate_rtp_sent_packets_total, voxgate_rtcp_packets_total{direction=in|out},
// voxgate_call_scenarios_total{scenario}, voxgate_call_media_ports_in_use,
// voxgate_call_tick_overruns_total (I/O ticks that ran late by a whole tick or more).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/config_node.h"
#include "common/result.h"
#include "metrics/registry.h"
#include "stream/voice_session.h"
#include "telephony/call_handler.h"
#include "telephony/call_media.h"
#include "telephony/prompt_library.h"

namespace voxgate::telephony {

struct CallManagerConfig {
  std::string rtp_address = "127.0.0.1";  // IP the RTP/RTCP sockets bind; "0.0.0.0": every one
  int rtp_port_min = 20000;               // even RTP ports from this range (RTCP on port + 1)
  int rtp_port_max = 29999;
  CallMediaConfig media;             // jitter buffer, Opus bitrate, SSRC switching
  double rtcp_interval_s = 5.0;      // mean RTCP report interval (randomised 0.5x..1.5x)
  double media_timeout_s = 30.0;     // hang up when no RTP arrives this long; 0: never
  double scenario_timeout_s = 60.0;  // verify/enroll: give up this long after the answer
  double threshold = -2.0;           // verify/identify decisions; < -1: the model's threshold
  bool symmetric_rtp = true;         // send RTP back to where the caller's RTP comes from
  audio::SynthConfig voice;          // espeak-ng voice of the prompts
  PromptTexts prompts;
  int finisher_threads = 2;  // threads that close sessions (each waits for a last embedding)

  Status Validate() const;
  std::string ToString() const;
  /// Section `calls:` of the config file: keys as the fields; media.*, voice.* and prompts.*.
  Status Load(const ConfigNode& node);
};

class CallManager : public CallHandler {
 public:
  /// Ends a call from the media side (the SIP agent's Hangup). Set before calls arrive.
  using HangupFn = std::function<Status(const std::string& call_id)>;

  /// Synthesises the prompts and starts the I/O thread. `services` are the live sessions' shared
  /// parts (as for WebSocket streams). `registry` may be null (metrics::Registry::Default()).
  static Result<std::unique_ptr<CallManager>> Create(const CallManagerConfig& config,
                                                     stream::LiveServices services,
                                                     metrics::Registry* registry);
  /// Stop().
  ~CallManager() override;
  CallManager(const CallManager&) = delete;
  CallManager& operator=(const CallManager&) = delete;

  void SetHangup(HangupFn hangup);

  // CallHandler (the SIP agent's thread).
  Result<MediaEndpoint> OnIncomingCall(const IncomingCall& call) override;
  void OnCallEstablished(const std::string& call_id) override;
  void OnCallEnded(const std::string& call_id, std::string_view reason) override;

  /// Calls whose media is open (accepted and not yet ended).
  size_t active_calls() const;
  /// Ends the media of every call still open (reason "shutdown"), finishes their sessions and
  /// stops the threads. Stop the SIP agent first so no new call arrives. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit CallManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::telephony
