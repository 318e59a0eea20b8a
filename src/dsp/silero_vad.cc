#include "dsp/silero_vad.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>
#include <sstream>
#include <utility>

#include "dsp/onnx_env.h"

namespace voxgate::dsp {
namespace {

constexpr int kStateSize = 2 * 1 * 128;  // Silero v5 recurrent state [2, 1, 128]

float EffectiveNegThreshold(const VadConfig& c) {
  return c.neg_threshold >= 0.0f ? c.neg_threshold : std::max(c.threshold - 0.15f, 0.01f);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// VadConfig

Status VadConfig::Validate() const {
  if (model_path.empty()) return InvalidArgumentError("vad.model_path is empty");
  if (sample_rate_hz != 8000 && sample_rate_hz != 16000) {
    return InvalidArgumentError("vad.sample_rate_hz must be 8000 or 16000, got " +
                                std::to_string(sample_rate_hz));
  }
  if (!(threshold > 0.0f && threshold < 1.0f)) {
    return InvalidArgumentError("vad.threshold must be in (0, 1), got " +
                                std::to_string(threshold));
  }
  if (neg_threshold >= 0.0f && !(neg_threshold > 0.0f && neg_threshold <= threshold)) {
    return InvalidArgumentError("vad.neg_threshold must be < 0 (auto) or in (0, threshold], got " +
                                std::to_string(neg_threshold));
  }
  if (min_speech_ms < 0) return InvalidArgumentError("vad.min_speech_ms must be >= 0");
  if (min_silence_ms < 0) return InvalidArgumentError("vad.min_silence_ms must be >= 0");
  if (speech_pad_ms < 0) return InvalidArgumentError("vad.speech_pad_ms must be >= 0");
  if (num_threads < 1 || num_threads > 256) {
    return InvalidArgumentError("vad.num_threads must be in [1, 256], got " +
                                std::to_string(num_threads));
  }
  return Status::Ok();
}

std::string VadConfig::ToString() const {
  std::ostringstream os;
  os << "VadConfig(model_path=\"" << model_path << "\", sample_rate_hz=" << sample_rate_hz
     << ", threshold=" << threshold << ", neg_threshold=" << neg_threshold;
  if (neg_threshold < 0.0f) os << " (auto: " << EffectiveNegThreshold(*this) << ")";
  os << ", min_speech_ms=" << min_speech_ms << ", min_silence_ms=" << min_silence_ms
     << ", speech_pad_ms=" << speech_pad_ms << ", num_threads=" << num_threads << ")";
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// The shared, immutable model.

namespace {

struct VadModel {
  VadConfig config;
  std::string resolved_path;
  std::unique_ptr<Ort::Session> session;  // Run() is thread-safe
  std::string output_prob_name;
  std::string output_state_name;

  int window = 512;  // samples per model call
  int context = 64;  // samples of the previous window prepended to each call
  float neg_threshold = 0.35f;
  int64_t min_speech_samples = 0;
  int64_t min_silence_samples = 0;
  int64_t pad_samples = 0;
};

// Per-stream state: the model's recurrent state and context, the window being filled, and the
// segmentation state machine of Silero's get_speech_timestamps() made causal. Not thread-safe.
//
// get_speech_timestamps() first finds raw segments ([start of the window that crossed threshold,
// start of the window where a long-enough silence began)), keeps those longer than
// min_speech_samples, then pads them: the first start by pad, each gap between neighbours by pad
// on each side, or split in the middle when the gap is shorter than 2 * pad, and the last end by
// pad clamped to the clip. This class emits exactly those segments, each as soon as its padded
// end can no longer change: with the defaults (min_silence >= 2 * pad) that is the moment it
// closes, i.e. min_silence_ms after speech ends.
class VadCore {
 public:
  explicit VadCore(const VadModel& model) : m_(model) {
    input_.assign(static_cast<size_t>(m_.context) + static_cast<size_t>(m_.window), 0.0f);
    sr_ = m_.config.sample_rate_hz;
    auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    const std::array<int64_t, 2> input_shape{1, m_.context + m_.window};
    const std::array<int64_t, 3> state_shape{2, 1, 128};
    const std::array<int64_t, 2> prob_shape{1, 1};
    input_value_ = Ort::Value::CreateTensor<float>(mem, input_.data(), input_.size(),
                                                   input_shape.data(), input_shape.size());
    for (int i = 0; i < 2; ++i) {
      state_[i].fill(0.0f);
      state_value_[i] = Ort::Value::CreateTensor<float>(mem, state_[i].data(), state_[i].size(),
                                                        state_shape.data(), state_shape.size());
    }
    sr_value_ = Ort::Value::CreateTensor<int64_t>(mem, &sr_, 1, nullptr, 0);  // scalar
    prob_value_ =
        Ort::Value::CreateTensor<float>(mem, &prob_, 1, prob_shape.data(), prob_shape.size());
  }

  void Reset() {
    std::fill(input_.begin(), input_.end(), 0.0f);
    state_[0].fill(0.0f);
    state_[1].fill(0.0f);
    cur_state_ = 0;
    prob_ = 0.0f;
    last_prob_ = 0.0f;
    pending_ = 0;
    samples_seen_ = 0;
    next_window_pos_ = 0;
    triggered_ = false;
    temp_end_ = 0;
    cur_start_ = 0;
    open_padded_start_.reset();
    held_.reset();
  }

  float last_probability() const { return last_prob_; }
  bool in_speech() const { return triggered_; }

  // Appends samples; emits finalised segments into `out`.
  Status Accept(std::span<const float> samples, std::vector<SpeechSegment>* out) {
    size_t i = 0;
    while (i < samples.size()) {
      const size_t n = std::min(samples.size() - i, static_cast<size_t>(m_.window - pending_));
      std::copy_n(samples.data() + i, n, input_.data() + m_.context + pending_);
      pending_ += static_cast<int>(n);
      samples_seen_ += static_cast<int64_t>(n);
      i += n;
      if (pending_ == m_.window) VOXGATE_RETURN_IF_ERROR(ProcessWindow(out));
    }
    return Status::Ok();
  }

  // Ends the stream: runs the zero-padded partial window, closes the open segment, emits the rest.
  // The core is reset afterwards. On an inference error the partial window is not counted.
  Status Flush(std::vector<SpeechSegment>* out) {
    Status status;
    if (pending_ > 0) {
      std::fill(input_.begin() + m_.context + pending_, input_.end(), 0.0f);
      pending_ = m_.window;
      status = ProcessWindow(out);
    }
    const int64_t total = samples_seen_;
    if (triggered_ && total - cur_start_ > m_.min_speech_samples) {
      Register(out);
      held_ = Held{*open_padded_start_, total};
    }
    if (held_) out->push_back({held_->padded_start, std::min(total, held_->end + m_.pad_samples)});
    Reset();
    return status;
  }

 private:
  struct Held {
    int64_t padded_start;
    int64_t end;  // raw end: start of the silence that closed it
  };

  Status ProcessWindow(std::vector<SpeechSegment>* out) {
    const int64_t pos = next_window_pos_;
    const int next = 1 - cur_state_;
    try {
      static constexpr std::array<const char*, 3> kInputNames{"input", "state", "sr"};
      const std::array<const char*, 2> output_names{m_.output_prob_name.c_str(),
                                                    m_.output_state_name.c_str()};
      std::array<Ort::Value, 3> inputs{std::move(input_value_), std::move(state_value_[cur_state_]),
                                       std::move(sr_value_)};
      std::array<Ort::Value, 2> outputs{std::move(prob_value_), std::move(state_value_[next])};
      Status run_status;
      try {
        m_.session->Run(Ort::RunOptions{nullptr}, kInputNames.data(), inputs.data(), inputs.size(),
                        output_names.data(), outputs.data(), outputs.size());
      } catch (const Ort::Exception& e) {
        run_status = StatusFromOrtException(e, "silero vad inference");
      }
      // Hand the preallocated tensors back before anything else.
      input_value_ = std::move(inputs[0]);
      state_value_[cur_state_] = std::move(inputs[1]);
      sr_value_ = std::move(inputs[2]);
      prob_value_ = std::move(outputs[0]);
      state_value_[next] = std::move(outputs[1]);
      VOXGATE_RETURN_IF_ERROR(run_status);
    } catch (const std::exception& e) {
      return InternalError(std::string("silero vad inference: ") + e.what());
    }
    cur_state_ = next;
    // The last `context` samples of this call are the context of the next.
    std::copy(input_.end() - m_.context, input_.end(), input_.begin());
    pending_ = 0;
    next_window_pos_ += m_.window;
    last_prob_ = prob_;
    Step(prob_, pos, out);
    return Status::Ok();
  }

  // One window of get_speech_timestamps(), `pos` being the window's first sample.
  void Step(float prob, int64_t pos, std::vector<SpeechSegment>* out) {
    if (prob >= m_.config.threshold && temp_end_ != 0) temp_end_ = 0;
    if (prob >= m_.config.threshold && !triggered_) {
      triggered_ = true;
      cur_start_ = pos;
      open_padded_start_.reset();
    } else if (prob < m_.neg_threshold && triggered_) {
      if (temp_end_ == 0) temp_end_ = pos;
      if (pos - temp_end_ >= m_.min_silence_samples) {
        if (temp_end_ - cur_start_ > m_.min_speech_samples) {
          Register(out);
          held_ = Held{*open_padded_start_, temp_end_};
        }
        triggered_ = false;
        temp_end_ = 0;
        open_padded_start_.reset();
      }
    }
    // An open segment is certain to be kept once its end cannot come early enough to be too short.
    if (triggered_ && !open_padded_start_) {
      // A later temp_end_ is at least the next window; the end at Flush() is the stream length.
      const int64_t min_end =
          temp_end_ != 0 ? temp_end_ : std::min(next_window_pos_, samples_seen_);
      if (min_end - cur_start_ > m_.min_speech_samples) Register(out);
    }
    // The held segment's end is final once no kept segment can start within 2 * pad of it and the
    // stream has reached its padded end (so the clamp to the clip length cannot apply).
    if (held_) {
      const int64_t earliest_next = triggered_ ? cur_start_ : next_window_pos_;
      if (!(triggered_ && open_padded_start_) && earliest_next - held_->end >= 2 * m_.pad_samples &&
          samples_seen_ >= held_->end + m_.pad_samples) {
        out->push_back({held_->padded_start, held_->end + m_.pad_samples});
        held_.reset();
      }
    }
  }

  // The open segment (starting at cur_start_) is known to be kept: pad its start, which also fixes
  // the end of the held segment before it.
  void Register(std::vector<SpeechSegment>* out) {
    if (open_padded_start_) return;
    if (!held_) {
      open_padded_start_ = std::max<int64_t>(0, cur_start_ - m_.pad_samples);
      return;
    }
    const int64_t gap = cur_start_ - held_->end;
    if (gap < 2 * m_.pad_samples) {
      out->push_back({held_->padded_start, held_->end + gap / 2});
      open_padded_start_ = std::max<int64_t>(0, cur_start_ - gap / 2);
    } else {
      out->push_back({held_->padded_start, held_->end + m_.pad_samples});
      open_padded_start_ = std::max<int64_t>(0, cur_start_ - m_.pad_samples);
    }
    held_.reset();
  }

  const VadModel& m_;
  // Model I/O: preallocated buffers wrapped once in tensors; the two state buffers alternate as
  // input and output so Run() writes in place.
  std::vector<float> input_;  // [context | window]
  std::array<std::array<float, kStateSize>, 2> state_{};
  int cur_state_ = 0;
  int64_t sr_ = 16000;
  float prob_ = 0.0f;
  Ort::Value input_value_{nullptr};
  std::array<Ort::Value, 2> state_value_{Ort::Value{nullptr}, Ort::Value{nullptr}};
  Ort::Value sr_value_{nullptr};
  Ort::Value prob_value_{nullptr};

  float last_prob_ = 0.0f;
  int pending_ = 0;              // samples of the current window received so far
  int64_t samples_seen_ = 0;     // stream length so far
  int64_t next_window_pos_ = 0;  // first sample of the next window to run
  // get_speech_timestamps() state.
  bool triggered_ = false;
  int64_t temp_end_ = 0;  // 0: unset (a segment can never end at sample 0)
  int64_t cur_start_ = 0;
  // Padding state.
  std::optional<int64_t> open_padded_start_;  // set once the open segment is known to be kept
  std::optional<Held> held_;                  // closed, kept, end padding not yet final
};

}  // namespace

struct SileroVad::Impl {
  VadModel model;
};

// ---------------------------------------------------------------------------------------------
// SileroVad

SileroVad::SileroVad(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SileroVad::~SileroVad() = default;

const VadConfig& SileroVad::config() const { return impl_->model.config; }

Result<std::shared_ptr<SileroVad>> SileroVad::Create(const VadConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  VadModel& m = impl->model;
  m.config = config;
  VOXGATE_ASSIGN_OR_RETURN(m.resolved_path, ResolveModelPath(config.model_path));
  const std::string context = "silero vad model " + m.resolved_path;
  VOXGATE_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(m.resolved_path));
  VOXGATE_ASSIGN_OR_RETURN(m.session,
                           CreateOnnxSession(bytes, m.resolved_path, config.num_threads));
  try {
    const std::vector<std::string> inputs = m.session->GetInputNames();
    const std::vector<std::string> outputs = m.session->GetOutputNames();
    auto has = [&](const char* name) {
      return std::find(inputs.begin(), inputs.end(), name) != inputs.end();
    };
    if (inputs.size() != 3 || !has("input") || !has("state") || !has("sr") || outputs.size() != 2) {
      std::string names;
      for (const auto& n : inputs) names += (names.empty() ? "" : ", ") + n;
      return UnsupportedError(context +
                              ": not a Silero VAD v5 model (expected inputs input, "
                              "state, sr and 2 outputs; found inputs " +
                              names + ")");
    }
    m.output_prob_name = outputs[0];
    m.output_state_name = outputs[1];
  } catch (const Ort::Exception& e) {
    return StatusFromOrtException(e, context);
  }
  const int64_t sr = config.sample_rate_hz;
  m.window = sr == 16000 ? 512 : 256;
  m.context = sr == 16000 ? 64 : 32;
  m.neg_threshold = EffectiveNegThreshold(config);
  m.min_speech_samples = sr * config.min_speech_ms / 1000;
  m.min_silence_samples = sr * config.min_silence_ms / 1000;
  m.pad_samples = sr * config.speech_pad_ms / 1000;

  auto vad = std::shared_ptr<SileroVad>(new SileroVad(std::move(impl)));
  // One window through the model proves it runs with these inputs before anyone relies on it.
  std::vector<float> probe(static_cast<size_t>(vad->impl_->model.window), 0.0f);
  auto probe_result = vad->Detect(probe);
  if (!probe_result.ok()) return probe_result.status().WithContext(context);
  return vad;
}

Result<std::vector<SpeechSegment>> SileroVad::Detect(std::span<const float> samples) const {
  std::vector<SpeechSegment> segments;
  try {
    VadCore core(impl_->model);
    VOXGATE_RETURN_IF_ERROR(core.Accept(samples, &segments));
    VOXGATE_RETURN_IF_ERROR(core.Flush(&segments));
  } catch (const Ort::Exception& e) {
    return StatusFromOrtException(e, "silero vad");
  } catch (const std::exception& e) {
    return InternalError(std::string("silero vad: ") + e.what());
  }
  return segments;
}

// ---------------------------------------------------------------------------------------------
// VadStream

struct VadStream::State {
  std::shared_ptr<const SileroVad> vad;
  std::unique_ptr<VadCore> core;
  Status error;  // set when the stream could not be set up
};

VadStream::VadStream(std::shared_ptr<const SileroVad> vad) : state_(std::make_unique<State>()) {
  state_->vad = std::move(vad);
  if (!state_->vad) {
    state_->error = InvalidArgumentError("VadStream needs a SileroVad");
    return;
  }
  try {
    state_->core = std::make_unique<VadCore>(state_->vad->impl_->model);
  } catch (const Ort::Exception& e) {
    state_->error = StatusFromOrtException(e, "silero vad stream");
  } catch (const std::exception& e) {
    state_->error = InternalError(std::string("silero vad stream: ") + e.what());
  }
}

VadStream::~VadStream() = default;

Result<std::vector<SpeechSegment>> VadStream::Accept(std::span<const float> samples) {
  if (!state_->error.ok()) return state_->error;
  std::vector<SpeechSegment> segments;
  VOXGATE_RETURN_IF_ERROR(state_->core->Accept(samples, &segments));
  return segments;
}

std::vector<SpeechSegment> VadStream::Flush() {
  std::vector<SpeechSegment> segments;
  if (!state_->error.ok()) return segments;
  Status status = state_->core->Flush(&segments);
  // Only the zero-padded final partial window can fail here; it then counts as silence.
  if (!status.ok()) spdlog::warn("silero vad flush: {}", status.ToString());
  return segments;
}

bool VadStream::in_speech() const { return state_->core && state_->core->in_speech(); }

float VadStream::last_probability() const {
  return state_->core ? state_->core->last_probability() : 0.0f;
}

void VadStream::Reset() {
  if (state_->core) state_->core->Reset();
}

// ---------------------------------------------------------------------------------------------

std::vector<float> KeepSegments(std::span<const float> samples,
                                const std::vector<SpeechSegment>& segments) {
  std::vector<float> kept;
  size_t total = 0;
  for (const SpeechSegment& s : segments) {
    if (s.end_sample > s.start_sample) total += static_cast<size_t>(s.end_sample - s.start_sample);
  }
  kept.reserve(total);
  const auto n = static_cast<int64_t>(samples.size());
  for (const SpeechSegment& s : segments) {
    const int64_t begin = std::clamp<int64_t>(s.start_sample, 0, n);
    const int64_t end = std::clamp<int64_t>(s.end_sample, begin, n);
    kept.insert(kept.end(), samples.begin() + begin, samples.begin() + end);
  }
  return kept;
}

}  // namespace voxgate::dsp
