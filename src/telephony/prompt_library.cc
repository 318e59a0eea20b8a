#include "telephony/prompt_library.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <sstream>

namespace voxgate::telephony {
namespace {

constexpr size_t kMaxPromptBytes = 1000;
constexpr double kToneHz = 1000.0;
constexpr double kToneS = 0.4;
constexpr double kToneGapS = 0.3;    // silence between the words and the tone
constexpr float kToneLevel = 0.25f;  // about -12 dBFS: clearly audible, never clipping

bool IsBlank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

bool EndsWithTone(Prompt p) { return p == Prompt::kVerifyIntro || p == Prompt::kEnrollIntro; }

void AppendTone(std::vector<float>& out, int rate_hz) {
  out.resize(out.size() + static_cast<size_t>(kToneGapS * rate_hz), 0.0f);
  const int n = static_cast<int>(kToneS * rate_hz);
  const int ramp = rate_hz / 200;  // 5 ms fades: no clicks
  for (int i = 0; i < n; ++i) {
    float gain = kToneLevel;
    if (i < ramp) gain *= static_cast<float>(i) / ramp;
    if (n - i < ramp) gain *= static_cast<float>(n - i) / ramp;
    out.push_back(gain *
                  static_cast<float>(std::sin(2.0 * std::numbers::pi * kToneHz * i / rate_hz)));
  }
}

}  // namespace

const std::string& PromptTexts::Text(Prompt prompt) const {
  switch (prompt) {
    case Prompt::kVerifyIntro:
      return verify_intro;
    case Prompt::kVerified:
      return verified;
    case Prompt::kRejected:
      return rejected;
    case Prompt::kInconclusive:
      return inconclusive;
    case Prompt::kEnrollIntro:
      return enroll_intro;
    case Prompt::kEnrolled:
      return enrolled;
    case Prompt::kEnrollFailed:
      return enroll_failed;
  }
  return verify_intro;
}

Status PromptTexts::Validate() const {
  static constexpr std::array<const char*, kPromptCount> kNames = {
      "verify_intro", "verified", "rejected",     "inconclusive",
      "enroll_intro", "enrolled", "enroll_failed"};
  for (int i = 0; i < kPromptCount; ++i) {
    const std::string& t = Text(static_cast<Prompt>(i));
    if (IsBlank(t)) return InvalidArgumentError(fmt::format("prompts.{} is blank", kNames[i]));
    if (t.size() > kMaxPromptBytes) {
      return InvalidArgumentError(
          fmt::format("prompts.{} is longer than {} bytes", kNames[i], kMaxPromptBytes));
    }
  }
  return Status::Ok();
}

std::string PromptTexts::ToString() const {
  std::ostringstream os;
  os << "PromptTexts(verify_intro=\"" << verify_intro << "\", verified=\"" << verified
     << "\", rejected=\"" << rejected << "\", inconclusive=\"" << inconclusive
     << "\", enroll_intro=\"" << enroll_intro << "\", enrolled=\"" << enrolled
     << "\", enroll_failed=\"" << enroll_failed << "\")";
  return os.str();
}

Status PromptTexts::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("verify_intro", &verify_intro));
  VOXGATE_RETURN_IF_ERROR(node.Get("verified", &verified));
  VOXGATE_RETURN_IF_ERROR(node.Get("rejected", &rejected));
  VOXGATE_RETURN_IF_ERROR(node.Get("inconclusive", &inconclusive));
  VOXGATE_RETURN_IF_ERROR(node.Get("enroll_intro", &enroll_intro));
  VOXGATE_RETURN_IF_ERROR(node.Get("enrolled", &enrolled));
  VOXGATE_RETURN_IF_ERROR(node.Get("enroll_failed", &enroll_failed));
  return Validate();
}

Result<std::shared_ptr<const PromptLibrary>> PromptLibrary::Create(
    const PromptTexts& texts, const audio::SynthConfig& voice, const std::vector<int>& rates_hz) {
  VOXGATE_RETURN_IF_ERROR(texts.Validate());
  VOXGATE_ASSIGN_OR_RETURN(auto synth, audio::SpeechSynth::Create(voice));
  std::shared_ptr<PromptLibrary> lib(new PromptLibrary());
  for (int rate : rates_hz) {
    if (lib->audio_.count(rate) != 0) continue;
    auto& prompts = lib->audio_[rate];
    for (int i = 0; i < kPromptCount; ++i) {
      const auto p = static_cast<Prompt>(i);
      VOXGATE_ASSIGN_OR_RETURN(auto spoken, synth->Synthesize(texts.Text(p), rate));
      prompts[static_cast<size_t>(i)] = std::move(spoken.clip.samples);
      if (EndsWithTone(p)) AppendTone(prompts[static_cast<size_t>(i)], rate);
    }
  }
  return std::shared_ptr<const PromptLibrary>(std::move(lib));
}

std::span<const float> PromptLibrary::Get(Prompt prompt, int rate_hz) const {
  auto it = audio_.find(rate_hz);
  if (it == audio_.end()) return {};
  return it->second[static_cast<size_t>(prompt)];
}

}  // namespace voxgate::telephony
