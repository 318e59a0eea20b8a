// SpeechTrack: what the presenter says and when, on the broadcast's audio clock. Segments (speech
// synthesised from text, or a recording) are scheduled one after another; the media thread reads
// the audio for each chunk (silence between segments, so the clock never stops), and the renderer
// asks what to show for a video slot: the word being spoken, the mouth opening (from espeak-ng
// phoneme events mapped to visemes, or from the audio envelope for recordings) and the level.
//
// A segment is scheduled no earlier than `lead_samples` after the moment it is appended, so the
// renderer (which works a few frames ahead of the clock) never has to redraw a frame it drew as
// silence. Thread-safe: one mutex, held for a copy of one chunk or one lookup (a few microseconds,
// once per 20 ms chunk and once per video frame, never contended except by Append()).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audio/audio_clip.h"
#include "audio/speech_synth.h"

namespace voxgate::stream {

/// One thing to say, immutable once built.
struct SpeechSegment {
  struct Word {
    int64_t start = 0;  // samples from the segment's start
    int64_t end = 0;
    std::string text;
  };
  struct Viseme {
    int64_t start = 0;  // samples from the segment's start
    float open = 0;     // mouth opening 0..1
  };
  audio::AudioClip clip;
  std::vector<Word> words;
  std::vector<Viseme> visemes;  // empty: the mouth follows the envelope
  std::vector<float> envelope;  // RMS of each 10 ms block, scaled to 0..1

  /// From espeak-ng output: words from kWord events (text cut from `text`), visemes from phonemes.
  static std::shared_ptr<const SpeechSegment> FromSynth(const audio::SynthResult& synth,
                                                        std::string_view text);
  /// A recording: no words, mouth from the envelope.
  static std::shared_ptr<const SpeechSegment> FromClip(audio::AudioClip clip);
};

/// The loudness of `samples` on the meter's 0..1 scale (-50 dBFS .. -10 dBFS RMS): speech moves
/// the meter and the mouth, background noise does not. 0 for no samples.
float SpeechLevel(std::span<const float> samples);

/// How wide the mouth opens for an espeak-ng phoneme mnemonic ("a", "eI", "m", "_:").
float VisemeOpening(std::string_view phoneme);

struct TrackState {
  std::string caption;  // the current word, empty between words
  float mouth_open = 0;
  float level = 0;
  bool speaking = false;  // inside a segment
};

class SpeechTrack {
 public:
  /// rate_hz: the rate of every segment's clip (the broadcast's audio rate).
  SpeechTrack(int rate_hz, int64_t lead_samples) : rate_hz_(rate_hz), lead_(lead_samples) {}

  /// Schedules the segment after everything queued and at least lead_samples after now_sample;
  /// returns its start sample. Segments at another rate than rate_hz are refused (-1).
  int64_t Append(std::shared_ptr<const SpeechSegment> segment, int64_t now_sample);
  /// Audio for [start, start + out.size()): the segments' samples, silence elsewhere. Forgets
  /// segments that end before `start` (the clock only moves forward).
  void Fill(int64_t start, std::span<float> out);
  /// What to show at `sample`. `caption` is reused to avoid allocating per frame.
  void StateAt(int64_t sample, TrackState* state) const;
  /// The end of the last scheduled segment (0 when nothing was ever scheduled).
  int64_t end_sample() const;
  int rate_hz() const { return rate_hz_; }

 private:
  struct Scheduled {
    int64_t start;
    std::shared_ptr<const SpeechSegment> segment;
  };
  const int rate_hz_;
  const int64_t lead_;
  mutable std::mutex mu_;
  std::deque<Scheduled> queue_;  // GUARDED_BY(mu_)
  int64_t end_ = 0;              // GUARDED_BY(mu_)
};

}  // namespace voxgate::stream
