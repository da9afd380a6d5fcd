#include "grid.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

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

GridLayout unet_grid(const std::vector<AttentionSite>& sites, int tile_width, int tile_height, int gap) {
    check_tile_size(tile_width, tile_height, gap);
    if (sites.empty()) throw std::invalid_argument("a grid needs at least one tile");
    std::vector<int64_t> areas; // one row per feature-map area, the largest first
    for (const auto& s : sites) areas.push_back(int64_t{s.height} * s.width);
    std::sort(areas.begin(), areas.end(), std::greater<>());
    areas.erase(std::unique(areas.begin(), areas.end()), areas.end());

    std::vector<std::size_t> forward(sites.size());
    std::iota(forward.begin(), forward.end(), std::size_t{0});
    std::stable_sort(forward.begin(), forward.end(),
                     [&](std::size_t a, std::size_t b) { return sites[a].index < sites[b].index; });
    std::vector<GridCell> cells(sites.size()); // column within the path, row within the band, at first
    std::vector<std::size_t> paths(sites.size()), bands(sites.size());
    std::map<std::pair<std::size_t, std::size_t>, int> taken; // (path, band) -> columns used
    std::map<std::string, GridCell> next;                     // transformer -> where its next block goes
    std::array<int, 3> widest{};                              // columns per path
    std::vector<int> depth(areas.size(), 0);                  // rows per band
    for (const auto i : forward) {
        paths[i] = static_cast<std::size_t>(unet_path(sites[i].module));
        bands[i] = static_cast<std::size_t>(
            std::find(areas.begin(), areas.end(), int64_t{sites[i].height} * sites[i].width) - areas.begin());
        const auto transformer = transformer_module(sites[i].module);
        auto at = next.find(transformer);
        if (at == next.end())
            at = next.emplace(transformer, GridCell{taken[{paths[i], bands[i]}]++, 0}).first;
        cells[i] = at->second;
        ++at->second.row;
        widest[paths[i]] = std::max(widest[paths[i]], cells[i].column + 1);
        depth[bands[i]] = std::max(depth[bands[i]], cells[i].row + 1);
    }
    std::vector<int> band_rows(areas.size(), 0);
    std::partial_sum(depth.begin(), depth.end() - 1, band_rows.begin() + 1);
    const std::array<int, 3> first = {0, widest[0], widest[0] + widest[1]}; // down | mid | up
    for (std::size_t i = 0; i < sites.size(); ++i) {
        cells[i].column += first[paths[i]];
        cells[i].row += band_rows[bands[i]];
    }
    return {widest[0] + widest[1] + widest[2],
            band_rows.back() + depth.back(),
            tile_width,
            tile_height,
            gap,
            std::move(cells),
            std::move(band_rows)};
}

GridLayout reading_grid(std::size_t count, int tile_width, int tile_height, int gap) {
    check_tile_size(tile_width, tile_height, gap);
    if (count == 0) throw std::invalid_argument("a grid needs at least one tile");
    const int columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
    const int rows = static_cast<int>((count + columns - 1) / columns);
    GridLayout layout{columns, rows, tile_width, tile_height, gap, {}, {}};
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
