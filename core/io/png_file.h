#pragma once
// 8-bit images to PNG files (through stb), written atomically like every other output.
#include "io/image8.h"

#include <ATen/ATen.h>
#include <string>

namespace attnscope {

// A float image (C, H, W) or (1, C, H, W) with values in [0, 1] (clamped), rounded to 8 bits.
Image8 to_image8(const at::Tensor& image);

// Throws std::runtime_error naming the path when it cannot be written; never leaves a partial file.
void write_png(const std::string& path, const Image8& image);

} // namespace attnscope
