#include "audio/ffmpeg_util.h"

#include <mutex>

extern "C" {
#include <libavutil/log.h>
}

namespace voxgate::audio {

void QuietFfmpegLogging() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

}  // namespace voxgate::audio
