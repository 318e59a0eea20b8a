// PromptLibrary: the spoken prompts of the call scenarios, synthesised once with espeak-ng at
// start-up for every rate the calls send at (8 kHz for G.711, 16 kHz for Opus), so a call only
// copies samples out of memory while it plays them. The prompts that ask the caller to speak end
// with a short 1 kHz tone ("after the tone").
//
// Thread-safe after Create() (read-only).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "audio/speech_synth.h"
#include "common/config_node.h"
#include "common/result.h"

namespace voxgate::telephony {

enum class Prompt {
  kVerifyIntro,   // asks the caller to speak for verification, then the tone
  kVerified,      // the caller is who they claimed
  kRejected,      // the caller is not
  kInconclusive,  // not enough speech to decide
  kEnrollIntro,   // asks the caller to speak for enrollment, then the tone
  kEnrolled,      // the voiceprint was stored
  kEnrollFailed,  // enrollment failed (too little or unusable speech)
};
inline constexpr int kPromptCount = 7;

/// The words of each prompt (section `calls.prompts`). Plain text, spoken by espeak-ng.
struct PromptTexts {
  std::string verify_intro =
      "Welcome. Please say a few sentences after the tone, so that we can check your voice.";
  std::string verified = "Thank you. Your voice is verified. Goodbye.";
  std::string rejected = "Sorry, we could not verify your voice. Goodbye.";
  std::string inconclusive = "Sorry, we did not hear enough speech to check your voice. Goodbye.";
  std::string enroll_intro =
      "Welcome. Please talk for about fifteen seconds after the tone, so that we can learn your "
      "voice.";
  std::string enrolled = "Thank you. Your voice is now enrolled. Goodbye.";
  std::string enroll_failed = "Sorry, we could not enroll your voice. Goodbye.";

  /// Every text non-blank and at most 1000 bytes.
  Status Validate() const;
  std::string ToString() const;
  Status Load(const ConfigNode& node);
  const std::string& Text(Prompt prompt) const;
};

class PromptLibrary {
 public:
  /// Synthesises every prompt at every rate in `rates_hz` (8000..48000). Errors from espeak-ng
  /// (missing voice or data) are returned as they are.
  static Result<std::shared_ptr<const PromptLibrary>> Create(const PromptTexts& texts,
                                                             const audio::SynthConfig& voice,
                                                             const std::vector<int>& rates_hz);

  /// The prompt's samples at `rate_hz`; empty when that rate was not rendered.
  std::span<const float> Get(Prompt prompt, int rate_hz) const;

 private:
  PromptLibrary() = default;
  std::map<int, std::array<std::vector<float>, kPromptCount>> audio_;  // rate -> prompts
};

}  // namespace voxgate::telephony
