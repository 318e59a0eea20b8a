// EmbeddingModel: an ONNX speaker-embedding model (3D-Speaker CAM++/ERes2Net/ERes2NetV2, WeSpeaker,
// or Voxgate's starter model): fbank [1, T, 80] -> embedding [1, D]. One ONNX Runtime session,
// loaded once and immutable; Run() is safe to call from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "dsp/fbank.h"

namespace voxgate::voiceprint {

struct EmbeddingModelConfig {
  std::string model_path;  // .onnx file
  int num_threads = 1;     // ONNX Runtime intra-op threads per call
  // Overrides of the model's metadata; empty / <= 0 / "auto" keeps what the model says.
  int sample_rate_hz = 0;
  std::string feature_normalize_type = "auto";  // "global-mean" | "none" | "auto"
  std::string normalize_samples = "auto";       // "true" | "false" | "auto"

  Status Validate() const;
  std::string ToString() const;
};

/// What the model says about itself (ONNX metadata_props, as sherpa-onnx's exports carry), after
/// config overrides. Keys read: framework, sample_rate, output_dim, normalize_samples ("1"/"0";
/// WeSpeaker's older exports call it normalize_features), feature_normalize_type ("global-mean", or
/// ""/"none" for no mean subtraction; absent: global-mean), and Voxgate's "threshold". Absent keys
/// keep the defaults below; malformed values fail Create() (kInvalidArgument; an unknown
/// feature_normalize_type: kUnsupported).
struct ModelInfo {
  std::string id;  // stable identity recorded with every voiceprint: "<file stem>:<sha256[:12]>"
  std::string path;
  std::string framework;  // "3d-speaker", "wespeaker", "voxgate", ...
  int sample_rate_hz = 16000;
  int embedding_dim = 0;  // from a test run at load, checked against output shape and output_dim
  int feature_dim = 80;   // the input's last dimension when fixed
  bool normalize_samples = true;  // false: samples are scaled to int16 range before fbank
  bool global_mean_normalize = true;
  float threshold = 0.5f;  // calibrated decision threshold ("threshold" key), if any
  bool has_threshold = false;
  std::map<std::string, std::string> metadata;  // every key as found in the file
};

class EmbeddingModel {
 public:
  /// Loads the model (relative paths: cwd first, then the repo root), reads its metadata and runs
  /// it once on zeros. kNotFound: no file; kDataLoss: not ONNX / corrupt; kUnsupported: not fbank
  /// [1, T, F] -> [1, D]; kInvalidArgument: bad config or metadata.
  static Result<std::shared_ptr<EmbeddingModel>> Create(const EmbeddingModelConfig& config);
  ~EmbeddingModel();

  const ModelInfo& info() const;
  /// The fbank configuration this model expects (derived from info()).
  dsp::FbankConfig FbankConfigForModel() const;
  /// Raw model output (not L2-normalised, embedding_dim values) for [num_frames x feature_dim]
  /// features. Thread-safe. kInvalidArgument: wrong dim, data size or non-finite values;
  /// kUnusable: zero frames.
  Result<std::vector<float>> Run(const dsp::Features& features) const;

 private:
  struct Impl;
  explicit EmbeddingModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::voiceprint
