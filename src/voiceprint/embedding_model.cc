#include "voiceprint/embedding_model.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <locale>
#include <sstream>
#include <utility>

#include "dsp/onnx_env.h"

namespace voxgate::voiceprint {
namespace {

// Frames of zeros run once at load: proves the model runs and gives the embedding size when
// neither the graph nor the metadata states it. 200 frames = 2 s, enough for any downsampling.
constexpr int kProbeFrames = 200;

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * static_cast<size_t>(size));
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

Result<int> ParseInt(const std::string& key, const std::string& raw) {
  const std::string s = Trim(raw);
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return InvalidArgumentError("metadata " + key + "=\"" + raw + "\" is not an integer");
  }
  return value;
}

Result<bool> ParseBool(const std::string& key, const std::string& raw) {
  const std::string s = Trim(raw);
  if (s == "1" || s == "true" || s == "True") return true;
  if (s == "0" || s == "false" || s == "False") return false;
  return InvalidArgumentError("metadata " + key + "=\"" + raw + "\" is not 0/1");
}

Result<float> ParseFloat(const std::string& key, const std::string& raw) {
  const std::string s = Trim(raw);
  // std::from_chars for float is in GCC 11+, but strtof is locale-dependent; istringstream with the
  // classic locale is not.
  std::istringstream in(s);
  in.imbue(std::locale::classic());
  float value = 0.0f;
  in >> value;
  if (s.empty() || in.fail() || !in.eof() || !std::isfinite(value)) {
    return InvalidArgumentError("metadata " + key + "=\"" + raw + "\" is not a number");
  }
  return value;
}

// Fills `info` from the metadata map (sherpa-onnx's speaker-embedding keys plus "threshold").
Status ParseMetadata(ModelInfo* info, int* metadata_output_dim) {
  const auto& md = info->metadata;
  auto find = [&](const char* key) -> const std::string* {
    auto it = md.find(key);
    return it == md.end() ? nullptr : &it->second;
  };
  info->framework = "unknown";
  if (const auto* v = find("framework"); v && !Trim(*v).empty()) info->framework = Trim(*v);
  if (const auto* v = find("sample_rate")) {
    VOXGATE_ASSIGN_OR_RETURN(info->sample_rate_hz, ParseInt("sample_rate", *v));
    if (info->sample_rate_hz < 4000 || info->sample_rate_hz > 192000) {
      return InvalidArgumentError("metadata sample_rate=" + *v + " is out of range");
    }
  }
  if (const auto* v = find("output_dim")) {
    VOXGATE_ASSIGN_OR_RETURN(*metadata_output_dim, ParseInt("output_dim", *v));
    if (*metadata_output_dim <= 0) return InvalidArgumentError("metadata output_dim must be > 0");
  }
  // "normalize_features" is what WeSpeaker's original sherpa-onnx export script wrote.
  if (const auto* v = find("normalize_samples")) {
    VOXGATE_ASSIGN_OR_RETURN(info->normalize_samples, ParseBool("normalize_samples", *v));
  } else if (const auto* v2 = find("normalize_features")) {
    VOXGATE_ASSIGN_OR_RETURN(info->normalize_samples, ParseBool("normalize_features", *v2));
  }
  if (const auto* v = find("feature_normalize_type")) {
    const std::string type = Trim(*v);
    if (type == "global-mean") {
      info->global_mean_normalize = true;
    } else if (type.empty() || type == "none") {
      info->global_mean_normalize = false;
    } else {
      return UnsupportedError("metadata feature_normalize_type=\"" + type +
                              "\" is not supported (global-mean or empty)");
    }
  }
  if (const auto* v = find("threshold")) {
    VOXGATE_ASSIGN_OR_RETURN(info->threshold, ParseFloat("threshold", *v));
    info->has_threshold = true;
  }
  return Status::Ok();
}

void ApplyOverrides(const EmbeddingModelConfig& config, ModelInfo* info) {
  if (config.sample_rate_hz > 0) info->sample_rate_hz = config.sample_rate_hz;
  if (config.feature_normalize_type == "global-mean") info->global_mean_normalize = true;
  if (config.feature_normalize_type == "none") info->global_mean_normalize = false;
  if (config.normalize_samples == "true") info->normalize_samples = true;
  if (config.normalize_samples == "false") info->normalize_samples = false;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EmbeddingModelConfig

Status EmbeddingModelConfig::Validate() const {
  if (model_path.empty()) return InvalidArgumentError("model_path is empty");
  if (num_threads < 1 || num_threads > 256) {
    return InvalidArgumentError("num_threads must be in [1, 256], got " +
                                std::to_string(num_threads));
  }
  if (sample_rate_hz < 0 || (sample_rate_hz > 0 && sample_rate_hz < 4000) ||
      sample_rate_hz > 192000) {
    return InvalidArgumentError("sample_rate_hz must be 0 (from the model) or in [4000, 192000]");
  }
  if (feature_normalize_type != "auto" && feature_normalize_type != "global-mean" &&
      feature_normalize_type != "none") {
    return InvalidArgumentError("feature_normalize_type must be auto, global-mean or none, got \"" +
                                feature_normalize_type + "\"");
  }
  if (normalize_samples != "auto" && normalize_samples != "true" && normalize_samples != "false") {
    return InvalidArgumentError("normalize_samples must be auto, true or false, got \"" +
                                normalize_samples + "\"");
  }
  return Status::Ok();
}

std::string EmbeddingModelConfig::ToString() const {
  std::ostringstream os;
  os << "EmbeddingModelConfig(model_path=\"" << model_path << "\", num_threads=" << num_threads
     << ", sample_rate_hz=" << sample_rate_hz << (sample_rate_hz <= 0 ? " (model)" : "")
     << ", feature_normalize_type=" << feature_normalize_type
     << ", normalize_samples=" << normalize_samples << ")";
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// EmbeddingModel

struct EmbeddingModel::Impl {
  EmbeddingModelConfig config;
  ModelInfo info;
  std::unique_ptr<Ort::Session> session;  // Run() is thread-safe
  std::string input_name;
  std::string output_name;
  std::string context;  // "speaker model <stem>" for messages

  // Runs the session on [num_frames x feature_dim] features; returns the flattened output.
  Result<std::vector<float>> Infer(const float* data, int num_frames) const {
    try {
      auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      const std::array<int64_t, 3> shape{1, num_frames, info.feature_dim};
      // ONNX Runtime does not write to inputs; the API just has no const overload.
      Ort::Value input = Ort::Value::CreateTensor<float>(
          mem, const_cast<float*>(data), static_cast<size_t>(num_frames) * info.feature_dim,
          shape.data(), shape.size());
      const char* input_names[] = {input_name.c_str()};
      const char* output_names[] = {output_name.c_str()};
      std::vector<Ort::Value> outputs =
          session->Run(Ort::RunOptions{nullptr}, input_names, &input, 1, output_names, 1);
      if (outputs.size() != 1 || !outputs[0].IsTensor()) {
        return InternalError(context + ": the model returned no tensor");
      }
      auto type_info = outputs[0].GetTensorTypeAndShapeInfo();
      if (type_info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
        return UnsupportedError(context + ": output is not float32");
      }
      const std::vector<int64_t> out_shape = type_info.GetShape();
      if (out_shape.empty() || out_shape.size() > 2 ||
          (out_shape.size() == 2 && out_shape[0] != 1)) {
        return UnsupportedError(context + ": output shape " + ShapeString(out_shape) +
                                " is not [1, D]");
      }
      const float* out = outputs[0].GetTensorData<float>();
      return std::vector<float>(out, out + type_info.GetElementCount());
    } catch (const Ort::Exception& e) {
      return dsp::StatusFromOrtException(e, context);
    } catch (const std::exception& e) {
      return InternalError(context + ": " + e.what());
    }
  }
};

EmbeddingModel::EmbeddingModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmbeddingModel::~EmbeddingModel() = default;

const ModelInfo& EmbeddingModel::info() const { return impl_->info; }

Result<std::shared_ptr<EmbeddingModel>> EmbeddingModel::Create(const EmbeddingModelConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  ModelInfo& info = impl->info;
  VOXGATE_ASSIGN_OR_RETURN(info.path, dsp::ResolveModelPath(config.model_path));
  const std::string stem = std::filesystem::path(info.path).stem().string();
  impl->context = "speaker model " + info.path;
  VOXGATE_ASSIGN_OR_RETURN(std::string bytes, dsp::ReadFileBytes(info.path));
  const std::string sha = Sha256Hex(bytes);
  if (sha.empty()) return InternalError(impl->context + ": sha256 failed");
  info.id = stem + ":" + sha.substr(0, 12);
  VOXGATE_ASSIGN_OR_RETURN(impl->session,
                           dsp::CreateOnnxSession(bytes, info.path, config.num_threads));
  bytes = std::string();  // the session keeps its own copy of the weights

  int shape_output_dim = -1;
  int metadata_output_dim = -1;
  int probe_frames = kProbeFrames;
  try {
    Ort::Session& session = *impl->session;
    if (session.GetInputCount() != 1) {
      return UnsupportedError(impl->context + ": expected one input (fbank [1, T, F]), found " +
                              std::to_string(session.GetInputCount()));
    }
    if (session.GetOutputCount() < 1) return UnsupportedError(impl->context + ": no output");
    impl->input_name = session.GetInputNames().front();
    impl->output_name = session.GetOutputNames().front();

    // The shape info is a view into the TypeInfo, which must outlive it.
    const Ort::TypeInfo in_type = session.GetInputTypeInfo(0);
    const Ort::TypeInfo out_type = session.GetOutputTypeInfo(0);
    if (in_type.GetONNXType() != ONNX_TYPE_TENSOR || out_type.GetONNXType() != ONNX_TYPE_TENSOR) {
      return UnsupportedError(impl->context + ": input and output must be tensors");
    }
    auto in_info = in_type.GetTensorTypeAndShapeInfo();
    const std::vector<int64_t> in_shape = in_info.GetShape();
    if (in_info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      return UnsupportedError(impl->context + ": input \"" + impl->input_name +
                              "\" is not float32");
    }
    if (in_shape.size() != 3 || (in_shape[0] > 1)) {
      return UnsupportedError(impl->context + ": input \"" + impl->input_name + "\" has shape " +
                              ShapeString(in_shape) + ", expected [1, T, feature_dim]");
    }
    if (in_shape[2] > 0) info.feature_dim = static_cast<int>(in_shape[2]);
    if (in_shape[1] > 0) probe_frames = static_cast<int>(in_shape[1]);  // a fixed-length model

    const std::vector<int64_t> out_shape = out_type.GetTensorTypeAndShapeInfo().GetShape();
    if (out_shape.size() == 2 && out_shape[1] > 0) {
      shape_output_dim = static_cast<int>(out_shape[1]);
    }
    if (out_shape.size() > 2) {
      return UnsupportedError(impl->context + ": output \"" + impl->output_name + "\" has shape " +
                              ShapeString(out_shape) + ", expected [1, D]");
    }

    Ort::AllocatorWithDefaultOptions allocator;
    Ort::ModelMetadata metadata = session.GetModelMetadata();
    for (const auto& key : metadata.GetCustomMetadataMapKeysAllocated(allocator)) {
      auto value = metadata.LookupCustomMetadataMapAllocated(key.get(), allocator);
      info.metadata[key.get()] = value ? value.get() : "";
    }
  } catch (const Ort::Exception& e) {
    return dsp::StatusFromOrtException(e, impl->context);
  }
  VOXGATE_RETURN_IF_ERROR(ParseMetadata(&info, &metadata_output_dim).WithContext(impl->context));
  ApplyOverrides(config, &info);

  // The probe run: the model must run on features of the declared size and say how big its
  // embedding is; the graph's and the metadata's claims must agree with it.
  std::vector<float> zeros(static_cast<size_t>(probe_frames) * info.feature_dim, 0.0f);
  auto probe = impl->Infer(zeros.data(), probe_frames);
  if (!probe.ok()) return probe.status().WithContext("test run at load");
  const int dim = static_cast<int>(probe->size());
  if (shape_output_dim > 0 && shape_output_dim != dim) {
    return InternalError(impl->context + ": output declared with " +
                         std::to_string(shape_output_dim) + " values, produced " +
                         std::to_string(dim));
  }
  if (metadata_output_dim > 0 && metadata_output_dim != dim) {
    return InvalidArgumentError(impl->context +
                                ": metadata output_dim=" + std::to_string(metadata_output_dim) +
                                " but the model produces " + std::to_string(dim) + " values");
  }
  info.embedding_dim = dim;
  return std::shared_ptr<EmbeddingModel>(new EmbeddingModel(std::move(impl)));
}

dsp::FbankConfig EmbeddingModel::FbankConfigForModel() const {
  dsp::FbankConfig fbank;
  fbank.sample_rate_hz = impl_->info.sample_rate_hz;
  fbank.num_mel_bins = impl_->info.feature_dim;
  fbank.scale_to_int16 = !impl_->info.normalize_samples;
  fbank.mean_normalize = impl_->info.global_mean_normalize;
  return fbank;
}

Result<std::vector<float>> EmbeddingModel::Run(const dsp::Features& features) const {
  const ModelInfo& info = impl_->info;
  if (features.dim != info.feature_dim) {
    return InvalidArgumentError("features have dimension " + std::to_string(features.dim) +
                                ", the model " + info.id + " expects " +
                                std::to_string(info.feature_dim));
  }
  if (features.num_frames <= 0) {
    return UnusableError("no feature frames: the audio is shorter than one frame");
  }
  if (features.data.size() != static_cast<size_t>(features.num_frames) * features.dim) {
    return InvalidArgumentError(
        "features hold " + std::to_string(features.data.size()) +
        " values, not num_frames x dim = " + std::to_string(features.num_frames) + " x " +
        std::to_string(features.dim));
  }
  for (float v : features.data) {
    if (!std::isfinite(v)) return InvalidArgumentError("features contain NaN or infinity");
  }
  VOXGATE_ASSIGN_OR_RETURN(std::vector<float> embedding,
                           impl_->Infer(features.data.data(), features.num_frames));
  if (static_cast<int>(embedding.size()) != info.embedding_dim) {
    return InternalError(impl_->context + ": produced " + std::to_string(embedding.size()) +
                         " values, expected " + std::to_string(info.embedding_dim));
  }
  for (float v : embedding) {
    if (!std::isfinite(v)) return InternalError(impl_->context + ": non-finite embedding");
  }
  return embedding;
}

}  // namespace voxgate::voiceprint
