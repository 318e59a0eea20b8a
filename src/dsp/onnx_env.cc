#include "dsp/onnx_env.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

namespace voxgate::dsp {
namespace {

// ONNX Runtime calls this from any thread; spdlog's default logger is thread-safe.
void OrtLogToSpdlog(void* /*param*/, OrtLoggingLevel severity, const char* category,
                    const char* /*logid*/, const char* code_location, const char* message) {
  spdlog::level::level_enum level = spdlog::level::info;
  switch (severity) {
    case ORT_LOGGING_LEVEL_VERBOSE:
      level = spdlog::level::trace;
      break;
    case ORT_LOGGING_LEVEL_INFO:
      level = spdlog::level::debug;
      break;
    case ORT_LOGGING_LEVEL_WARNING:
      level = spdlog::level::warn;
      break;
    case ORT_LOGGING_LEVEL_ERROR:
      level = spdlog::level::err;
      break;
    case ORT_LOGGING_LEVEL_FATAL:
      level = spdlog::level::critical;
      break;
  }
  spdlog::log(level, "onnxruntime [{}] {} ({})", category ? category : "", message ? message : "",
              code_location ? code_location : "");
}

}  // namespace

Ort::Env& OnnxEnv() {
  // A function-local static: initialised once, thread-safe; if the constructor throws, the next
  // call tries again.
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "voxgate", OrtLogToSpdlog, nullptr);
  return env;
}

Status StatusFromOrtException(const Ort::Exception& e, std::string_view context) {
  std::string message = std::string(context) + ": " + e.what();
  switch (e.GetOrtErrorCode()) {
    case ORT_NO_SUCHFILE:
      return NotFoundError(std::move(message));
    case ORT_INVALID_PROTOBUF:
    case ORT_INVALID_GRAPH:
      return DataLossError(std::string(context) +
                           ": not a valid ONNX model (corrupt or truncated file?): " + e.what());
    case ORT_INVALID_ARGUMENT:
      return InvalidArgumentError(std::move(message));
    case ORT_NOT_IMPLEMENTED:
      return UnsupportedError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Result<std::string> ResolveModelPath(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return InvalidArgumentError("model path is empty");
  std::error_code ec;
  std::vector<fs::path> candidates{fs::path(path)};
  if (fs::path(path).is_relative()) candidates.push_back(fs::path(VOXGATE_SOURCE_DIR) / path);
  for (const fs::path& candidate : candidates) {
    if (!fs::exists(candidate, ec)) continue;
    if (!fs::is_regular_file(candidate, ec)) {
      return InvalidArgumentError("model path " + candidate.string() + " is not a regular file");
    }
    return candidate.lexically_normal().string();
  }
  std::string tried = candidates.front().string();
  if (candidates.size() > 1) tried += " or " + candidates.back().lexically_normal().string();
  return NotFoundError("model file not found: " + tried);
}

Result<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::string bytes;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return DataLossError("cannot read " + path);
  bytes.resize(static_cast<size_t>(size));
  in.seekg(0, std::ios::beg);
  if (size > 0 && !in.read(bytes.data(), size)) return DataLossError("cannot read " + path);
  return bytes;
}

Result<std::unique_ptr<Ort::Session>> CreateOnnxSession(std::string_view model_bytes,
                                                        std::string_view name, int num_threads) {
  const std::string context = "loading ONNX model " + std::string(name);
  if (model_bytes.empty()) return DataLossError(context + ": the file is empty");
  try {
    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(num_threads);
    options.SetInterOpNumThreads(1);
    options.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
    options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    return std::make_unique<Ort::Session>(OnnxEnv(), model_bytes.data(), model_bytes.size(),
                                          options);
  } catch (const Ort::Exception& e) {
    return StatusFromOrtException(e, context);
  } catch (const std::exception& e) {
    return InternalError(context + ": " + e.what());
  }
}

}  // namespace voxgate::dsp
