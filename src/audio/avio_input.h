// AvioInput: the bytes of one recording (a file or a caller's buffer) behind a custom, seekable
// AVIOContext, so that FFmpeg reads only what we hand it and never opens a path or URL itself.
// Internal to voxgate_audio. Not thread-safe: one per decode.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

struct AVIOContext;

namespace voxgate::audio {

class AvioInput {
 public:
  /// Opens a regular file. Errors: kNotFound (no such file), kInvalidArgument (a directory or
  /// not a regular file), kPermissionDenied, kUnavailable (other I/O errors).
  static Result<std::unique_ptr<AvioInput>> OpenFile(const std::string& path);
  /// Wraps `bytes`, which must outlive the AvioInput (no copy is made).
  static Result<std::unique_ptr<AvioInput>> FromMemory(std::span<const uint8_t> bytes);

  ~AvioInput();
  AvioInput(const AvioInput&) = delete;
  AvioInput& operator=(const AvioInput&) = delete;

  /// The context to set as AVFormatContext::pb (owned here; outlives the format context).
  AVIOContext* context() const { return ctx_; }
  /// Total size in bytes.
  int64_t size() const { return size_; }
  /// Up to `n` bytes from `offset`, read without moving the AVIOContext's position.
  std::vector<uint8_t> ReadAt(int64_t offset, size_t n) const;

 private:
  AvioInput() = default;
  Status Init();
  int Read(uint8_t* buf, int n);
  int64_t Seek(int64_t offset, int whence);
  int64_t ReadRaw(int64_t offset, uint8_t* buf, size_t n) const;

  int fd_ = -1;                      // file source
  std::span<const uint8_t> memory_;  // memory source
  int64_t size_ = 0;
  int64_t pos_ = 0;
  AVIOContext* ctx_ = nullptr;
};

}  // namespace voxgate::audio
