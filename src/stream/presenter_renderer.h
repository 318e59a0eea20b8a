// PresenterRenderer: the built-in picture of a broadcast, drawn with cairo: a presenter card with
// the speaker's name, the word being spoken as a caption, an audio level meter, and a simple 2-D
// face whose mouth opens as much as PresenterState::mouth_open says (from espeak-ng phonemes for
// synthesised speech, from the audio envelope otherwise).
//
// Draws into memory the caller owns (BGRA: cairo's ARGB32 on little-endian machines), so the
// broadcaster can render straight into its preallocated queue slots. Not thread-safe: one renderer
// thread. Render() allocates nothing for the picture (cairo keeps a small font cache).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace voxgate::stream {

struct PresenterState {
  std::string_view name;     // the presenter's or identified speaker's name
  std::string_view caption;  // the current word (or words); empty: none
  float level = 0;           // audio level meter, 0..1
  float mouth_open = 0;      // 0 closed .. 1 wide open
  double time_s = 0;         // stream time (drawn small in a corner, and used for blinking)
};

class PresenterRenderer {
 public:
  /// width, height: even, 16..4096. kInvalidArgument otherwise.
  static Result<std::unique_ptr<PresenterRenderer>> Create(int width, int height);
  ~PresenterRenderer();
  PresenterRenderer(const PresenterRenderer&) = delete;
  PresenterRenderer& operator=(const PresenterRenderer&) = delete;

  /// Draws the state into bgra (width x height pixels, stride_bytes >= 4 * width).
  void Render(const PresenterState& state, uint8_t* bgra, int stride_bytes);

  int width() const { return width_; }
  int height() const { return height_; }

 private:
  PresenterRenderer(int width, int height) : width_(width), height_(height) {}
  int width_;
  int height_;
};

}  // namespace voxgate::stream
