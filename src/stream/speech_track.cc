#include "stream/speech_track.h"

#include <algorithm>
#include <cmath>

namespace voxgate::stream {
namespace {

std::vector<float> Envelope(const audio::AudioClip& clip) {
  const size_t block = std::max(1, clip.sample_rate_hz / 100);
  std::vector<float> env((clip.samples.size() + block - 1) / block);
  const std::span<const float> all(clip.samples);
  for (size_t b = 0; b < env.size(); ++b) {
    const size_t end = std::min(clip.samples.size(), (b + 1) * block);
    env[b] = SpeechLevel(all.subspan(b * block, end - b * block));
  }
  return env;
}

}  // namespace

float SpeechLevel(std::span<const float> samples) {
  if (samples.empty()) return 0.0f;
  double sum = 0;
  for (float x : samples) sum += double(x) * x;
  const double rms = std::sqrt(sum / double(samples.size()));
  const double db = 20 * std::log10(rms + 1e-9);
  return float(std::clamp((db + 50) / 40, 0.0, 1.0));
}

float VisemeOpening(std::string_view p) {
  if (p.empty() || p[0] == '_' || p[0] == ';' || p[0] == '\'' || p[0] == ',') return 0.0f;
  switch (p[0]) {
    case 'm':
    case 'b':
    case 'p':
      return 0.02f;  // lips closed
    case 'f':
    case 'v':
      return 0.15f;  // lip on teeth
    case 'a':
    case 'A':
    case 'V':
      return 1.0f;
    case 'o':
    case 'O':
    case '0':
      return 0.8f;
    case 'e':
    case 'E':
    case '@':
    case '3':
      return 0.6f;
    case 'i':
    case 'I':
      return 0.4f;
    case 'u':
    case 'U':
    case 'w':
      return 0.3f;
    default:
      return 0.25f;  // other consonants
  }
}

std::shared_ptr<const SpeechSegment> SpeechSegment::FromSynth(const audio::SynthResult& synth,
                                                              std::string_view text) {
  auto seg = std::make_shared<SpeechSegment>();
  seg->clip = synth.clip;
  seg->envelope = Envelope(seg->clip);
  const int64_t total = int64_t(seg->clip.samples.size());
  for (const audio::SynthEvent& e : synth.events) {
    if (e.kind == audio::SynthEvent::Kind::kWord) {
      if (!seg->words.empty() && seg->words.back().end > e.sample) seg->words.back().end = e.sample;
      SpeechSegment::Word w;
      w.start = e.sample;
      w.end = total;
      if (e.text_position >= 0 && size_t(e.text_position) < text.size()) {
        w.text = std::string(text.substr(e.text_position, std::max(0, e.text_length)));
      }
      seg->words.push_back(std::move(w));
    } else if (e.kind == audio::SynthEvent::Kind::kPhoneme) {
      seg->visemes.push_back({e.sample, VisemeOpening(e.phoneme)});
    } else if (e.kind == audio::SynthEvent::Kind::kEnd && !seg->words.empty() &&
               seg->words.back().end > e.sample) {
      seg->words.back().end = e.sample;
    }
  }
  return seg;
}

std::shared_ptr<const SpeechSegment> SpeechSegment::FromClip(audio::AudioClip clip) {
  auto seg = std::make_shared<SpeechSegment>();
  seg->clip = std::move(clip);
  seg->envelope = Envelope(seg->clip);
  return seg;
}

int64_t SpeechTrack::Append(std::shared_ptr<const SpeechSegment> segment, int64_t now_sample) {
  if (!segment || segment->clip.sample_rate_hz != rate_hz_) return -1;
  std::lock_guard lock(mu_);
  const int64_t start = std::max(end_, now_sample + lead_);
  end_ = start + int64_t(segment->clip.samples.size());
  queue_.push_back({start, std::move(segment)});
  return start;
}

void SpeechTrack::Fill(int64_t start, std::span<float> out) {
  std::fill(out.begin(), out.end(), 0.0f);
  std::lock_guard lock(mu_);
  while (!queue_.empty() &&
         queue_.front().start + int64_t(queue_.front().segment->clip.samples.size()) <= start) {
    queue_.pop_front();
  }
  const int64_t end = start + int64_t(out.size());
  for (const Scheduled& s : queue_) {
    if (s.start >= end) break;
    const auto& samples = s.segment->clip.samples;
    const int64_t from = std::max(start, s.start);
    const int64_t to = std::min(end, s.start + int64_t(samples.size()));
    for (int64_t t = from; t < to; ++t) out[t - start] = samples[t - s.start];
  }
}

void SpeechTrack::StateAt(int64_t sample, TrackState* state) const {
  state->caption.clear();
  state->mouth_open = 0;
  state->level = 0;
  state->speaking = false;
  std::lock_guard lock(mu_);
  for (const Scheduled& s : queue_) {
    const SpeechSegment& seg = *s.segment;
    const int64_t t = sample - s.start;
    if (t < 0) break;
    if (t >= int64_t(seg.clip.samples.size())) continue;
    state->speaking = true;
    const size_t block = size_t(t / std::max(1, rate_hz_ / 100));
    state->level = block < seg.envelope.size() ? seg.envelope[block] : 0.0f;
    auto w = std::upper_bound(seg.words.begin(), seg.words.end(), t,
                              [](int64_t v, const SpeechSegment::Word& x) { return v < x.start; });
    if (w != seg.words.begin() && t < std::prev(w)->end) state->caption = std::prev(w)->text;
    if (seg.visemes.empty()) {
      state->mouth_open = state->level;
    } else {
      auto v =
          std::upper_bound(seg.visemes.begin(), seg.visemes.end(), t,
                           [](int64_t x, const SpeechSegment::Viseme& y) { return x < y.start; });
      // Phoneme shape, scaled by loudness so a held consonant or a fade does not gape.
      const float shape = v == seg.visemes.begin() ? 0.0f : std::prev(v)->open;
      state->mouth_open = shape * std::min(1.0f, 0.3f + state->level);
    }
    return;
  }
}

int64_t SpeechTrack::end_sample() const {
  std::lock_guard lock(mu_);
  return end_;
}

}  // namespace voxgate::stream
