#include "divergence_grid.h"

#include "render/grid.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace attnscope {

Image8 divergence_grid_image(const std::map<CaptureKey, Divergence>& errors, const Lut& lut, int cell) {
    if (errors.empty()) throw std::invalid_argument("no attention errors to draw: no step was compared");
    if (cell < 1) throw std::invalid_argument("grid cells need at least 1 pixel");
    int first_step = errors.begin()->first.step, last_step = first_step, sites = 0;
    for (const auto& [key, e] : errors) {
        first_step = std::min(first_step, key.step);
        last_step = std::max(last_step, key.step);
        sites = std::max(sites, key.index);
    }
    const int steps = last_step - first_step + 1;
    const auto panel = [&](AttentionKind kind) {
        MapImage map{steps * cell, sites * cell, {}};
        map.values.assign(static_cast<std::size_t>(map.width) * map.height, kGridLog10Range.lo);
        for (const auto& [key, e] : errors) {
            if (key.kind != kind) continue;
            // NaN (an overflow in B) shows as the worst error, not as none.
            const float v = std::isnan(e.rel_l2) ? kGridLog10Range.hi
                            : e.rel_l2 > 0       ? static_cast<float>(std::log10(e.rel_l2))
                                                 : kGridLog10Range.lo;
            for (int y = (key.index - 1) * cell; y < key.index * cell; ++y)
                std::fill_n(map.values.begin() + y * map.width + (key.step - first_step) * cell, cell, v);
        }
        return colorize_rgb(map, kGridLog10Range, lut);
    };
    const GridLayout layout{1, 2, steps * cell, sites * cell, std::max(1, cell / 3), {{0, 0}, {0, 1}}, {}};
    Image8 image;
    image.width = layout.width();
    image.height = layout.height();
    image.channels = 3;
    const std::vector<std::vector<uint8_t>> panels{panel(AttentionKind::Self), panel(AttentionKind::Cross)};
    image.pixels = compose_grid(layout, panels, {255, 255, 255});
    return image;
}

} // namespace attnscope
