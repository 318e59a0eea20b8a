// PNG encoding of a BGRA picture (the broadcaster's frames), scaled down to a preview size, with
// cairo. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"

namespace voxgate::stream {

/// The picture (width x height pixels, `stride` bytes a row, B G R A bytes per pixel as cairo's
/// ARGB32 on little-endian machines) as a PNG at most `max_width` pixels wide (the aspect ratio
/// kept; never scaled up). kInvalidArgument for a size that does not match `bgra`.
Result<std::string> EncodePng(std::span<const uint8_t> bgra, int width, int height, int stride,
                              int max_width);

}  // namespace voxgate::stream
