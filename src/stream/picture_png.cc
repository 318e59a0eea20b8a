#include "stream/picture_png.h"

#include <cairo.h>

#include <algorithm>
#include <memory>

namespace voxgate::stream {

Result<std::string> EncodePng(std::span<const uint8_t> bgra, int width, int height, int stride,
                              int max_width) {
  if (width <= 0 || height <= 0 || max_width <= 0 || stride < width * 4 ||
      bgra.size() < static_cast<size_t>(stride) * static_cast<size_t>(height)) {
    return InvalidArgumentError("picture size does not match its pixels");
  }
  using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
  // cairo only reads the source; it takes a non-const pointer for surfaces it may also draw on.
  Surface source(cairo_image_surface_create_for_data(const_cast<uint8_t*>(bgra.data()),
                                                     CAIRO_FORMAT_ARGB32, width, height, stride),
                 cairo_surface_destroy);
  const int out_w = std::min(width, max_width);
  const int out_h = std::max(1, height * out_w / width);
  Surface scaled(cairo_image_surface_create(CAIRO_FORMAT_RGB24, out_w, out_h),
                 cairo_surface_destroy);
  if (cairo_surface_status(source.get()) != CAIRO_STATUS_SUCCESS ||
      cairo_surface_status(scaled.get()) != CAIRO_STATUS_SUCCESS) {
    return Status(StatusCode::kInternal, "cairo cannot make the preview surface");
  }
  cairo_t* cr = cairo_create(scaled.get());
  cairo_scale(cr, static_cast<double>(out_w) / width, static_cast<double>(out_h) / height);
  cairo_set_source_surface(cr, source.get(), 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
  cairo_paint(cr);
  cairo_destroy(cr);
  std::string png;
  const cairo_status_t st = cairo_surface_write_to_png_stream(
      scaled.get(),
      [](void* closure, const unsigned char* data, unsigned int length) {
        static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
        return CAIRO_STATUS_SUCCESS;
      },
      &png);
  if (st != CAIRO_STATUS_SUCCESS) {
    return Status(StatusCode::kInternal,
                  std::string("PNG encoding failed: ") + cairo_status_to_string(st));
  }
  return png;
}

}  // namespace voxgate::stream
