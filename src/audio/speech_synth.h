// SpeechSynth: text to speech with espeak-ng, with the word, sentence and phoneme timings that
// drive captions and a synthetic presenter's mouth, as sample positions on the output clip.
//
// espeak-ng keeps all of its state in process globals (one voice, one rate, one callback), so the
// library is initialised once per process (with the data_path of the first SpeechSynth created)
// and every call into it is serialised by one process-wide mutex; each Synthesize() sets its own
// voice, rate and pitch under that lock, so SpeechSynth objects with different configs can be used
// side by side. Thread-safe. Not for the per-frame media path: a call synthesises the whole text
// (a few hundred times faster than real time on one core) while holding the lock, and allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audio/audio_clip.h"
#include "common/result.h"

namespace voxgate::audio {

struct SynthConfig {
  std::string voice = "en-us";    // espeak-ng voice ("en-us", "en-gb", "cmn", "en-us+f3", ...)
  int rate_wpm = 160;             // speaking rate, words per minute (80..450)
  int pitch = 50;                 // base pitch, 0..100 (50 = the voice's normal)
  size_t max_text_chars = 20000;  // longer text (in UTF-8 code points) is refused with kTooLarge
  // The directory holding espeak-ng-data (or that directory itself); empty: espeak-ng's default
  // (ESPEAK_DATA_PATH, then the system data). Fixed by the first SpeechSynth in the process.
  std::string data_path;

  /// kInvalidArgument naming the field: empty or malformed voice name (letters, digits, "-", "_",
  /// "+" only: it becomes a file name inside espeak-ng's data), rate or pitch out of range,
  /// max_text_chars 0.
  Status Validate() const;
  std::string ToString() const;
};

/// A timing mark in the synthesised speech.
struct SynthEvent {
  enum class Kind {
    kWord,      // a word starts
    kSentence,  // a sentence starts
    kPhoneme,   // a phoneme starts (including pauses, "_" and "_:")
    kEnd,       // a clause or sentence ends
  };
  Kind kind = Kind::kWord;
  int64_t sample = 0;     // position in the output clip, at its rate
  int text_position = 0;  // byte offset into the UTF-8 text (for kPhoneme: of its word)
  int text_length = 0;    // bytes of the word (kWord), else 0
  std::string phoneme;    // espeak phoneme mnemonic (kPhoneme), e.g. "p", "eI", "_:"

  friend bool operator==(const SynthEvent&, const SynthEvent&) = default;
};

struct SynthResult {
  AudioClip clip;                  // mono, at the requested rate
  std::vector<SynthEvent> events;  // in order of sample (ties keep espeak's order)
};

class SpeechSynth {
 public:
  /// Initialises espeak-ng on first use and checks the voice. kInvalidArgument: invalid config or
  /// a voice espeak-ng does not have; kNotFound: data_path holds no espeak-ng data;
  /// kInvalidArgument also when data_path differs from the one espeak-ng was initialised with in
  /// this process.
  static Result<std::shared_ptr<SpeechSynth>> Create(const SynthConfig& config);

  /// Speaks `text` (UTF-8, plain text: no SSML, no phoneme codes) into a clip at out_rate_hz
  /// (8000..48000; espeak-ng renders at 22050 Hz and the clip is resampled with Resample()).
  /// kInvalidArgument: empty or blank text, invalid UTF-8, an embedded NUL, a bad rate;
  /// kTooLarge: more than max_text_chars code points; kInternal: espeak-ng failed.
  Result<SynthResult> Synthesize(std::string_view text, int out_rate_hz = 16000) const;

  const SynthConfig& config() const { return config_; }
  /// espeak-ng's native output rate (22050 Hz).
  static int NativeRateHz();

 private:
  explicit SpeechSynth(SynthConfig config) : config_(std::move(config)) {}
  SynthConfig config_;
};

}  // namespace voxgate::audio
