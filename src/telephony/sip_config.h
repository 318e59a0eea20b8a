// SipConfig: the SIP user agent's settings (section `sip:` of the config file). Plain data;
// thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/status.h"
#include "telephony/call_handler.h"

namespace voxgate::telephony {

/// Outbound registration to a SIP trunk (section `sip.registration:`). Off while registrar is
/// empty. The password comes from the environment variable named by password_env or from the
/// file password_file, never from the config file itself.
struct SipRegistrationConfig {
  std::string registrar;      // registrar URI, "sip:trunk.example.com"; empty: do not register
  std::string username;       // user part of our address of record and the digest user name
  std::string realm;          // digest realm to answer; empty: whatever realm the trunk asks
  std::string password_env;   // name of the environment variable holding the password
  std::string password_file;  // or a file holding it (one line; trailing newline ignored)
  int expires_s = 3600;       // registration lifetime asked for, seconds (sofia re-registers)
  std::string password;       // the secret itself, filled by Load(); printed as ***

  bool enabled() const { return !registrar.empty(); }
  Status Validate() const;
  std::string ToString() const;
  /// Reads the keys above and resolves password from password_env / password_file.
  Status Load(const ConfigNode& node);
};

struct SipConfig {
  bool enabled = false;                    // start the SIP agent with `voxgate serve`
  std::string bind_address = "127.0.0.1";  // IP to listen on; "0.0.0.0" for every interface
  int port = 5060;                         // UDP and TCP port; 0 picks a free one (tests)
  bool udp = true;                         // listen on UDP
  bool tcp = true;                         // listen on TCP
  std::string public_address;              // IP for Contact and SDP c=; empty: see PublicAddress()
  std::vector<Codec> codecs = {Codec::kPcmu, Codec::kPcma, Codec::kOpus};  // our preference
  // Opus payload type in SDP offers Voxgate makes (outbound calls, still to come). Answers always
  // keep the caller's payload type (RFC 3264), so today this is validated and carried only.
  int opus_payload_type = 111;
  int ptime_ms = 20;             // packetisation we ask for when the offer names none, ms
  int session_expires_s = 1800;  // RFC 4028 session interval offered; 0 turns session timers off
  int min_se_s = 90;             // smallest session interval we accept, seconds (>= 90)
  std::string user_agent = "Voxgate/" VOXGATE_VERSION;  // User-Agent / Server header
  int max_calls = 100;      // concurrent calls; INVITEs beyond get 503 with Retry-After
  int answer_delay_ms = 0;  // > 0: send 180 Ringing and answer this much later, ms
  SipRegistrationConfig registration;

  Status Validate() const;
  std::string ToString() const;
  /// Reads the keys above; codecs as a list of names ("PCMU", "PCMA", "opus").
  Status Load(const ConfigNode& node);

  /// The address we advertise: public_address when set, else bind_address unless it is
  /// 0.0.0.0, else the first non-loopback IPv4 address of this host, else 127.0.0.1.
  std::string PublicAddress() const;
};

/// Codec from its SDP name, case-insensitive ("PCMU", "pcma", "OPUS"). kInvalidArgument otherwise.
Result<Codec> ParseCodecName(std::string_view name);

}  // namespace voxgate::telephony
