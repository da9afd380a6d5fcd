#pragma once
// Reading a user's picture: PNG, JPEG or BMP through stb_image. Anything else, and anything stb cannot
// decode, is refused in one line naming the file and what it is.
#include "io/image8.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace attnscope {

// The largest side read: beyond it no model input makes sense and the pixels alone would take gigabytes.
inline constexpr int kMaxImageSide = 16384;

// `bytes`: a whole file; `label` names it in errors (std::runtime_error). Keeps the file's channels (gray,
// gray + alpha, RGB or RGBA) at 8 bits; 16-bit PNGs are rounded to 8.
Image8 decode_image(const uint8_t* bytes, std::size_t size, const std::string& label);
Image8 read_image(const std::string& path);

} // namespace attnscope
