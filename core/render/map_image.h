#pragma once
// A 2-D attention map as plain floats, and how its values are scaled for display: the range shown and the
// linear mapping to 16 bits. No LibTorch, so the visualizer's UI files and the exporters share it.
#include <cstdint>
#include <vector>

namespace attnscope {

struct MapImage {
    int width = 0, height = 0;
    std::vector<float> values; // row-major
    bool empty() const { return values.empty(); }
};

struct ValueRange {
    float lo = 0, hi = 1;
};
ValueRange value_range(const MapImage& map); // min and max (0..1 for an empty map)
ValueRange merge(ValueRange a, ValueRange b);

// Where `value` falls in `range`, clamped to [0, 1]; a flat range (hi <= lo) gives the middle, 0.5, rather
// than a division by zero.
float normalized(float value, ValueRange range);

// round(normalized(v) * 65535) per value: the raw map for a 16-bit grayscale PNG.
std::vector<uint16_t> to_gray16(const MapImage& map, ValueRange range);

} // namespace attnscope
