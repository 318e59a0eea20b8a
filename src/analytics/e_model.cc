#include "analytics/e_model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

namespace voxgate::analytics {
namespace {

// R for G.711 with all G.107 defaults (Ro - Is with the default loudness, noise and sidetone).
constexpr double kDefaultR = 93.2;
// G.113 Appendix I Bpl of G.711 without concealment (random loss): a lost frame is silence.
constexpr double kBplNoPlc = 4.3;

struct Entry {
  std::string_view name;
  double ie;
  double bpl_plc;
};

// G.113 Appendix I, Tables I.1 and I.3. Opus is not in G.113: its decoder always conceals with a
// model-based PLC that does at least as well as G.711 Appendix I, so it takes G.711's PLC value
// 25.1 -- conservative, since in-band FEC (when negotiated) recovers more. Its Ie is 0 on this
// narrowband scale: at VoIP bit rates Opus is transparent against G.711's 3.4 kHz band.
constexpr std::array<Entry, 10> kCodecs = {{
    {"pcmu", 0.0, 25.1},
    {"pcma", 0.0, 25.1},
    {"g711", 0.0, 25.1},
    {"l16", 0.0, 25.1},  // linear PCM: no coding impairment; concealment as G.711's
    {"opus", 0.0, 25.1},
    {"g729", 11.0, 19.0},  // G.729A + VAD
    {"g729a", 11.0, 19.0},
    {"g723", 15.0, 16.1},  // G.723.1 + VAD, 6.3 kbit/s
    {"g7231", 15.0, 16.1},
    {"gsm-efr", 5.0, 10.0},
}};

bool EqualsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != lower[i]) return false;
  }
  return true;
}

double OrZero(double v) { return std::isnan(v) ? 0.0 : v; }

}  // namespace

CodecImpairment CodecImpairmentFor(std::string_view codec, bool plc) {
  CodecImpairment out{.ie = 0.0, .bpl = plc ? 25.1 : kBplNoPlc, .known = false};
  for (const Entry& e : kCodecs) {
    if (EqualsLower(codec, e.name)) {
      out.ie = e.ie;
      out.bpl = plc ? e.bpl_plc : kBplNoPlc;
      out.known = true;
      break;
    }
  }
  return out;
}

double EffectiveEquipmentImpairment(double ie, double bpl, double packet_loss_pct,
                                    double burst_ratio) {
  const double ppl = std::clamp(OrZero(packet_loss_pct), 0.0, 100.0);
  const double burst = std::max(std::isnan(burst_ratio) ? 1.0 : burst_ratio, 1e-3);
  return ie + (95.0 - ie) * ppl / (ppl / burst + bpl);
}

double DelayImpairment(double one_way_delay_ms) {
  const double ta = OrZero(one_way_delay_ms);
  if (ta <= 100.0) return 0.0;
  if (std::isinf(ta)) return 100.0;  // beyond any usable R
  const double x = std::log2(ta / 100.0);
  return 25.0 * (std::pow(1.0 + std::pow(x, 6.0), 1.0 / 6.0) -
                 3.0 * std::pow(1.0 + std::pow(x / 3.0, 6.0), 1.0 / 6.0) + 2.0);
}

double RFactor(const EModelInput& input) {
  const CodecImpairment codec = CodecImpairmentFor(input.codec, input.plc);
  const double ie_eff =
      EffectiveEquipmentImpairment(codec.ie, codec.bpl, input.packet_loss_pct, input.burst_ratio);
  const double r = kDefaultR - DelayImpairment(input.one_way_delay_ms) - ie_eff;
  return std::clamp(r, 0.0, 100.0);
}

double MosFromR(double r) {
  if (std::isnan(r) || r <= 0.0) return 1.0;
  if (r >= 100.0) return 4.5;
  const double mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
  // Just above R = 0 the cubic dips below 1.
  return std::clamp(mos, 1.0, 4.5);
}

}  // namespace voxgate::analytics
