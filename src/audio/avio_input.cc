#include "audio/avio_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audio/ffmpeg_util.h"

extern "C" {
#include <libavformat/avio.h>
#include <libavutil/mem.h>
}

namespace voxgate::audio {
namespace {

constexpr int kAvioBufferBytes = 64 * 1024;

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof(buf));  // GNU variant: returns the message
}

}  // namespace

Result<std::unique_ptr<AvioInput>> AvioInput::OpenFile(const std::string& path) {
  std::unique_ptr<AvioInput> input(new AvioInput());
  input->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (input->fd_ < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFoundError("no such file: " + path);
    if (err == EACCES || err == EPERM) {
      return Status(StatusCode::kPermissionDenied, "permission denied reading " + path);
    }
    return UnavailableError("cannot open " + path + ": " + ErrnoText(err));
  }
  struct stat st = {};
  if (::fstat(input->fd_, &st) != 0) {
    return UnavailableError("cannot stat " + path + ": " + ErrnoText(errno));
  }
  if (S_ISDIR(st.st_mode)) return InvalidArgumentError(path + " is a directory, not an audio file");
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + " is not a regular file");
  input->size_ = st.st_size;
  VOXGATE_RETURN_IF_ERROR(input->Init());
  return input;
}

Result<std::unique_ptr<AvioInput>> AvioInput::FromMemory(std::span<const uint8_t> bytes) {
  std::unique_ptr<AvioInput> input(new AvioInput());
  input->memory_ = bytes;
  input->size_ = static_cast<int64_t>(bytes.size());
  VOXGATE_RETURN_IF_ERROR(input->Init());
  return input;
}

Status AvioInput::Init() {
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferBytes));
  if (buffer == nullptr) return InternalError("out of memory allocating an I/O buffer");
  ctx_ = avio_alloc_context(
      buffer, kAvioBufferBytes, /*write_flag=*/0, this,
      [](void* opaque, uint8_t* buf, int n) {
        return static_cast<AvioInput*>(opaque)->Read(buf, n);
      },
      nullptr,
      [](void* opaque, int64_t offset, int whence) {
        return static_cast<AvioInput*>(opaque)->Seek(offset, whence);
      });
  if (ctx_ == nullptr) {
    av_free(buffer);
    return InternalError("out of memory allocating an I/O context");
  }
  return Status::Ok();
}

AvioInput::~AvioInput() {
  if (ctx_ != nullptr) {
    av_freep(&ctx_->buffer);  // FFmpeg may have replaced the buffer we gave it
    avio_context_free(&ctx_);
  }
  if (fd_ >= 0) ::close(fd_);
}

int64_t AvioInput::ReadRaw(int64_t offset, uint8_t* buf, size_t n) const {
  if (offset < 0 || offset >= size_) return 0;
  n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), size_ - offset));
  if (fd_ < 0) {
    std::memcpy(buf, memory_.data() + offset, n);
    return static_cast<int64_t>(n);
  }
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, buf + done, n - done, offset + static_cast<int64_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (got == 0) break;  // the file shrank under us
    done += static_cast<size_t>(got);
  }
  return static_cast<int64_t>(done);
}

int AvioInput::Read(uint8_t* buf, int n) {
  if (n <= 0) return 0;
  const int64_t got = ReadRaw(pos_, buf, static_cast<size_t>(n));
  if (got < 0) return AVERROR(EIO);
  if (got == 0) return AVERROR_EOF;
  pos_ += got;
  return static_cast<int>(got);
}

int64_t AvioInput::Seek(int64_t offset, int whence) {
  if (whence & AVSEEK_SIZE) return size_;
  int64_t target;
  switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = pos_ + offset;
      break;
    case SEEK_END:
      target = size_ + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0) return AVERROR(EINVAL);
  pos_ = std::min(target, size_);
  return pos_;
}

std::vector<uint8_t> AvioInput::ReadAt(int64_t offset, size_t n) const {
  std::vector<uint8_t> out(n);
  const int64_t got = ReadRaw(offset, out.data(), n);
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

}  // namespace voxgate::audio
