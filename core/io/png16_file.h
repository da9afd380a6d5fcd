#pragma once
// 16-bit grayscale PNG files, which stb cannot write: raw attention maps at full precision. Our own minimal
// encoder: the zlib stream holds stored (uncompressed) deflate blocks, so it is short and checkable by eye,
// at about 2 bytes a pixel. No LibTorch.
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

struct Image16 {
    int width = 0, height = 0;
    std::vector<uint16_t> pixels; // row-major gray samples
};

// The whole file's bytes. Throws std::invalid_argument when the size and pixel count disagree or the image is
// too large for one PNG data chunk (2^31 bytes).
std::vector<uint8_t> encode_png16(const Image16& image);

// Throws std::runtime_error naming the path when it cannot be written; never leaves a partial file.
void write_png16(const std::string& path, const Image16& image);

} // namespace attnscope
