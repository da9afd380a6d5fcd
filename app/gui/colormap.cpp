#include "colormap.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace attnscope::gui {

const char* colormap_name(Colormap c) {
    switch (c) {
    case Colormap::Viridis:
        return "viridis";
    case Colormap::Magma:
        return "magma";
    case Colormap::Jet:
        return "jet";
    case Colormap::Gray:
        return "gray";
    }
    return "?";
}

namespace {

Lut read_lut(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file.string() + ": cannot read the colormap");
    Lut lut{};
    size_t n = 0;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        float r = 0, g = 0, b = 0;
        if (!(fields >> r >> g >> b) || n >= lut.size())
            throw std::runtime_error(file.string() + ": expected 256 lines of 'r g b' in [0, 1]");
        const auto byte = [](float v) {
            return static_cast<uint8_t>(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f);
        };
        lut[n++] = {byte(r), byte(g), byte(b)};
    }
    if (n != lut.size())
        throw std::runtime_error(file.string() + ": expected 256 entries, found " + std::to_string(n));
    return lut;
}

} // namespace

Colormaps::Colormaps(const std::filesystem::path& folder) {
    for (const auto c : kColormaps) {
        if (c == Colormap::Gray) {
            for (size_t i = 0; i < 256; ++i) {
                const auto v = static_cast<uint8_t>(i);
                luts_[static_cast<size_t>(c)][i] = {v, v, v};
            }
        } else {
            luts_[static_cast<size_t>(c)] = read_lut(folder / (std::string(colormap_name(c)) + ".txt"));
        }
    }
}

ValueRange value_range(const MapImage& map) {
    if (map.empty()) return {};
    const auto [lo, hi] = std::minmax_element(map.values.begin(), map.values.end());
    return {*lo, *hi};
}

ValueRange merge(ValueRange a, ValueRange b) {
    return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

std::vector<uint8_t> colorize(const MapImage& map, ValueRange range, const Lut& lut) {
    std::vector<uint8_t> rgba(map.values.size() * 4);
    // A flat map (one value everywhere) shows as the middle of the table rather than dividing by zero.
    const float span = range.hi - range.lo;
    for (size_t i = 0; i < map.values.size(); ++i) {
        const float t = span > 0 ? (map.values[i] - range.lo) / span : 0.5f;
        const auto& c = lut[static_cast<size_t>(std::clamp(t, 0.0f, 1.0f) * 255.0f + 0.5f)];
        std::copy(c.begin(), c.end(), rgba.begin() + static_cast<std::ptrdiff_t>(i * 4));
        rgba[i * 4 + 3] = 255;
    }
    return rgba;
}

} // namespace attnscope::gui
