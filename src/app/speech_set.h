// Labelled speech for the offline commands (eval, calibrate): listing files with their speakers,
// the 8 kHz G.711 telephone channel, and embedding many files in parallel.
#pragma once

#include <array>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audio/audio_clip.h"
#include "audio/g711.h"
#include "common/result.h"
#include "voiceprint/calibration.h"
#include "voiceprint/embedder.h"

namespace voxgate::app {

struct SpeechItem {
  std::string path;     // as found
  std::string key;      // path relative to the folder (or as listed)
  std::string speaker;  // parent folder name (or as listed)
  std::string set;      // the corpus it came from: the folder given, or the listed speaker's
                        // prefix up to '/' (impostor trials are drawn within a set)
};

/// Runs fn(0) .. fn(n - 1) on `jobs` threads (0: one per core).
void ParallelFor(size_t n, unsigned jobs, const std::function<void(size_t)>& fn);

/// Every audio file under `dir` (recursively), sorted; its speaker is its parent folder's name,
/// prefixed with `speaker_prefix`.
Result<std::vector<SpeechItem>> ListSpeakerFolder(const std::string& dir,
                                                  const std::string& speaker_prefix = "");
/// Lines "<path>\t<speaker>" ('#' comments, blank lines and a "path\tspeaker" header skipped;
/// training manifests have this form); relative paths are resolved
/// against `root` (empty: the list file's folder).
Result<std::vector<SpeechItem>> ReadSpeechList(const std::string& file, const std::string& root);

/// An 8 kHz G.711 telephone channel: band-limit to 8 kHz, compand, and back to the clip's rate.
Result<audio::AudioClip> TelephoneChannel(const audio::AudioClip& clip, audio::G711Law law);

/// Decodes `item` (to mono float at its own rate), through the telephone channel when given.
Result<audio::AudioClip> LoadClip(const SpeechItem& item,
                                  const std::optional<audio::G711Law>& telephone);

/// One embedded file.
struct EmbeddedSpeech {
  size_t item = 0;               // index into the items
  std::vector<float> embedding;  // empty when it failed
  double speech_s = 0.0;
  double duration_s = 0.0;  // of the whole recording
  dsp::SignalQuality quality;
  Status status;
};

struct EmbedSetOptions {
  std::optional<audio::G711Law> telephone;  // pass every file through the channel first
  unsigned jobs = 0;                        // 0: one per core
};

/// Embeds `items` in parallel through the serving path (decode, channel, VAD, model): one entry
/// per item, in order.
std::vector<EmbeddedSpeech> EmbedSet(const voiceprint::Embedder& embedder,
                                     const std::vector<SpeechItem>& items,
                                     const EmbedSetOptions& options);

/// Verdicts counted per security level, for the FAR / FRR reports of eval and calibrate --check.
class VerdictTally {
 public:
  void Add(voiceprint::SecurityLevel level, bool target, const voiceprint::Verdict& verdict);
  /// Per level: target_far, far (impostors accepted), frr (true speakers not accepted,
  /// inconclusive included), frr_decided (among decided trials), inconclusive_target,
  /// inconclusive_nontarget, target_trials, nontarget_trials.
  nlohmann::json Json() const;

 private:
  struct Counts {
    size_t accepted = 0, inconclusive = 0, total = 0;
  };
  std::array<std::array<Counts, 2>, 3> counts_{};  // [level][target]
};

}  // namespace voxgate::app
