#include "map_image.h"

#include <algorithm>
#include <cmath>

namespace attnscope {

ValueRange value_range(const MapImage& map) {
    if (map.empty()) return {};
    const auto [lo, hi] = std::minmax_element(map.values.begin(), map.values.end());
    return {*lo, *hi};
}

ValueRange merge(ValueRange a, ValueRange b) {
    return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

namespace {

// t clamped to [0, 1], NaN (a NaN value, or an infinite range) to 0: std::clamp passes NaN on, and a NaN
// turned into a colour-table index reads outside the table.
template <class T> T unit_interval(T t) {
    return t >= 0 ? std::min(t, T(1)) : T(0);
}

} // namespace

float normalized(float value, ValueRange range) {
    const float span = range.hi - range.lo;
    return span > 0 ? unit_interval((value - range.lo) / span) : 0.5f;
}

std::vector<uint16_t> to_gray16(const MapImage& map, ValueRange range) {
    std::vector<uint16_t> out(map.values.size());
    // In double: float has 24 bits of mantissa, enough, but the rounding then matches the documented formula
    // exactly for a reader who recomputes it.
    const double lo = range.lo, span = static_cast<double>(range.hi) - range.lo;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const double t = span > 0 ? unit_interval((map.values[i] - lo) / span) : 0.5;
        out[i] = static_cast<uint16_t>(std::lround(t * 65535.0));
    }
    return out;
}

} // namespace attnscope
