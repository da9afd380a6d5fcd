#include "figure.h"

#include "io/png_file.h"

// The header defines its functions static, some of which this file does not call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>

namespace attnscope {
namespace {

std::string printable(const std::string& s) {
    std::string out = s;
    for (auto& c : out)
        if (c != '\n' && (c < 32 || c > 126)) c = '?';
    return out;
}

} // namespace

Figure::Figure(int width, int height, Rgb8 background)
    : width_(std::max(1, width)), height_(std::max(1, height)),
      rgb_(static_cast<std::size_t>(width_) * height_ * 3) {
    fill(0, 0, width_, height_, background);
}

void Figure::fill(int x, int y, int w, int h, Rgb8 color) {
    const int x0 = std::max(0, x), y0 = std::max(0, y);
    const int x1 = std::min(width_, x + w), y1 = std::min(height_, y + h);
    for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx)
            std::copy(color.begin(), color.end(),
                      rgb_.begin() + (static_cast<std::size_t>(yy) * width_ + xx) * 3);
}

int Figure::text(int x, int y, const std::string& s, Rgb8 color, int scale) {
    auto chars = printable(s);
    // stb_easy_font's estimate: about 270 bytes of quads per character.
    std::vector<char> quads(chars.size() * 300 + 64);
    const int n =
        stb_easy_font_print(0, 0, chars.data(), nullptr, quads.data(), static_cast<int>(quads.size()));
    struct Vertex {
        float x, y, z;
        unsigned char rgba[4];
    };
    const auto* v = reinterpret_cast<const Vertex*>(quads.data());
    for (int q = 0; q < n; ++q) {
        const auto& a = v[q * 4];
        const auto& c = v[q * 4 + 2];
        const int qx = static_cast<int>(std::lround(a.x)), qy = static_cast<int>(std::lround(a.y));
        const int qw = static_cast<int>(std::lround(c.x - a.x)),
                  qh = static_cast<int>(std::lround(c.y - a.y));
        fill(x + qx * scale, y + qy * scale, qw * scale, qh * scale, color);
    }
    return text_width(s, scale);
}

int Figure::text_width(const std::string& s, int scale) {
    auto chars = printable(s);
    return stb_easy_font_width(chars.data()) * scale;
}

Rgb8 diverging_color(double value, double limit) {
    const double t = limit > 0 ? std::clamp(value / limit, -1.0, 1.0) : 0.0;
    const auto channel = [](double f) { return static_cast<uint8_t>(std::lround(255 * f)); };
    if (t >= 0) return {255, channel(1 - 0.8 * t), channel(1 - 0.85 * t)};
    return {channel(1 + 0.85 * t), channel(1 + 0.6 * t), 255};
}

void write_figure(const std::string& path, const Figure& figure) {
    write_png(path, {figure.width(), figure.height(), 3, figure.rgb()});
}

} // namespace attnscope
