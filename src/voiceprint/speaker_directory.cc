#include "voiceprint/speaker_directory.h"

#include <algorithm>

namespace voxgate::voiceprint {

ProbeEvidence SpeakerDirectory::Evidence(const Embedding& embedding) const {
  ProbeEvidence p;
  p.embedding = embedding.vector;
  p.speech_s = embedding.speech_s;
  p.quality = embedding.quality;
  p.cohort = calibration().StatsOf(embedding.vector);
  return p;
}

Result<Verdict> SpeakerDirectory::JudgeUser(std::string_view user_id, const ProbeEvidence& probe,
                                            SecurityLevel level,
                                            std::optional<double> cosine_threshold) const {
  VOXGATE_ASSIGN_OR_RETURN(float score, ScoreUser(user_id, probe.embedding));
  return calibration().Judge(score, Enrolled(user_id), probe, level,
                             cosine_threshold ? cosine_threshold : FixedThreshold());
}

std::vector<JudgedMatch> SpeakerDirectory::SearchJudged(
    const ProbeEvidence& probe, size_t k, SecurityLevel level,
    std::optional<double> cosine_threshold) const {
  if (!cosine_threshold) cosine_threshold = FixedThreshold();
  // Candidates by raw cosine, a few more than asked, re-ranked by the normalised score: AS-Norm
  // can reorder near-tied candidates.
  const size_t candidates = calibration().cohort().empty() ? k : std::max(k * 2, k + 8);
  std::vector<JudgedMatch> out;
  for (const SpeakerMatch& m : Search(probe.embedding, candidates)) {
    out.push_back({m.user_id, calibration().Judge(m.score, Enrolled(m.user_id), probe, level,
                                                  cosine_threshold)});
  }
  std::stable_sort(out.begin(), out.end(), [](const JudgedMatch& a, const JudgedMatch& b) {
    return a.verdict.normalized > b.verdict.normalized;
  });
  if (out.size() > k) out.resize(k);
  return out;
}

}  // namespace voxgate::voiceprint
