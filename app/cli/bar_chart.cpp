#include "bar_chart.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace attnscope::cli {
namespace {

constexpr int kGap = 4;
const Rgb8 kBackground{40, 42, 48}; // the visualizer's empty tile
const Rgb8 kPanel{56, 59, 66};
const Rgb8 kBaseline{140, 140, 140};

struct Canvas {
    Image8 image;
    void fill(int x0, int y0, int w, int h, const Rgb8& c) {
        for (int y = y0; y < y0 + h; ++y)
            for (int x = x0; x < x0 + w; ++x)
                std::copy(c.begin(), c.end(), image.pixels.begin() + (std::size_t(y) * image.width + x) * 3);
    }
};

} // namespace

Image8 draw_bar_panels(const std::vector<BarPanel>& panels, int bar_width, int panel_height) {
    if (panels.empty() || bar_width < 1 || panel_height < 3)
        throw std::invalid_argument("a bar chart needs a panel, bars 1 pixel wide and panels 3 high");
    std::size_t bars = 0;
    for (const auto& p : panels) {
        if (p.values.empty()) throw std::invalid_argument("a bar chart panel needs values");
        bars = std::max(bars, p.values.size());
    }
    const int width = kGap * 2 + static_cast<int>(bars) * bar_width;
    const int height = kGap + static_cast<int>(panels.size()) * (panel_height + kGap);
    Canvas canvas{{width, height, 3, std::vector<uint8_t>(std::size_t(width) * height * 3)}};
    canvas.fill(0, 0, width, height, kBackground);
    for (std::size_t i = 0; i < panels.size(); ++i) {
        const auto& values = panels[i].values;
        const int top = kGap + static_cast<int>(i) * (panel_height + kGap);
        canvas.fill(kGap, top, width - 2 * kGap, panel_height, kPanel);
        const bool signed_values = *std::min_element(values.begin(), values.end()) < 0;
        // Bars grow up from the bottom row, or both ways from the middle one when some values are negative.
        const int baseline = signed_values ? top + panel_height / 2 : top + panel_height - 1;
        const int room = signed_values ? panel_height / 2 - 1 : panel_height - 1;
        double largest = 0;
        for (const double v : values) largest = std::max(largest, std::abs(v));
        for (std::size_t b = 0; b < values.size(); ++b) {
            const int h =
                largest > 0 ? static_cast<int>(std::lround(std::abs(values[b]) / largest * room)) : 0;
            const int x = kGap + static_cast<int>(b) * bar_width;
            canvas.fill(x, values[b] < 0 ? baseline + 1 : baseline - h, bar_width, h, panels[i].colour);
        }
        canvas.fill(kGap, baseline, width - 2 * kGap, 1, kBaseline);
    }
    return std::move(canvas.image);
}

} // namespace attnscope::cli
