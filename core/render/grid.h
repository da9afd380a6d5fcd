#pragma once
// Small multiples: many maps of one size side by side in one image, either where their sites sit in the
// U-Net (as the visualizer's index grid shows them) or in reading order. No LibTorch.
#include "attention/site.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

struct GridCell {
    int column = 0, row = 0;
};

struct GridLayout {
    int columns = 0, rows = 0;
    int tile_width = 0, tile_height = 0;
    int gap = 0;                 // pixels between tiles and around the edge
    std::vector<GridCell> cells; // one per tile, in the order the tiles are given
    std::vector<int> bands;      // unet_grid: the first row of each feature-map size's band of rows
    int width() const { return gap + columns * (tile_width + gap); }
    int height() const { return gap + rows * (tile_height + gap); }
    int tile_x(std::size_t tile) const { return gap + cells.at(tile).column * (tile_width + gap); }
    int tile_y(std::size_t tile) const { return gap + cells.at(tile).row * (tile_height + gap); }
};

// `sites` (of one kind, any model) laid out so the grid reads like the U: a band of rows per feature-map
// size, the largest first; in each band the down path's transformers on the left, then the mid block's, then
// the up path's, each in forward order and in columns of their own, so every path lines up across bands. A
// transformer's blocks run down its column, so a band is as many rows as its deepest transformer has blocks.
// SD v1/v2's 16 come out in six columns and four rows, index 7 (mid) alone in the third column of the last;
// SDXL's 70 in six columns and 2 + 10 rows. cells[i] is sites[i]'s.
GridLayout unet_grid(const std::vector<AttentionSite>& sites, int tile_width, int tile_height, int gap);

// `count` tiles row by row in a near-square grid (columns = ceil(sqrt(count))).
GridLayout reading_grid(std::size_t count, int tile_width, int tile_height, int gap);

// The grid image with tile i (tile_width x tile_height x channels, row-major, interleaved) at cell i and
// `background` (one value per channel) everywhere else. Throws std::invalid_argument when a tile's size
// is wrong.
std::vector<uint8_t> compose_grid(const GridLayout& layout, const std::vector<std::vector<uint8_t>>& tiles,
                                  const std::vector<uint8_t>& background);
std::vector<uint16_t> compose_grid(const GridLayout& layout, const std::vector<std::vector<uint16_t>>& tiles,
                                   const std::vector<uint16_t>& background);

} // namespace attnscope
