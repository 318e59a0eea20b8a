#include "analytics/e_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace voxgate::analytics {
namespace {

EModelInput Input(std::string codec, double loss_pct, double delay_ms, bool plc = true,
                  double burst_ratio = 1.0) {
  EModelInput in;
  in.codec = std::move(codec);
  in.packet_loss_pct = loss_pct;
  in.one_way_delay_ms = delay_ms;
  in.plc = plc;
  in.burst_ratio = burst_ratio;
  return in;
}

TEST(EModelTest, G711WithoutImpairmentsIsTheDefaultRating) {
  const double r = RFactor(Input("PCMU", 0.0, 0.0));
  EXPECT_NEAR(r, 93.2, 1e-9);
  EXPECT_NEAR(MosFromR(r), 4.41, 0.005);
  EXPECT_NEAR(RFactor(Input("PCMA", 0.0, 0.0)), 93.2, 1e-9);
}

TEST(EModelTest, CodecTableFollowsG113) {
  EXPECT_EQ(CodecImpairmentFor("PCMU", true).ie, 0.0);
  EXPECT_EQ(CodecImpairmentFor("pcma", true).bpl, 25.1);
  EXPECT_EQ(CodecImpairmentFor("PCMU", false).bpl, 4.3);
  EXPECT_EQ(CodecImpairmentFor("G729", true).ie, 11.0);
  EXPECT_EQ(CodecImpairmentFor("G729", true).bpl, 19.0);
  EXPECT_EQ(CodecImpairmentFor("G723", true).ie, 15.0);
  EXPECT_TRUE(CodecImpairmentFor("OPUS", true).known);
  EXPECT_EQ(CodecImpairmentFor("opus", true).ie, 0.0);
  CodecImpairment unknown = CodecImpairmentFor("speex", true);
  EXPECT_FALSE(unknown.known);
  EXPECT_EQ(unknown.ie, 0.0);
  EXPECT_EQ(unknown.bpl, 25.1);
  EXPECT_NEAR(RFactor(Input("G729", 0.0, 0.0)), 93.2 - 11.0, 1e-9);
}

TEST(EModelTest, EffectiveEquipmentImpairmentFormula) {
  // G.711 with PLC at 1 % random loss: 95 * 1 / (1 + 25.1).
  EXPECT_NEAR(EffectiveEquipmentImpairment(0.0, 25.1, 1.0, 1.0), 95.0 / 26.1, 1e-9);
  EXPECT_NEAR(RFactor(Input("PCMU", 1.0, 0.0)), 93.2 - 95.0 / 26.1, 1e-9);
  EXPECT_NEAR(MosFromR(RFactor(Input("PCMU", 1.0, 0.0))), 4.328, 0.001);
  // Burstiness: Ppl / BurstR in the denominator.
  EXPECT_NEAR(EffectiveEquipmentImpairment(0.0, 25.1, 2.0, 2.0), 95.0 * 2.0 / (1.0 + 25.1), 1e-9);
  // G.729: Ie + (95 - Ie) * Ppl / (Ppl + Bpl).
  EXPECT_NEAR(EffectiveEquipmentImpairment(11.0, 19.0, 5.0, 1.0), 11.0 + 84.0 * 5.0 / 24.0, 1e-9);
  EXPECT_EQ(EffectiveEquipmentImpairment(11.0, 19.0, 0.0, 1.0), 11.0);
}

TEST(EModelTest, DelayImpairmentStartsAfter100Ms) {
  EXPECT_EQ(DelayImpairment(0.0), 0.0);
  EXPECT_EQ(DelayImpairment(100.0), 0.0);
  EXPECT_NEAR(DelayImpairment(150.0), 0.1635, 1e-3);
  EXPECT_NEAR(DelayImpairment(200.0), 3.0444, 1e-3);
  EXPECT_NEAR(DelayImpairment(400.0), 24.0701, 1e-3);
  EXPECT_NEAR(RFactor(Input("PCMU", 0.0, 200.0)), 93.2 - 3.0444, 1e-3);
}

TEST(EModelTest, MosFallsMonotonicallyWithLoss) {
  double previous = MosFromR(RFactor(Input("PCMU", 0.0, 20.0)));
  for (double loss = 0.5; loss <= 40.0; loss += 0.5) {
    const double mos = MosFromR(RFactor(Input("PCMU", loss, 20.0)));
    EXPECT_LT(mos, previous) << loss;
    previous = mos;
  }
}

TEST(EModelTest, MosFallsMonotonicallyWithDelayBeyond100Ms) {
  EXPECT_EQ(RFactor(Input("PCMU", 1.0, 50.0)), RFactor(Input("PCMU", 1.0, 100.0)));
  double previous = MosFromR(RFactor(Input("PCMU", 1.0, 100.0)));
  for (double delay = 110.0; delay <= 800.0; delay += 10.0) {
    const double mos = MosFromR(RFactor(Input("PCMU", 1.0, delay)));
    EXPECT_LT(mos, previous) << delay;
    previous = mos;
  }
}

TEST(EModelTest, ConcealmentAndRandomLossRateHigher) {
  EXPECT_GT(RFactor(Input("PCMU", 3.0, 0.0, /*plc=*/true)),
            RFactor(Input("PCMU", 3.0, 0.0, /*plc=*/false)));
  EXPECT_GT(RFactor(Input("PCMU", 3.0, 0.0, true, /*burst_ratio=*/1.0)),
            RFactor(Input("PCMU", 3.0, 0.0, true, /*burst_ratio=*/3.0)));
}

TEST(EModelTest, RClampsToZeroAndMosToOne) {
  // 100 % loss and 2 s of delay: 93.2 - 75.9 - 50.8 < 0.
  const double r = RFactor(Input("PCMU", 100.0, 2000.0));
  EXPECT_EQ(r, 0.0);
  EXPECT_EQ(MosFromR(r), 1.0);
  // Out-of-range inputs are clamped, NaN counts as none.
  EXPECT_EQ(RFactor(Input("PCMU", 250.0, 0.0)), RFactor(Input("PCMU", 100.0, 0.0)));
  EXPECT_EQ(RFactor(Input("PCMU", -5.0, -10.0)), RFactor(Input("PCMU", 0.0, 0.0)));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(RFactor(Input("PCMU", nan, nan)), RFactor(Input("PCMU", 0.0, 0.0)));
  EXPECT_EQ(RFactor(Input("PCMU", 0.0, std::numeric_limits<double>::infinity())), 0.0);
}

TEST(EModelTest, MosMappingClampsAndMatchesG107) {
  EXPECT_EQ(MosFromR(-20.0), 1.0);
  EXPECT_EQ(MosFromR(0.0), 1.0);
  EXPECT_EQ(MosFromR(5.0), 1.0);  // the cubic dips just below 1 here
  EXPECT_EQ(MosFromR(100.0), 4.5);
  EXPECT_EQ(MosFromR(130.0), 4.5);
  EXPECT_EQ(MosFromR(std::numeric_limits<double>::quiet_NaN()), 1.0);
  EXPECT_NEAR(MosFromR(50.0), 1.0 + 1.75 + 50.0 * -10.0 * 50.0 * 7e-6, 1e-12);  // 2.575
  EXPECT_NEAR(MosFromR(80.0), 4.024, 1e-9);
  double previous = 1.0;
  for (double r = 7.0; r <= 100.0; r += 1.0) {
    EXPECT_GT(MosFromR(r), previous) << r;
    previous = MosFromR(r);
  }
}

}  // namespace
}  // namespace voxgate::analytics
