#include "stream/broadcast_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/spsc_ring.h"
#include "stream/av_muxer.h"
#include "stream/av_sync_clock.h"
#include "stream/picture_png.h"
#include "stream/presenter_renderer.h"
#include "stream/speech_track.h"

namespace voxgate::stream {
namespace {

using Clock = std::chrono::steady_clock;

// What the media thread hands to the output thread. Small and copyable: the samples and pixels
// stay in preallocated pools, the item carries a slot number.
struct OutItem {
  enum class Kind : uint8_t { kAudio, kVideo, kRepeat };
  Kind kind = Kind::kAudio;
  int64_t position = 0;  // audio: first sample at the clock's rate; video: frame index
  int slot = -1;
};

// A picture drawn by the renderer for a video slot.
struct Picture {
  std::vector<uint8_t> bgra;
  int64_t index = -1;
};

void SleepBriefly() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }

// A free slot: the spare one if the consumer kept one back, else one from the ring.
bool TakeSlot(audio::SpscRing<int>& ring, int* spare, int* slot) {
  if (*spare >= 0) {
    *slot = *spare;
    *spare = -1;
    return true;
  }
  return ring.TryPop(*slot);
}

}  // namespace

Status BroadcastSessionConfig::Validate() const {
  VOXGATE_RETURN_IF_ERROR(output.Validate());
  if (presenter_name.size() > 200) return InvalidArgumentError("presenter_name is over 200 bytes");
  if (audio_rate_hz < 8000 || audio_rate_hz > 48000) {
    return InvalidArgumentError(
        fmt::format("audio_rate_hz must be 8000..48000, got {}", audio_rate_hz));
  }
  if (chunk_ms < 5 || chunk_ms > 100 || (audio_rate_hz * chunk_ms) % 1000 != 0) {
    return InvalidArgumentError(fmt::format(
        "chunk_ms must be 5..100 and hold a whole number of samples, got {}", chunk_ms));
  }
  if (render_ahead_frames < 2 || render_ahead_frames > 64) {
    return InvalidArgumentError(
        fmt::format("render_ahead_frames must be 2..64, got {}", render_ahead_frames));
  }
  if (output_queue_ms < 200 || output_queue_ms > 60000) {
    return InvalidArgumentError(
        fmt::format("output_queue_ms must be 200..60000, got {}", output_queue_ms));
  }
  if (!(lead_ms >= 0) || lead_ms > 10000) {
    return InvalidArgumentError(fmt::format("lead_ms must be 0..10000, got {}", lead_ms));
  }
  if (!(max_duration_s >= 0)) {
    return InvalidArgumentError(fmt::format("max_duration_s must be >= 0, got {}", max_duration_s));
  }
  if (max_say_bytes == 0) return InvalidArgumentError("max_say_bytes must be > 0");
  if (video_source != "presenter" && video_source != "external") {
    return InvalidArgumentError("video_source must be \"presenter\" or \"external\", got \"" +
                                video_source + "\"");
  }
  if (live_prebuffer_ms < 0 || live_prebuffer_ms > 2000) {
    return InvalidArgumentError(
        fmt::format("live_prebuffer_ms must be 0..2000, got {}", live_prebuffer_ms));
  }
  if (live_max_latency_ms < live_prebuffer_ms + 20 || live_max_latency_ms > 10000) {
    return InvalidArgumentError(
        fmt::format("live_max_latency_ms must be live_prebuffer_ms + 20 .. 10000, got {}",
                    live_max_latency_ms));
  }
  return synth.Validate();
}

std::string BroadcastSessionConfig::ToString() const {
  std::ostringstream os;
  os << "BroadcastSessionConfig(" << output.ToString() << ", presenter_name=\"" << presenter_name
     << "\", audio_rate_hz=" << audio_rate_hz << ", chunk_ms=" << chunk_ms
     << ", render_ahead_frames=" << render_ahead_frames << ", output_queue_ms=" << output_queue_ms
     << ", lead_ms=" << lead_ms << ", realtime=" << (realtime ? "true" : "false")
     << ", max_duration_s=" << max_duration_s
     << ", stop_when_idle=" << (stop_when_idle ? "true" : "false")
     << ", max_say_bytes=" << max_say_bytes << ", video_source=" << video_source
     << ", live_prebuffer_ms=" << live_prebuffer_ms
     << ", live_max_latency_ms=" << live_max_latency_ms << ", " << synth.ToString() << ")";
  return os.str();
}

struct BroadcastSession::Impl {
  BroadcastSessionConfig config;
  int chunk_samples = 0;
  std::unique_ptr<AvMuxer> muxer;
  std::unique_ptr<PresenterRenderer> renderer;
  std::unique_ptr<SpeechTrack> track;
  std::shared_ptr<audio::SpeechSynth> synth;  // null until the first Say()
  std::mutex synth_mu;

  // One pool of pictures travels renderer -> media (ready) -> output (an item) and back to the
  // renderer, without being copied on the way: from the output thread once encoded
  // (pictures_returned), from the media thread when dropped or not queued (pictures_free). Two
  // return rings because each ring has one producer.
  std::vector<Picture> pictures;
  std::unique_ptr<audio::SpscRing<int>> pictures_free, pictures_returned, pictures_ready;
  // media -> output: items; output -> media: free audio chunks.
  std::vector<std::vector<float>> chunks;
  std::unique_ptr<audio::SpscRing<OutItem>> items;
  std::unique_ptr<audio::SpscRing<int>> chunks_free;
  // Media thread only: a chunk taken from the free ring whose item could not be queued. Kept for
  // the next chunk, because only the output thread may push into chunks_free (SPSC).
  int spare_chunk = -1;

  AvSyncClock clock{16000, 25};  // media thread only; mirrored into the atomics below
  std::atomic<int64_t> audio_samples{0}, frames_sent{0}, frames_dropped{0}, frames_repeated{0};
  std::atomic<int64_t> queue_drops{0}, bytes_sent{0};
  std::atomic<double> drift_ms{0}, written_drift_ms{0};
  std::atomic<int> reconnects{0};
  std::atomic<bool> stop{false}, media_done{false}, failed{false}, output_done{false};

  mutable std::mutex state_mu;
  std::string state = "starting";  // GUARDED_BY(state_mu)
  Status error;                    // GUARDED_BY(state_mu): the first failure

  // Live inputs, replaced whole (copy on write) so the media thread reads them without a lock.
  using Inputs = std::vector<std::shared_ptr<LiveAudioInput>>;
  std::atomic<std::shared_ptr<const Inputs>> inputs{std::make_shared<const Inputs>()};
  std::mutex inputs_mu;              // serialises writers of `inputs`
  std::atomic<float> live_level{0};  // level of the last mixed chunk (media -> renderer)
  std::atomic<std::shared_ptr<const std::string>> name;  // the card's name (any -> renderer)
  // External pictures: PushVideoFrame copies the newest into external_frame; the renderer swaps
  // that buffer into a picture (no second copy) or, when none came since, copies the picture that
  // holds the newest (external_last_slot: only the renderer writes pictures, so reading it there
  // is safe even while the output thread encodes it).
  std::mutex external_mu;
  std::vector<uint8_t> external_frame;  // GUARDED_BY(external_mu); empty until the first
  bool external_fresh = false;          // GUARDED_BY(external_mu): not yet in a picture
  int external_last_slot = -1;          // renderer only
  std::atomic<int64_t> external_frames{0};

  // Preview: when asked (preview_wanted), the output thread copies the next picture it sends,
  // once per request, so a broadcast nobody previews pays nothing per frame.
  std::atomic<bool> preview_wanted{false};
  std::mutex preview_mu;
  std::condition_variable preview_cv;
  std::vector<uint8_t> preview;  // GUARDED_BY(preview_mu): BGRA, empty until the first copy
  int64_t preview_index = -1;    // GUARDED_BY(preview_mu): the picture's video slot

  std::thread render_thread, media_thread, output_thread;
  std::mutex stop_mu;
  bool stopped = false;  // GUARDED_BY(stop_mu)
  Status final_status;   // GUARDED_BY(stop_mu)

  void SetState(const char* s) {
    std::lock_guard lock(state_mu);
    if (state != "failed") state = s;
  }
  void Fail(const Status& s) {
    {
      std::lock_guard lock(state_mu);
      if (error.ok()) error = s;
      state = "failed";
    }
    failed.store(true);
    stop.store(true);
  }

  void RenderLoop();
  void MediaLoop();
  void OutputLoop();
  // Media thread: queues picture `slot` (-1: a repeat) for video slot `index`; when the queue is
  // full the picture goes back to the renderer and counts as a queue drop.
  void SendVideo(int slot, int64_t index);
  // Media thread: adds the live inputs into `chunk`, limits it to -1..1 and updates live_level.
  void MixLive(const Inputs& live, std::span<float> chunk);
  std::vector<float> scratch;  // media thread: a chunk for when no output slot was free
};

void BroadcastSession::Impl::RenderLoop() {
  const BroadcastConfig& out = config.output;
  TrackState st;
  int64_t next = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    // Slots the clock has already filled are not worth drawing: skip ahead (this is what turns a
    // slow renderer into repeats instead of a growing delay).
    next = std::max(next, frames_sent.load(std::memory_order_acquire));
    int slot;
    // Never more than render_ahead_frames drawn and waiting: new speech starts after them.
    if (pictures_ready->size() >= static_cast<size_t>(config.render_ahead_frames) ||
        (!pictures_free->TryPop(slot) && !pictures_returned->TryPop(slot))) {
      SleepBriefly();
      continue;
    }
    Picture& p = pictures[slot];
    if (config.video_source == "external") {
      bool swapped = false;
      {
        std::lock_guard lock(external_mu);
        if (external_fresh && external_frame.size() == p.bgra.size()) {
          p.bgra.swap(external_frame);  // external_frame is overwritten whole by the next push
          external_fresh = false;
          swapped = true;
        }
      }
      if (swapped) {
        external_last_slot = slot;
      } else if (external_last_slot < 0) {
        std::fill(p.bgra.begin(), p.bgra.end(), uint8_t{0});  // black until the first picture
      } else if (external_last_slot != slot) {
        const auto& newest = pictures[external_last_slot].bgra;
        std::memcpy(p.bgra.data(), newest.data(), p.bgra.size());
      }
    } else {
      const int64_t sample = next * config.audio_rate_hz / out.fps;
      track->StateAt(sample, &st);
      const std::shared_ptr<const std::string> shown = name.load(std::memory_order_acquire);
      PresenterState ps;
      ps.name = shown ? std::string_view(*shown) : std::string_view(config.presenter_name);
      ps.caption = st.caption;
      ps.level = st.level;
      ps.mouth_open = st.mouth_open;
      if (!st.speaking) {
        // Live speech: the mouth and the meter follow its envelope (the renderer runs a few frames
        // ahead of the clock, so this is the newest mixed chunk, not the slot's own).
        const float live = live_level.load(std::memory_order_relaxed);
        ps.level = live;
        ps.mouth_open = live;
      }
      ps.time_s = static_cast<double>(next) / out.fps;
      renderer->Render(ps, p.bgra.data(), out.width * 4);
    }
    p.index = next++;
    while (!pictures_ready->TryPush(slot)) SleepBriefly();  // cannot be full: as many slots
  }
}

void BroadcastSession::Impl::SendVideo(int slot, int64_t index) {
  OutItem item;
  item.position = index;
  item.kind = slot >= 0 ? OutItem::Kind::kVideo : OutItem::Kind::kRepeat;
  item.slot = slot;
  while (!items->TryPush(item)) {
    if (config.realtime || stop.load()) {
      if (slot >= 0) pictures_free->TryPush(slot);  // never full: it can hold the whole pool
      queue_drops.fetch_add(1);
      return;
    }
    SleepBriefly();  // flat out: wait for the encoder instead of dropping
  }
}

void BroadcastSession::Impl::MixLive(const Inputs& live, std::span<float> chunk) {
  for (const auto& in : live) in->MixInto(chunk);
  for (float& x : chunk) x = std::clamp(x, -1.0f, 1.0f);
  live_level.store(SpeechLevel(chunk), std::memory_order_relaxed);
}

void BroadcastSession::Impl::MediaLoop() {
  const int64_t max_samples =
      static_cast<int64_t>(config.max_duration_s * config.audio_rate_hz + 0.5);
  // Give the renderer a moment to draw the first picture, so the broadcast does not open on a
  // repeated (black) slot; the clock has not started, so this costs no sync.
  for (int i = 0; i < 500 && pictures_ready->size() == 0 && !stop.load(); ++i) SleepBriefly();
  const auto start = Clock::now();
  while (!stop.load()) {
    const int64_t now = clock.audio_samples();
    if (max_samples > 0 && now >= max_samples) break;
    if (config.stop_when_idle && track->end_sample() > 0 && now >= track->end_sample()) break;
    if (config.realtime) {
      std::this_thread::sleep_until(
          start + std::chrono::microseconds(now * 1000000 / config.audio_rate_hz));
    }
    // Audio chunk [now, now + chunk).
    int slot = -1;
    while (!TakeSlot(*chunks_free, &spare_chunk, &slot)) {
      if (config.realtime || stop.load()) break;
      SleepBriefly();
    }
    const std::shared_ptr<const Inputs> live = inputs.load(std::memory_order_acquire);
    if (slot >= 0) {
      track->Fill(now, chunks[slot]);
      if (!live->empty()) MixLive(*live, chunks[slot]);
      OutItem item{OutItem::Kind::kAudio, now, slot};
      bool pushed = items->TryPush(item);
      while (!pushed && !config.realtime && !stop.load()) {
        SleepBriefly();
        pushed = items->TryPush(item);
      }
      if (!pushed) {
        spare_chunk = slot;
        queue_drops.fetch_add(1);  // the output thread fills the gap with silence
      }
    } else {
      queue_drops.fetch_add(1);
      // No chunk to mix into: the live inputs still advance, so they stay in step with the clock.
      if (!live->empty()) MixLive(*live, scratch);
    }
    clock.AddAudioSamples(chunk_samples);

    // Every video slot the audio clock has reached.
    int64_t due;
    while (clock.NextFrameDue(&due)) {
      const int* ready_slot = pictures_ready->Front();
      if (!config.realtime) {  // wait for the renderer rather than repeat
        while (ready_slot == nullptr && !stop.load()) {
          SleepBriefly();
          ready_slot = pictures_ready->Front();
        }
        if (ready_slot == nullptr) break;
      }
      const int64_t ready_index = ready_slot ? pictures[*ready_slot].index : -1;
      switch (clock.Match(ready_index)) {
        case AvSyncClock::Action::kDrop: {
          const int s = *ready_slot;
          pictures_ready->Pop();
          pictures_free->TryPush(s);
          break;
        }
        case AvSyncClock::Action::kUse: {
          const int s = *ready_slot;
          pictures_ready->Pop();
          SendVideo(s, due);  // the output thread returns it once encoded
          break;
        }
        case AvSyncClock::Action::kRepeat:
          SendVideo(-1, due);
          break;
      }
      frames_sent.store(clock.frames_sent(), std::memory_order_release);
    }
    audio_samples.store(clock.audio_samples(), std::memory_order_relaxed);
    frames_dropped.store(clock.frames_dropped(), std::memory_order_relaxed);
    frames_repeated.store(clock.frames_repeated(), std::memory_order_relaxed);
    drift_ms.store(clock.DriftMs(), std::memory_order_relaxed);
  }
  media_done.store(true);
}

void BroadcastSession::Impl::OutputLoop() {
  const BroadcastConfig& out = config.output;
  std::vector<float> silence(chunk_samples, 0.0f);
  int64_t next_audio = 0;  // the next sample the encoder expects (clock rate)
  while (true) {
    const OutItem* front = items->Front();
    if (front == nullptr) {
      if (media_done.load()) {
        output_done.store(true);
        break;
      }
      SleepBriefly();
      continue;
    }
    const OutItem item = *front;
    Status s;
    if (!failed.load()) {
      switch (item.kind) {
        case OutItem::Kind::kAudio:
          // A chunk dropped upstream left a hole: silence keeps the audio timestamps on the clock.
          while (s.ok() && next_audio < item.position) {
            const int64_t n = std::min<int64_t>(chunk_samples, item.position - next_audio);
            s = muxer->WriteAudio(std::span<const float>(silence.data(), n), config.audio_rate_hz);
            next_audio += n;
          }
          if (s.ok()) s = muxer->WriteAudio(chunks[item.slot], config.audio_rate_hz);
          next_audio = item.position + chunk_samples;
          break;
        case OutItem::Kind::kVideo: {
          VideoFrameView v;
          v.format = VideoFrameView::Format::kBgra;
          v.width = out.width;
          v.height = out.height;
          v.data[0] = pictures[item.slot].bgra.data();
          v.stride[0] = out.width * 4;
          s = muxer->WriteVideo(v, item.position);
          if (preview_wanted.exchange(false, std::memory_order_relaxed)) {
            {
              std::lock_guard lock(preview_mu);
              preview = pictures[item.slot].bgra;
              preview_index = item.position;
            }
            preview_cv.notify_all();
          }
          break;
        }
        case OutItem::Kind::kRepeat:
          s = muxer->RepeatVideo(item.position);
          break;
      }
    }
    items->Pop();
    if (item.kind == OutItem::Kind::kAudio) chunks_free->TryPush(item.slot);
    if (item.kind == OutItem::Kind::kVideo) pictures_returned->TryPush(item.slot);
    bytes_sent.store(muxer->stats().bytes_written, std::memory_order_relaxed);
    written_drift_ms.store(muxer->WrittenDriftMs(), std::memory_order_relaxed);
    if (s.ok()) continue;
    if (s.code() != StatusCode::kUnavailable) {
      Fail(s);
      continue;
    }
    // The connection broke: reconnect with backoff while the clock keeps running upstream (the
    // queue fills and the media thread drops; nothing here blocks it).
    SetState("reconnecting");
    Status r = muxer->Reconnect();
    if (r.ok()) {
      reconnects.fetch_add(1);
      SetState("live");
    } else {
      Fail(r);
    }
  }
}

BroadcastSession::BroadcastSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BroadcastSession::~BroadcastSession() { Stop(); }

Result<std::unique_ptr<BroadcastSession>> BroadcastSession::Start(
    const BroadcastSessionConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.config = config;
  const BroadcastConfig& out = config.output;
  m.chunk_samples = config.audio_rate_hz * config.chunk_ms / 1000;
  m.scratch.assign(m.chunk_samples, 0.0f);
  m.clock = AvSyncClock(config.audio_rate_hz, out.fps);
  // New speech must start after every picture the renderer may already have drawn.
  const double lead_ms =
      std::max(config.lead_ms, 1000.0 * (config.render_ahead_frames + 2) / out.fps);
  m.track = std::make_unique<SpeechTrack>(
      config.audio_rate_hz, static_cast<int64_t>(lead_ms * config.audio_rate_hz / 1000));
  VOXGATE_ASSIGN_OR_RETURN(m.renderer, PresenterRenderer::Create(out.width, out.height));

  const size_t picture_bytes = size_t(out.width) * out.height * 4;
  // The output queue holds output_queue_ms of audio chunks; pictures are the bulk of the memory,
  // so at most one second of them waits for the encoder (beyond that the renderer runs out of
  // pictures and the clock repeats slots) on top of the ones drawn ahead.
  const int n_chunks = std::max(4, config.output_queue_ms / config.chunk_ms);
  const int n_queued = std::clamp(out.fps * config.output_queue_ms / 1000, 4, out.fps);
  const int n_pictures = config.render_ahead_frames + n_queued;
  m.pictures.resize(n_pictures);
  m.pictures_free = std::make_unique<audio::SpscRing<int>>(n_pictures);
  m.pictures_returned = std::make_unique<audio::SpscRing<int>>(n_pictures);
  m.pictures_ready = std::make_unique<audio::SpscRing<int>>(n_pictures);
  for (int i = 0; i < n_pictures; ++i) {
    m.pictures[i].bgra.assign(picture_bytes, 0);
    m.pictures_free->TryPush(i);
  }
  m.chunks.assign(n_chunks, std::vector<float>(m.chunk_samples));
  m.chunks_free = std::make_unique<audio::SpscRing<int>>(n_chunks);
  for (int i = 0; i < n_chunks; ++i) m.chunks_free->TryPush(i);
  m.items = std::make_unique<audio::SpscRing<OutItem>>(
      n_chunks + size_t(out.fps) * config.output_queue_ms / 1000 + 8);

  VOXGATE_ASSIGN_OR_RETURN(m.muxer, AvMuxer::Open(out));
  m.SetState("live");
  m.output_thread = std::thread([&m] { m.OutputLoop(); });
  m.render_thread = std::thread([&m] { m.RenderLoop(); });
  m.media_thread = std::thread([&m] { m.MediaLoop(); });
  return std::unique_ptr<BroadcastSession>(new BroadcastSession(std::move(impl)));
}

Result<double> BroadcastSession::Say(std::string_view text) {
  Impl& m = *impl_;
  if (m.media_done.load() || m.stop.load()) return UnavailableError("the broadcast has ended");
  if (text.size() > m.config.max_say_bytes) {
    return TooLargeError(fmt::format("text of {} bytes is over the limit of {} bytes", text.size(),
                                     m.config.max_say_bytes));
  }
  std::shared_ptr<audio::SpeechSynth> synth;
  {
    std::lock_guard lock(m.synth_mu);
    if (!m.synth) {
      VOXGATE_ASSIGN_OR_RETURN(m.synth, audio::SpeechSynth::Create(m.config.synth));
    }
    synth = m.synth;
  }
  VOXGATE_ASSIGN_OR_RETURN(audio::SynthResult result,
                           synth->Synthesize(text, m.config.audio_rate_hz));
  const int64_t start =
      m.track->Append(SpeechSegment::FromSynth(result, text), m.audio_samples.load());
  return static_cast<double>(start) / m.config.audio_rate_hz;
}

Result<double> BroadcastSession::PlayFile(const std::string& path) {
  Impl& m = *impl_;
  if (m.media_done.load() || m.stop.load()) return UnavailableError("the broadcast has ended");
  audio::DecodeConfig dc;
  dc.target_sample_rate_hz = m.config.audio_rate_hz;
  VOXGATE_ASSIGN_OR_RETURN(audio::AudioClip clip, audio::DecodeFile(path, dc));
  const int64_t start =
      m.track->Append(SpeechSegment::FromClip(std::move(clip)), m.audio_samples.load());
  return static_cast<double>(start) / m.config.audio_rate_hz;
}

std::shared_ptr<LiveAudioInput> BroadcastSession::AddLiveInput(std::string label) {
  Impl& m = *impl_;
  auto input =
      std::make_shared<LiveAudioInput>(std::move(label), m.config.audio_rate_hz,
                                       m.config.live_prebuffer_ms, m.config.live_max_latency_ms);
  std::lock_guard lock(m.inputs_mu);
  auto next = std::make_shared<Impl::Inputs>(*m.inputs.load());
  next->push_back(input);
  m.inputs.store(std::move(next), std::memory_order_release);
  return input;
}

void BroadcastSession::RemoveLiveInput(const std::shared_ptr<LiveAudioInput>& input) {
  Impl& m = *impl_;
  std::lock_guard lock(m.inputs_mu);
  auto next = std::make_shared<Impl::Inputs>(*m.inputs.load());
  std::erase(*next, input);
  m.inputs.store(std::move(next), std::memory_order_release);
}

void BroadcastSession::SetPresenterName(std::string name) {
  if (name.size() > 200) name.resize(200);
  impl_->name.store(std::make_shared<const std::string>(std::move(name)),
                    std::memory_order_release);
}

std::string BroadcastSession::presenter_name() const {
  const std::shared_ptr<const std::string> shown = impl_->name.load(std::memory_order_acquire);
  return shown ? *shown : impl_->config.presenter_name;
}

Status BroadcastSession::PushVideoFrame(std::span<const uint8_t> bgra) {
  Impl& m = *impl_;
  if (m.config.video_source != "external") {
    return UnusableError("this broadcast draws its own pictures (video_source presenter)");
  }
  const size_t want = size_t(m.config.output.width) * m.config.output.height * 4;
  if (bgra.size() != want) {
    return InvalidArgumentError(fmt::format("a picture must be {}x{} BGRA ({} bytes), got {} bytes",
                                            m.config.output.width, m.config.output.height, want,
                                            bgra.size()));
  }
  {
    std::lock_guard lock(m.external_mu);
    m.external_frame.assign(bgra.begin(), bgra.end());
    m.external_fresh = true;
  }
  m.external_frames.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

Status BroadcastSession::Stop() {
  Impl& m = *impl_;
  std::lock_guard lock(m.stop_mu);
  if (m.stopped) return m.final_status;
  m.stopped = true;
  m.stop.store(true);
  if (m.media_thread.joinable()) m.media_thread.join();
  if (m.render_thread.joinable()) m.render_thread.join();
  // The output thread drains what the media thread queued. A reconnect in progress (possibly
  // "forever") is cancelled rather than waited for.
  while (m.output_thread.joinable() && !m.output_done.load()) {
    if (stats().state == "reconnecting") m.muxer->Cancel();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (m.output_thread.joinable()) m.output_thread.join();
  Status close = m.muxer->Close();
  m.bytes_sent.store(m.muxer->stats().bytes_written);
  m.written_drift_ms.store(m.muxer->WrittenDriftMs());
  {
    std::lock_guard state_lock(m.state_mu);
    if (m.error.ok() && !close.ok()) m.error = close;
    m.final_status = m.error;
    if (m.state != "failed") m.state = "stopped";
  }
  return m.final_status;
}

Status BroadcastSession::Wait() {
  Impl& m = *impl_;
  while (!m.media_done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return Stop();
}

bool BroadcastSession::Finished() const { return impl_->media_done.load(); }

BroadcastStats BroadcastSession::stats() const {
  const Impl& m = *impl_;
  BroadcastStats s;
  {
    std::lock_guard lock(m.state_mu);
    s.state = m.state;
    s.error = m.error.ok() ? "" : m.error.ToString();
  }
  s.stream_time_s = double(m.audio_samples.load()) / m.config.audio_rate_hz;
  s.frames_sent = m.frames_sent.load();
  s.frames_dropped = m.frames_dropped.load();
  s.frames_repeated = m.frames_repeated.load();
  s.queue_drops = m.queue_drops.load();
  s.drift_ms = m.drift_ms.load();
  s.written_drift_ms = m.written_drift_ms.load();
  s.bytes_sent = m.bytes_sent.load();
  s.reconnects = m.reconnects.load();
  const std::shared_ptr<const Impl::Inputs> live = m.inputs.load();
  s.live_inputs = static_cast<int>(live->size());
  for (const auto& in : *live) s.live_underruns += in->underruns();
  s.external_frames = m.external_frames.load();
  return s;
}

Result<std::string> BroadcastSession::PreviewPng(int max_width, int wait_ms) {
  Impl& m = *impl_;
  std::vector<uint8_t> copy;
  {
    std::unique_lock lock(m.preview_mu);
    const int64_t before = m.preview_index;
    m.preview_wanted.store(true, std::memory_order_relaxed);
    // A fresh picture, unless nothing is being sent any more: then the last one there is.
    if (!m.output_done.load()) {
      m.preview_cv.wait_for(lock, std::chrono::milliseconds(wait_ms),
                            [&] { return m.preview_index != before; });
    }
    if (m.preview.empty()) return NotFoundError("no picture has been sent yet");
    copy = m.preview;
  }
  const BroadcastConfig& out = m.config.output;
  return EncodePng(copy, out.width, out.height, out.width * 4, max_width);
}

}  // namespace voxgate::stream
