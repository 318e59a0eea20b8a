#include "audio/speech_synth.h"

#include <espeak-ng/speak_lib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "audio/resampler.h"

namespace voxgate::audio {
namespace {

constexpr int kRateMinWpm = espeakRATE_MINIMUM;  // 80
constexpr int kRateMaxWpm = espeakRATE_MAXIMUM;  // 450
constexpr int kMinOutRateHz = 8000;
constexpr int kMaxOutRateHz = 48000;

// An event as espeak-ng reports it: positions in 1-based code points, sample at its native rate.
struct RawEvent {
  espeak_EVENT_TYPE type;
  int text_position;
  int length;
  int sample;
  char phoneme[9];
};

// Where the callback puts one synthesis's output.
struct Collector {
  std::vector<int16_t> samples;
  std::vector<RawEvent> events;
};

// espeak-ng's process-wide state and the lock that serialises every call into it.
struct Engine {
  std::mutex mu;
  bool initialised = false;      // GUARDED_BY(mu)
  std::string data_path;         // GUARDED_BY(mu): as given to the first Create
  std::string voice;             // GUARDED_BY(mu): the voice espeak-ng has loaded now
  int native_rate_hz = 22050;    // GUARDED_BY(mu) until initialised, then constant
  Collector* current = nullptr;  // GUARDED_BY(mu): the synthesis in progress
};

Engine& GetEngine() {
  static Engine engine;
  return engine;
}

// Runs inside espeak_Synth() on the thread that called it, which holds the engine lock.
// NOLINTNEXTLINE(google-runtime-int): the type espeak's callback takes
int SynthCallback(short* wav, int num_samples, espeak_EVENT* events) {
  Collector* c = GetEngine().current;
  if (c == nullptr) return 1;  // nobody is listening: abort
  if (wav != nullptr && num_samples > 0) {
    c->samples.insert(c->samples.end(), wav, wav + num_samples);
  }
  for (espeak_EVENT* e = events; e != nullptr && e->type != espeakEVENT_LIST_TERMINATED; ++e) {
    RawEvent raw{e->type, e->text_position, e->length, e->sample, {}};
    if (e->type == espeakEVENT_PHONEME) std::memcpy(raw.phoneme, e->id.string, 8);
    c->events.push_back(raw);
  }
  return 0;
}

bool VoiceNameIsSafe(const std::string& voice) {
  if (voice.empty() || voice.size() > 64) return false;
  return std::all_of(voice.begin(), voice.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '+';
  });
}

bool HasEspeakData(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir + "/espeak-ng-data/phontab", ec) ||
         std::filesystem::is_regular_file(dir + "/phontab", ec);
}

// Validates UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) and returns the
// byte offset of every code point plus one past the end. Empty on invalid input.
std::vector<int> CodePointOffsets(std::string_view text, bool* valid) {
  std::vector<int> offsets;
  offsets.reserve(text.size() + 1);
  *valid = false;
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (b0 < 0x80) {
      len = 1, cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07;
    } else {
      return {};
    }
    if (i + len > text.size()) return {};
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return {};
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
    offsets.push_back(static_cast<int>(i));
    i += len;
  }
  offsets.push_back(static_cast<int>(text.size()));
  *valid = true;
  return offsets;
}

std::string EspeakErrorName(espeak_ERROR err) {
  switch (err) {
    case EE_OK:
      return "ok";
    case EE_BUFFER_FULL:
      return "buffer full";
    case EE_NOT_FOUND:
      return "not found";
    default:
      return "internal error";
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SynthConfig

Status SynthConfig::Validate() const {
  if (!VoiceNameIsSafe(voice)) {
    return InvalidArgumentError(
        "synth.voice must be 1-64 letters, digits, '-', '_' or '+', got \"" + voice + "\"");
  }
  if (rate_wpm < kRateMinWpm || rate_wpm > kRateMaxWpm) {
    return InvalidArgumentError("synth.rate_wpm must be 80..450, got " + std::to_string(rate_wpm));
  }
  if (pitch < 0 || pitch > 100) {
    return InvalidArgumentError("synth.pitch must be 0..100, got " + std::to_string(pitch));
  }
  if (max_text_chars == 0) return InvalidArgumentError("synth.max_text_chars must be > 0");
  return Status::Ok();
}

std::string SynthConfig::ToString() const {
  std::ostringstream os;
  os << "SynthConfig(voice=\"" << voice << "\", rate_wpm=" << rate_wpm << ", pitch=" << pitch
     << ", max_text_chars=" << max_text_chars << ", data_path=\"" << data_path << "\")";
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// SpeechSynth

Result<std::shared_ptr<SpeechSynth>> SpeechSynth::Create(const SynthConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  Engine& engine = GetEngine();
  std::lock_guard lock(engine.mu);
  if (!engine.initialised) {
    if (!config.data_path.empty() && !HasEspeakData(config.data_path)) {
      return NotFoundError("synth.data_path \"" + config.data_path +
                           "\" holds no espeak-ng data (no phontab)");
    }
    // DONT_EXIT: without it espeak-ng calls exit() when its data is missing.
    const int rate = espeak_Initialize(
        AUDIO_OUTPUT_SYNCHRONOUS, 0, config.data_path.empty() ? nullptr : config.data_path.c_str(),
        espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0) return InternalError("espeak-ng failed to initialise");
    espeak_SetSynthCallback(&SynthCallback);
    engine.initialised = true;
    engine.data_path = config.data_path;
    engine.native_rate_hz = rate;
  } else if (!config.data_path.empty() && config.data_path != engine.data_path) {
    return InvalidArgumentError("synth.data_path \"" + config.data_path +
                                "\": espeak-ng is already initialised in this process with \"" +
                                engine.data_path + "\"");
  }
  const espeak_ERROR err = espeak_SetVoiceByName(config.voice.c_str());
  if (err != EE_OK) {
    engine.voice.clear();
    return InvalidArgumentError(
        "synth.voice \"" + config.voice +
        "\" is not an espeak-ng voice (or its data is missing): " + EspeakErrorName(err));
  }
  engine.voice = config.voice;
  return std::shared_ptr<SpeechSynth>(new SpeechSynth(config));
}

int SpeechSynth::NativeRateHz() {
  Engine& engine = GetEngine();
  std::lock_guard lock(engine.mu);
  return engine.native_rate_hz;
}

Result<SynthResult> SpeechSynth::Synthesize(std::string_view text, int out_rate_hz) const {
  if (out_rate_hz < kMinOutRateHz || out_rate_hz > kMaxOutRateHz) {
    return InvalidArgumentError("synthesis: output rate must be 8000..48000 Hz, got " +
                                std::to_string(out_rate_hz));
  }
  if (text.empty()) return InvalidArgumentError("synthesis: empty text");
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("synthesis: text contains a NUL byte");
  }
  bool valid = false;
  const std::vector<int> offsets = CodePointOffsets(text, &valid);
  if (!valid) return InvalidArgumentError("synthesis: text is not valid UTF-8");
  const size_t num_chars = offsets.size() - 1;
  if (num_chars > config_.max_text_chars) {
    return TooLargeError("synthesis: text has " + std::to_string(num_chars) +
                         " characters, the limit is " + std::to_string(config_.max_text_chars));
  }
  if (std::all_of(text.begin(), text.end(),
                  [](char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); })) {
    return InvalidArgumentError("synthesis: text is blank");
  }
  const std::string text_z(text);  // espeak-ng reads up to a NUL

  Collector collected;
  int native_rate_hz = 0;
  {
    Engine& engine = GetEngine();
    std::lock_guard lock(engine.mu);
    native_rate_hz = engine.native_rate_hz;
    // Another SpeechSynth may have changed the voice; loading one resets rate and pitch, so those
    // are set after it, on every call.
    if (engine.voice != config_.voice) {
      const espeak_ERROR err = espeak_SetVoiceByName(config_.voice.c_str());
      if (err != EE_OK) {
        engine.voice.clear();
        return InternalError("espeak-ng: setting voice \"" + config_.voice +
                             "\": " + EspeakErrorName(err));
      }
      engine.voice = config_.voice;
    }
    if (espeak_SetParameter(espeakRATE, config_.rate_wpm, 0) != EE_OK ||
        espeak_SetParameter(espeakPITCH, config_.pitch, 0) != EE_OK) {
      return InternalError("espeak-ng: setting rate and pitch failed");
    }
    engine.current = &collected;
    const espeak_ERROR err = espeak_Synth(text_z.c_str(), text_z.size() + 1, 0, POS_CHARACTER, 0,
                                          espeakCHARS_UTF8, nullptr, nullptr);
    engine.current = nullptr;
    if (err != EE_OK) return InternalError("espeak-ng: synthesis failed: " + EspeakErrorName(err));
  }

  std::vector<float> native(collected.samples.size());
  std::transform(collected.samples.begin(), collected.samples.end(), native.begin(),
                 [](int16_t s) { return static_cast<float>(s) / 32768.0f; });
  auto resampled = Resample(native, native_rate_hz, out_rate_hz);
  if (!resampled.ok()) return resampled.status().WithContext("synthesis");

  SynthResult result;
  result.clip.samples = std::move(resampled).value();
  result.clip.sample_rate_hz = out_rate_hz;
  const auto clip_len = static_cast<int64_t>(result.clip.samples.size());
  // espeak-ng counts 1-based code points; callers index the UTF-8 text by bytes.
  auto byte_offset = [&](int one_based_char) {
    const size_t index =
        std::clamp<int64_t>(int64_t{one_based_char} - 1, 0, static_cast<int64_t>(num_chars));
    return offsets[index];
  };
  for (const RawEvent& raw : collected.events) {
    SynthEvent e;
    switch (raw.type) {
      case espeakEVENT_WORD:
        e.kind = SynthEvent::Kind::kWord;
        break;
      case espeakEVENT_SENTENCE:
        e.kind = SynthEvent::Kind::kSentence;
        break;
      case espeakEVENT_PHONEME:
        e.kind = SynthEvent::Kind::kPhoneme;
        e.phoneme.assign(raw.phoneme, strnlen(raw.phoneme, 8));
        break;
      case espeakEVENT_END:
        e.kind = SynthEvent::Kind::kEnd;
        break;
      default:
        continue;  // sample-rate notices, marks, message end: nothing for the caller
    }
    e.sample = std::clamp<int64_t>(
        std::llround(static_cast<double>(raw.sample) * out_rate_hz / native_rate_hz), 0, clip_len);
    e.text_position = byte_offset(raw.text_position);
    if (e.kind == SynthEvent::Kind::kWord) {
      e.text_length = byte_offset(raw.text_position + raw.length) - e.text_position;
    }
    result.events.push_back(std::move(e));
  }
  return result;
}

}  // namespace voxgate::audio
