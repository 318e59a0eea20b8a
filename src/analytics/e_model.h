// The ITU-T G.107 E-model, reduced to what a voice gateway measures: codec, packet loss (with its
// burstiness) and one-way mouth-to-ear delay. Everything else takes the G.107 default values, which
// give R = 93.2 for G.711 with no loss and no delay. Talker echo is assumed cancelled (the Idte and
// Idle terms are taken as 0), so delay impairs only through Idd, the pure-delay term.
//
// R -> MOS is the G.107 Annex B mapping. Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace voxgate::analytics {

struct EModelInput {
  std::string codec = "PCMU";     // RTP/SDP encoding name, case-insensitive (PCMU, PCMA, opus, ...)
  double packet_loss_pct = 0.0;   // Ppl: packets lost, percent (0..100)
  double burst_ratio = 1.0;       // BurstR: 1 for random loss, > 1 for bursty loss
  double one_way_delay_ms = 0.0;  // Ta: mouth-to-ear delay, milliseconds
  bool plc = true;                // the receiver conceals lost frames
};

/// Equipment impairment of a codec and its packet-loss robustness (G.113 Appendix I).
struct CodecImpairment {
  double ie = 0.0;     // Ie: impairment without loss
  double bpl = 0.0;    // Bpl: robustness to random loss
  bool known = false;  // false: codec not in the table, G.711 values used
};

/// G.113 values for `codec`. Without concealment (`plc` false) a lost frame is silence whatever
/// the codec, and Bpl is G.113's figure for that case (4.3, measured on G.711). Unknown codecs get
/// G.711's values with known = false.
CodecImpairment CodecImpairmentFor(std::string_view codec, bool plc);

/// Ie-eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl) (G.107 eq. 7-29); loss is clamped to
/// [0, 100] and BurstR to >= 1e-3.
double EffectiveEquipmentImpairment(double ie, double bpl, double packet_loss_pct,
                                    double burst_ratio);

/// Idd (G.107 eq. 7-27 with the default mT = 100 ms, sT = 1): 0 up to 100 ms, then growing with
/// the logarithm of the delay.
double DelayImpairment(double one_way_delay_ms);

/// R = 93.2 - Idd - Ie-eff, clamped to [0, 100]. NaN inputs count as 0 (no loss, no delay).
double RFactor(const EModelInput& input);

/// MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6, clamped to [1, 4.5] (G.107 Annex B).
double MosFromR(double r);

}  // namespace voxgate::analytics
