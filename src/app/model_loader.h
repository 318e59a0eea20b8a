// Builds the Embedder the CLI commands share, from command-line model options.
#pragma once

#include <memory>

#include "app/commands.h"
#include "common/result.h"
#include "voiceprint/calibration.h"
#include "voiceprint/embedder.h"

namespace voxgate::app {

Result<std::shared_ptr<voiceprint::Embedder>> LoadEmbedder(const ModelOptions& options);

/// The model's calibrated threshold, or kFallbackThreshold when the model carries none.
double DefaultThreshold(const voiceprint::ModelInfo& info);
inline constexpr double kFallbackThreshold = 0.5;

/// The model's calibration: `path`, else `<model stem>.calibration.json` beside the model when it
/// exists, else uncalibrated (the metadata threshold). "none": uncalibrated.
Result<voiceprint::Calibration> LoadCalibration(const voiceprint::ModelInfo& info,
                                                const std::string& path = "");

/// Prints "voxgate: <message> (<code>)" on stderr and returns exit status 1.
int Fail(const Status& status);

}  // namespace voxgate::app
