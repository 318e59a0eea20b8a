#include "stream/presenter_renderer.h"

#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace voxgate::stream {

Result<std::unique_ptr<PresenterRenderer>> PresenterRenderer::Create(int width, int height) {
  if (width < 16 || height < 16 || width > 4096 || height > 4096 || width % 2 || height % 2) {
    return InvalidArgumentError(
        fmt::format("presenter size must be even and 16..4096, got {}x{}", width, height));
  }
  return std::unique_ptr<PresenterRenderer>(new PresenterRenderer(width, height));
}

PresenterRenderer::~PresenterRenderer() = default;

void PresenterRenderer::Render(const PresenterState& state, uint8_t* bgra, int stride_bytes) {
  cairo_surface_t* surface =
      cairo_image_surface_create_for_data(bgra, CAIRO_FORMAT_ARGB32, width_, height_, stride_bytes);
  cairo_t* cr = cairo_create(surface);
  const double w = width_, h = height_, u = h / 540.0;  // u: layout unit, 1 at 540p

  // Background and card.
  cairo_set_source_rgb(cr, 0.09, 0.11, 0.16);
  cairo_paint(cr);
  const double card_x = 0.08 * w, card_y = 0.08 * h, card_w = 0.84 * w, card_h = 0.66 * h;
  cairo_set_source_rgb(cr, 0.16, 0.20, 0.28);
  cairo_rectangle(cr, card_x, card_y, card_w, card_h);
  cairo_fill(cr);

  // Face: head, eyes (blinking now and then), mouth.
  const double cx = card_x + 0.25 * card_w, cy = card_y + 0.5 * card_h, r = 0.34 * card_h;
  cairo_set_source_rgb(cr, 0.96, 0.80, 0.64);
  cairo_arc(cr, cx, cy, r, 0, 2 * M_PI);
  cairo_fill(cr);
  const bool blink = std::fmod(state.time_s, 4.0) < 0.12;
  cairo_set_source_rgb(cr, 0.12, 0.12, 0.15);
  for (int side = -1; side <= 1; side += 2) {
    cairo_save(cr);
    cairo_translate(cr, cx + side * 0.38 * r, cy - 0.25 * r);
    cairo_scale(cr, 1.0, blink ? 0.12 : 1.0);
    cairo_arc(cr, 0, 0, 0.11 * r, 0, 2 * M_PI);
    cairo_restore(cr);
    cairo_fill(cr);
  }
  const double open = std::clamp(state.mouth_open, 0.0f, 1.0f);
  const double mouth_w = 0.55 * r * (1.0 - 0.25 * open), mouth_h = 0.04 * r + 0.42 * r * open;
  cairo_save(cr);
  cairo_translate(cr, cx, cy + 0.45 * r);
  cairo_scale(cr, mouth_w / 2, mouth_h / 2);
  cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
  cairo_restore(cr);
  cairo_set_source_rgb(cr, 0.45, 0.08, 0.10);
  cairo_fill(cr);

  // Name and caption.
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 40 * u);
  cairo_set_source_rgb(cr, 1, 1, 1);
  const double text_x = card_x + 0.52 * card_w;
  const std::string name(state.name);
  cairo_move_to(cr, text_x, card_y + 0.25 * card_h);
  cairo_show_text(cr, name.c_str());
  if (!state.caption.empty()) {
    const std::string caption(state.caption);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 34 * u);
    cairo_set_source_rgb(cr, 1.0, 0.92, 0.45);
    cairo_move_to(cr, 0.08 * w, 0.86 * h);
    cairo_show_text(cr, caption.c_str());
  }

  // Level meter: a bar under the name.
  const double meter_x = text_x, meter_y = card_y + 0.45 * card_h, meter_w = 0.40 * card_w;
  cairo_set_source_rgb(cr, 0.25, 0.29, 0.38);
  cairo_rectangle(cr, meter_x, meter_y, meter_w, 18 * u);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.30, 0.85, 0.45);
  cairo_rectangle(cr, meter_x, meter_y, meter_w * std::clamp(state.level, 0.0f, 1.0f), 18 * u);
  cairo_fill(cr);

  // Stream clock, small.
  cairo_set_font_size(cr, 16 * u);
  cairo_set_source_rgb(cr, 0.6, 0.65, 0.75);
  const std::string clock = fmt::format("{:.2f} s", state.time_s);
  cairo_move_to(cr, w - 130 * u, h - 16 * u);
  cairo_show_text(cr, clock.c_str());

  cairo_destroy(cr);
  cairo_surface_flush(surface);
  cairo_surface_destroy(surface);
}

}  // namespace voxgate::stream
