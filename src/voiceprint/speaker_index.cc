#include "voiceprint/speaker_index.h"

#include <algorithm>
#include <mutex>

#include "voiceprint/scoring.h"

namespace voxgate::voiceprint {

Status SpeakerIndex::Upsert(const std::string& user_id, std::vector<float> voiceprint) {
  if (voiceprint.empty()) return InvalidArgumentError("empty voiceprint");
  L2Normalize(voiceprint);
  std::unique_lock lock(mu_);
  if (dim_ == 0 || ids_.empty()) dim_ = voiceprint.size();
  if (voiceprint.size() != dim_) {
    return InvalidArgumentError("voiceprint of size " + std::to_string(voiceprint.size()) +
                                " in an index of size " + std::to_string(dim_));
  }
  auto it = rows_.find(user_id);
  size_t row;
  if (it != rows_.end()) {
    row = it->second;
  } else {
    row = ids_.size();
    ids_.push_back(user_id);
    rows_.emplace(user_id, row);
    matrix_.resize(matrix_.size() + dim_);
  }
  std::copy(voiceprint.begin(), voiceprint.end(), matrix_.begin() + row * dim_);
  return Status::Ok();
}

bool SpeakerIndex::Remove(const std::string& user_id) {
  std::unique_lock lock(mu_);
  auto it = rows_.find(user_id);
  if (it == rows_.end()) return false;
  // Move the last row into the hole so the matrix stays contiguous.
  const size_t row = it->second, last = ids_.size() - 1;
  if (row != last) {
    std::copy(matrix_.begin() + last * dim_, matrix_.begin() + (last + 1) * dim_,
              matrix_.begin() + row * dim_);
    ids_[row] = std::move(ids_[last]);
    rows_[ids_[row]] = row;
  }
  rows_.erase(user_id);
  ids_.pop_back();
  matrix_.resize(ids_.size() * dim_);
  return true;
}

void SpeakerIndex::Clear() {
  std::unique_lock lock(mu_);
  matrix_.clear();
  ids_.clear();
  rows_.clear();
  dim_ = 0;
}

std::vector<SpeakerMatch> SpeakerIndex::Search(std::span<const float> query, size_t k) const {
  std::vector<float> q(query.begin(), query.end());
  L2Normalize(q);
  std::shared_lock lock(mu_);
  std::vector<SpeakerMatch> out;
  if (q.size() != dim_ || ids_.empty() || k == 0) return out;
  std::vector<std::pair<float, size_t>> scored(ids_.size());
  for (size_t r = 0; r < ids_.size(); ++r) {
    const float* row = matrix_.data() + r * dim_;
    float dot = 0.0f;
    for (size_t d = 0; d < dim_; ++d) dot += row[d] * q[d];
    scored[r] = {dot, r};
  }
  k = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < k; ++i) out.push_back({ids_[scored[i].second], scored[i].first});
  return out;
}

bool SpeakerIndex::ScoreOf(const std::string& user_id, std::span<const float> query,
                           float* score) const {
  std::shared_lock lock(mu_);
  auto it = rows_.find(user_id);
  if (it == rows_.end() || query.size() != dim_) return false;
  *score = Score({matrix_.data() + it->second * dim_, dim_}, query);
  return true;
}

size_t SpeakerIndex::size() const {
  std::shared_lock lock(mu_);
  return ids_.size();
}

size_t SpeakerIndex::dim() const {
  std::shared_lock lock(mu_);
  return dim_;
}

}  // namespace voxgate::voiceprint
