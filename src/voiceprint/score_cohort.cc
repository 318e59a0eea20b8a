#include "voiceprint/score_cohort.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {

namespace {

CohortStats TopNStats(std::span<float> scores, int top_n) {
  top_n = std::min<int>(top_n, static_cast<int>(scores.size()));
  std::nth_element(scores.begin(), scores.begin() + (top_n - 1), scores.end(),
                   std::greater<float>());
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < top_n; ++i) {
    sum += scores[i];
    sum2 += static_cast<double>(scores[i]) * scores[i];
  }
  CohortStats s;
  s.mean = sum / top_n;
  s.std = std::max(kMinCohortStd, std::sqrt(std::max(0.0, sum2 / top_n - s.mean * s.mean)));
  return s;
}

}  // namespace

Result<ScoreCohort> ScoreCohort::Create(std::vector<float> embeddings, int dim, int top_n,
                                        int wideband_rows) {
  if (dim <= 0 || embeddings.empty() || embeddings.size() % static_cast<size_t>(dim) != 0) {
    return InvalidArgumentError(
        fmt::format("cohort: {} values do not make rows of {}", embeddings.size(), dim));
  }
  if (top_n < 1) return InvalidArgumentError("cohort: top_n must be >= 1");
  for (float x : embeddings) {
    if (!std::isfinite(x)) return InvalidArgumentError("cohort: non-finite value");
  }
  ScoreCohort c;
  c.dim_ = dim;
  c.count_ = static_cast<int>(embeddings.size() / static_cast<size_t>(dim));
  c.top_n_ = std::min(top_n, c.count_);
  if (wideband_rows < 0 || wideband_rows > c.count_) {
    return InvalidArgumentError(
        fmt::format("cohort: {} wideband rows of {}", wideband_rows, c.count_));
  }
  // A part smaller than top_n uses all of its rows.
  if (wideband_rows < c.count_) c.wideband_rows_ = wideband_rows;
  c.embeddings_ = std::move(embeddings);
  for (int i = 0; i < c.count_; ++i) {
    L2Normalize(std::span<float>(c.embeddings_).subspan(static_cast<size_t>(i) * dim, dim));
  }
  return c;
}

Result<ScoreCohort> ScoreCohort::Load(const std::string& path, int count, int dim, int top_n,
                                      int wideband_rows) {
  if (count <= 0 || dim <= 0) return InvalidArgumentError("cohort: count and dim must be > 0");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open cohort file " + path);
  std::vector<float> values(static_cast<size_t>(count) * dim);
  in.read(reinterpret_cast<char*>(values.data()),
          static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (in.gcount() != static_cast<std::streamsize>(values.size() * sizeof(float)) ||
      in.peek() != std::char_traits<char>::eof()) {
    return DataLossError(
        fmt::format("cohort file {} does not hold exactly {} x {} float32", path, count, dim));
  }
  return Create(std::move(values), dim, top_n, wideband_rows);
}

Status ScoreCohort::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(embeddings_.data()),
            static_cast<std::streamsize>(embeddings_.size() * sizeof(float)));
  out.close();
  if (!out) return UnavailableError("cannot write cohort file " + path);
  return Status::Ok();
}

CohortStatsByChannel ScoreCohort::StatsByChannel(std::span<const float> embedding) const {
  if (count_ == 0 || embedding.size() != static_cast<size_t>(dim_)) return {};
  std::vector<float> scores(static_cast<size_t>(count_));
  for (int i = 0; i < count_; ++i) {
    const float* row = embeddings_.data() + static_cast<size_t>(i) * dim_;
    float dot = 0.0f;
    for (int d = 0; d < dim_; ++d) dot += row[d] * embedding[d];
    scores[i] = dot;
  }
  if (wideband_rows_ == 0) {
    const CohortStats all = TopNStats(scores, top_n_);
    return {all, all};
  }
  const std::span<float> s(scores);
  return {TopNStats(s.first(static_cast<size_t>(wideband_rows_)), top_n_),
          TopNStats(s.subspan(static_cast<size_t>(wideband_rows_)), top_n_)};
}

double ScoreCohort::Normalize(double score, const CohortStats& e, const CohortStats& p) {
  return 0.5 * ((score - e.mean) / e.std + (score - p.mean) / p.std);
}

double ScoreCohort::Denormalize(double normalized, const CohortStats& e, const CohortStats& p) {
  // normalized = score * (1/se + 1/sp) / 2 - (me/se + mp/sp) / 2
  const double slope = 0.5 * (1.0 / e.std + 1.0 / p.std);
  const double offset = 0.5 * (e.mean / e.std + p.mean / p.std);
  return (normalized + offset) / slope;
}

}  // namespace voxgate::voiceprint
