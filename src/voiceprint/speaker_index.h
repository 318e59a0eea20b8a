// SpeakerIndex: the in-memory 1:N index of enrolled voiceprints: exact inner-product search over a
// contiguous matrix of L2-normalised vectors (cosine = dot product). Thread-safe: searches share a
// reader lock, updates take the writer lock.
#pragma once

#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace voxgate::voiceprint {

struct SpeakerMatch {
  std::string user_id;
  float score = 0.0f;
};

class SpeakerIndex {
 public:
  /// Adds or replaces the voiceprint of user_id. The first vector fixes the dimension; a vector
  /// of another size is kInvalidArgument. The vector is L2-normalised on the way in.
  Status Upsert(const std::string& user_id, std::vector<float> voiceprint);
  /// Returns whether the user was present.
  bool Remove(const std::string& user_id);
  void Clear();

  /// The k best matches, best first (fewer when fewer are enrolled).
  std::vector<SpeakerMatch> Search(std::span<const float> query, size_t k) const;
  /// Score of one user, or nullopt-like false when absent.
  bool ScoreOf(const std::string& user_id, std::span<const float> query, float* score) const;

  size_t size() const;
  size_t dim() const;

 private:
  mutable std::shared_mutex mu_;
  size_t dim_ = 0;                                // GUARDED_BY(mu_)
  std::vector<float> matrix_;                     // rows of dim_, GUARDED_BY(mu_)
  std::vector<std::string> ids_;                  // row -> user, GUARDED_BY(mu_)
  std::unordered_map<std::string, size_t> rows_;  // user -> row, GUARDED_BY(mu_)
};

}  // namespace voxgate::voiceprint
