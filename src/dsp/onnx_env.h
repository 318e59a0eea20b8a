// Shared ONNX Runtime plumbing for the modules that run models (dsp: Silero VAD; voiceprint:
// speaker embedding models): the process-wide Ort::Env, model file resolution and loading, and the
// mapping of Ort::Exception to Status. Internal to Voxgate: only targets that link
// onnxruntime::onnxruntime may include it. Every function here is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "onnxruntime_cxx_api.h"

namespace voxgate::dsp {

/// The one ONNX Runtime environment of the process, created on first use (thread-safe), logging at
/// warning level and above through spdlog. May throw Ort::Exception on first use: call it inside a
/// try block that turns the exception into a Status (StatusFromOrtException).
Ort::Env& OnnxEnv();

/// Maps an ONNX Runtime error to a Status, prefixed with `context` ("loading x.onnx: ...").
/// Protobuf and graph errors become kDataLoss (corrupt or not an ONNX file), a missing file
/// kNotFound, an unimplemented operator kUnsupported, bad arguments kInvalidArgument, the rest
/// kInternal.
Status StatusFromOrtException(const Ort::Exception& e, std::string_view context);

/// Resolves a model path: absolute paths as given; relative paths against the working directory
/// first, then against the repository root (VOXGATE_SOURCE_DIR). kNotFound when neither exists.
Result<std::string> ResolveModelPath(const std::string& path);

/// Reads a whole file into memory (models are loaded from memory so they can also be hashed).
Result<std::string> ReadFileBytes(const std::string& path);

/// Creates a CPU session from an in-memory model: intra-op threads = num_threads, inter-op 1,
/// sequential execution, all graph optimisations. `name` is used in error messages only.
/// Never throws.
Result<std::unique_ptr<Ort::Session>> CreateOnnxSession(std::string_view model_bytes,
                                                        std::string_view name, int num_threads);

}  // namespace voxgate::dsp
