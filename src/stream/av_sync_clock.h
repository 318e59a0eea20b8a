// AvSyncClock: the audio-master clock of a broadcast. Audio time is the count of samples sent
// divided by the rate (so audio PTS never drift); video frame n belongs at n / fps seconds and is
// due once the audio clock has reached that time. For each due slot the broadcaster asks Match()
// what to do with the newest frame the renderer has ready: use it, drop it (rendered for a slot
// that has already passed) or repeat the previous frame (nothing rendered for this slot yet).
// Every drop and repeat is counted, and the drift between the video and audio clocks is reported.
//
// Integer arithmetic throughout (no accumulated rounding). Not thread-safe: one media thread owns
// it; the counters are plain values read by the owner. No allocation.
#pragma once

#include <cstdint>

namespace voxgate::stream {

class AvSyncClock {
 public:
  enum class Action {
    kUse,     // the ready frame is for this slot
    kDrop,    // the ready frame is for a slot already filled: discard it and look at the next
    kRepeat,  // no frame for this slot yet: send the previous one again
  };

  /// audio_rate_hz, fps > 0.
  AvSyncClock(int audio_rate_hz, int fps) : audio_rate_hz_(audio_rate_hz), fps_(fps) {}

  /// Audio was sent: the clock advances by n samples.
  void AddAudioSamples(int64_t n) { audio_samples_ += n; }

  /// True when the next video slot's time has been reached by the audio clock; *index = its number.
  bool NextFrameDue(int64_t* index) const {
    *index = next_frame_;
    return next_frame_ * audio_rate_hz_ <= audio_samples_ * fps_;
  }

  /// For the due slot, what to do with the renderer's frame for slot ready_index (-1: none ready).
  /// kUse and kRepeat fill the slot (the next call is for the next slot); kDrop does not.
  Action Match(int64_t ready_index);

  int64_t audio_samples() const { return audio_samples_; }
  int64_t frames_sent() const { return next_frame_; }
  int64_t frames_dropped() const { return dropped_; }
  int64_t frames_repeated() const { return repeated_; }
  int audio_rate_hz() const { return audio_rate_hz_; }
  int fps() const { return fps_; }
  double AudioTimeS() const { return static_cast<double>(audio_samples_) / audio_rate_hz_; }
  /// Start of the next video slot (video sent up to here) minus the audio time, in ms. Always in
  /// (-1 frame, +1 frame] after the due slots are filled: that is the sync this clock holds.
  double DriftMs() const {
    return 1000.0 * (static_cast<double>(next_frame_) / fps_ - AudioTimeS());
  }

 private:
  int64_t audio_rate_hz_;
  int64_t fps_;
  int64_t audio_samples_ = 0;
  int64_t next_frame_ = 0;
  int64_t dropped_ = 0;
  int64_t repeated_ = 0;
};

}  // namespace voxgate::stream
