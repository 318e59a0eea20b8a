#include "stream/av_sync_clock.h"

namespace voxgate::stream {

AvSyncClock::Action AvSyncClock::Match(int64_t ready_index) {
  if (ready_index >= 0 && ready_index < next_frame_) {
    ++dropped_;  // rendered too late for its slot: showing it now would put the mouth behind
    return Action::kDrop;
  }
  if (ready_index == next_frame_) {
    ++next_frame_;
    return Action::kUse;
  }
  // Nothing ready, or the renderer is ahead (a frame for a later slot): hold the last picture.
  ++repeated_;
  ++next_frame_;
  return Action::kRepeat;
}

}  // namespace voxgate::stream
