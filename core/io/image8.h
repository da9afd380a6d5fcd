#pragma once
// An 8-bit image in memory, as image files hold them.
#include <cstdint>
#include <vector>

namespace attnscope {

struct Image8 {
    int width = 0, height = 0, channels = 0; // channels: 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)
    std::vector<uint8_t> pixels;             // row-major, channels interleaved
};

} // namespace attnscope
