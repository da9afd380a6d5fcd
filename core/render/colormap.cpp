#include "colormap.h"

#include "util/assets.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attnscope {

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

std::optional<Colormap> parse_colormap(const std::string& name) {
    for (const auto c : kColormaps)
        if (name == colormap_name(c)) return c;
    return std::nullopt;
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

// Writes each value's colour and then `alpha`, when there is a fourth channel.
template <int Channels>
std::vector<uint8_t> colorize_as(const MapImage& map, ValueRange range, const Lut& lut) {
    std::vector<uint8_t> out(map.values.size() * Channels);
    for (size_t i = 0; i < map.values.size(); ++i) {
        const auto& c = color_of(map.values[i], range, lut);
        std::copy(c.begin(), c.end(), out.begin() + static_cast<std::ptrdiff_t>(i * Channels));
        if constexpr (Channels == 4) out[i * 4 + 3] = 255;
    }
    return out;
}

} // namespace

Colormaps::Colormaps() : Colormaps(assets_dir() / "colormaps") {}

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

const Rgb8& color_of(float value, ValueRange range, const Lut& lut) {
    return lut[static_cast<size_t>(normalized(value, range) * 255.0f + 0.5f)];
}

std::vector<uint8_t> colorize(const MapImage& map, ValueRange range, const Lut& lut) {
    return colorize_as<4>(map, range, lut);
}

std::vector<uint8_t> colorize_rgb(const MapImage& map, ValueRange range, const Lut& lut) {
    return colorize_as<3>(map, range, lut);
}

} // namespace attnscope
