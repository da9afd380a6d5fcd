#pragma once
// 8-bit images to and from PNG files (through stb), written atomically like every other output.
#include <ATen/ATen.h>
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

struct Image8 {
    int width = 0, height = 0, channels = 0; // channels: 1 (gray), 3 (RGB) or 4 (RGBA)
    std::vector<uint8_t> pixels;             // row-major, channels interleaved
};

// A float image (C, H, W) or (1, C, H, W) with values in [0, 1] (clamped), rounded to 8 bits.
Image8 to_image8(const at::Tensor& image);

// Throws std::runtime_error naming the path when it cannot be written; never leaves a partial file.
void write_png(const std::string& path, const Image8& image);
// Throws std::runtime_error naming the path when it is missing or not a PNG stb can read.
Image8 read_png(const std::string& path);

} // namespace attnscope
