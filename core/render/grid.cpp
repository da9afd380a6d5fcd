#include "grid.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

void check_tile_size(int width, int height, int gap) {
    if (width <= 0 || height <= 0 || gap < 0)
        throw std::invalid_argument("a grid needs tiles of at least 1x1 pixel and a gap of 0 or more");
}

template <typename T>
std::vector<T> compose(const GridLayout& layout, const std::vector<std::vector<T>>& tiles,
                       const std::vector<T>& background) {
    const std::size_t channels = background.size();
    if (channels == 0 || tiles.size() > layout.cells.size())
        throw std::invalid_argument("a grid of " + std::to_string(layout.cells.size()) +
                                    " cells cannot hold " + std::to_string(tiles.size()) + " tiles of " +
                                    std::to_string(channels) + " channels");
    const std::size_t width = static_cast<std::size_t>(layout.width()),
                      height = static_cast<std::size_t>(layout.height());
    std::vector<T> out(width * height * channels);
    for (std::size_t i = 0; i < width * height; ++i)
        std::copy(background.begin(), background.end(),
                  out.begin() + static_cast<std::ptrdiff_t>(i * channels));
    const std::size_t row_values = static_cast<std::size_t>(layout.tile_width) * channels;
    for (std::size_t t = 0; t < tiles.size(); ++t) {
        if (tiles[t].size() != row_values * static_cast<std::size_t>(layout.tile_height))
            throw std::invalid_argument("grid tile " + std::to_string(t) + " is not " +
                                        std::to_string(layout.tile_width) + "x" +
                                        std::to_string(layout.tile_height) + " pixels");
        const auto x = static_cast<std::size_t>(layout.tile_x(t)),
                   y = static_cast<std::size_t>(layout.tile_y(t));
        for (std::size_t r = 0; r < static_cast<std::size_t>(layout.tile_height); ++r) {
            const auto from = tiles[t].begin() + static_cast<std::ptrdiff_t>(r * row_values);
            std::copy(from, from + static_cast<std::ptrdiff_t>(row_values),
                      out.begin() + static_cast<std::ptrdiff_t>(((y + r) * width + x) * channels));
        }
    }
    return out;
}

} // namespace

GridLayout unet_grid(int tile_width, int tile_height, int gap) {
    check_tile_size(tile_width, tile_height, gap);
    // index -> (column, row): the down path's two sites a level, then the mid block, then the up path's
    // three.
    static constexpr GridCell kCells[16] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 2},
                                            {4, 2}, {5, 2}, {3, 1}, {4, 1}, {5, 1}, {3, 0}, {4, 0}, {5, 0}};
    return {6, 4, tile_width, tile_height, gap, std::vector<GridCell>(std::begin(kCells), std::end(kCells))};
}

GridLayout reading_grid(std::size_t count, int tile_width, int tile_height, int gap) {
    check_tile_size(tile_width, tile_height, gap);
    if (count == 0) throw std::invalid_argument("a grid needs at least one tile");
    const int columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
    const int rows = static_cast<int>((count + columns - 1) / columns);
    GridLayout layout{columns, rows, tile_width, tile_height, gap, {}};
    for (std::size_t i = 0; i < count; ++i)
        layout.cells.push_back({static_cast<int>(i % columns), static_cast<int>(i / columns)});
    return layout;
}

std::vector<uint8_t> compose_grid(const GridLayout& layout, const std::vector<std::vector<uint8_t>>& tiles,
                                  const std::vector<uint8_t>& background) {
    return compose(layout, tiles, background);
}

std::vector<uint16_t> compose_grid(const GridLayout& layout, const std::vector<std::vector<uint16_t>>& tiles,
                                   const std::vector<uint16_t>& background) {
    return compose(layout, tiles, background);
}

} // namespace attnscope
