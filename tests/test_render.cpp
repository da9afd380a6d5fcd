// The torch-free rendering of maps: the colormap tables read from assets/colormaps, values to colours and
// to 16 bits as documented, and grids that put every tile where the layout says.
#include "model/unet.h"
#include "render/colormap.h"
#include "render/grid.h"
#include "test_util.h"
#include "util/assets.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace attnscope {
namespace {

// The table read by hand: the file's first and last entries and one in the middle.
std::vector<std::array<double, 3>> read_table(const std::string& name) {
    std::istringstream in(test::read_bytes((assets_dir() / "colormaps" / (name + ".txt")).string()));
    std::vector<std::array<double, 3>> rows;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream f(line);
        std::array<double, 3> rgb{};
        f >> rgb[0] >> rgb[1] >> rgb[2];
        rows.push_back(rgb);
    }
    return rows;
}

TEST(Colormap, TablesAreTheBundledFilesInEightBits) {
    const Colormaps maps;
    for (const auto c : {Colormap::Viridis, Colormap::Magma, Colormap::Jet}) {
        const auto rows = read_table(colormap_name(c));
        ASSERT_EQ(rows.size(), 256u) << colormap_name(c);
        for (const std::size_t i : {std::size_t{0}, std::size_t{100}, std::size_t{255}})
            for (int k = 0; k < 3; ++k)
                EXPECT_EQ(maps.lut(c)[i][k], static_cast<int>(std::lround(rows[i][k] * 255)))
                    << colormap_name(c) << " entry " << i;
    }
    EXPECT_EQ(maps.lut(Colormap::Viridis)[0], (Rgb8{68, 1, 84})); // matplotlib's viridis starts #440154
    EXPECT_EQ(maps.lut(Colormap::Gray)[77], (Rgb8{77, 77, 77}));
    for (const auto c : kColormaps) EXPECT_EQ(parse_colormap(colormap_name(c)), c);
    EXPECT_EQ(parse_colormap("hot"), std::nullopt);
}

TEST(Colormap, MalformedTablesNameTheFile) {
    test::TempDir dir;
    test::write_bytes(dir.file("viridis.txt"), "# header\n0 0 0\n1 1 1\n");
    ATTNSCOPE_EXPECT_THROW_WITH(Colormaps{dir.path()}, std::runtime_error,
                                "viridis.txt: expected 256 entries, found 2");
    std::string full;
    for (int i = 0; i < 256; ++i) full += "0.5 0.5 x\n";
    test::write_bytes(dir.file("viridis.txt"), full);
    ATTNSCOPE_EXPECT_THROW_WITH(Colormaps{dir.path()}, std::runtime_error, "viridis.txt: expected 256 lines");
}

TEST(Colormap, ValuesMapLinearlyAndClamp) {
    const Colormaps maps;
    const auto& lut = maps.lut(Colormap::Gray);
    const MapImage map{5, 1, {-1.0f, 0.0f, 0.5f, 1.0f, 2.0f}};
    const ValueRange range{0, 1};
    EXPECT_EQ(colorize_rgb(map, range, lut),
              (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 255, 255}));
    const auto rgba = colorize(map, range, maps.lut(Colormap::Jet));
    ASSERT_EQ(rgba.size(), 20u);
    for (int i = 0; i < 5; ++i) {
        const auto& c = color_of(map.values[i], range, maps.lut(Colormap::Jet));
        EXPECT_EQ((Rgb8{rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]}), c);
        EXPECT_EQ(rgba[i * 4 + 3], 255);
    }
    // A flat map shows the middle of the table.
    EXPECT_EQ(color_of(3.0f, {3.0f, 3.0f}, lut), (Rgb8{128, 128, 128}));
    EXPECT_EQ(value_range(map).lo, -1.0f);
    EXPECT_EQ(value_range(map).hi, 2.0f);
    EXPECT_EQ(merge({0, 1}, {-2, 0.5f}).lo, -2.0f);
    EXPECT_EQ(merge({0, 1}, {-2, 0.5f}).hi, 1.0f);
}

TEST(Colormap, SixteenBitsRoundTheNormalizedValue) {
    const MapImage map{6, 1, {0.1f, 0.35f, 0.6f, 0.2f + 1e-7f, -4.0f, 9.0f}};
    const ValueRange range{0.1f, 0.6f};
    const auto gray = to_gray16(map, range);
    for (int i = 0; i < 6; ++i) {
        const double t =
            std::clamp((double(map.values[i]) - range.lo) / (double(range.hi) - range.lo), 0.0, 1.0);
        EXPECT_EQ(gray[i], static_cast<uint16_t>(std::lround(t * 65535))) << i;
    }
    EXPECT_EQ(gray.front(), 0);
    EXPECT_EQ(gray[2], 65535);
    EXPECT_EQ(to_gray16(map, {1, 1})[0], 32768); // flat: the middle
}

TEST(Colormap, NonFiniteValuesAndRangesTakeTheBottomOfTheScale) {
    // A guidance scale of 1e30 makes maps of NaN; exporting one with a fixed range once read far outside the
    // colour table (a segfault).
    const Colormaps maps;
    const auto& lut = maps.lut(Colormap::Viridis);
    const float nan = std::nanf(""), inf = INFINITY;
    const MapImage map{3, 1, {nan, 0.5f, inf}};
    for (const ValueRange range : {ValueRange{0, 1}, ValueRange{-inf, inf}}) {
        EXPECT_EQ(color_of(nan, range, lut), lut[0]);
        EXPECT_EQ(colorize_rgb(map, range, lut).size(), 9u);
        EXPECT_EQ(to_gray16(map, range)[0], 0);
    }
    EXPECT_EQ(color_of(inf, {0, 1}, lut), lut[255]);
    EXPECT_EQ(color_of(0.5f, {-inf, inf}, lut), lut[0]);
}

std::vector<AttentionSite> sd15_self_sites() {
    std::vector<AttentionSite> self;
    for (const auto& s : unet_attention_sites(unet_config_preset("sd15"), 2, 64, 64, 77))
        if (s.kind == AttentionKind::Self) self.push_back(s);
    return self;
}

TEST(Grid, UnetLayoutReadsLikeTheU) {
    const auto g = unet_grid(sd15_self_sites(), 10, 6, 2);
    ASSERT_EQ(g.cells.size(), 16u);
    EXPECT_EQ(g.width(), 2 + 6 * 12);
    EXPECT_EQ(g.height(), 2 + 4 * 8);
    // One row per resolution (SD v1: 1, 2, 14, 15, 16 at the finest), down path left, up path right, the
    // mid block alone at the bottom.
    const std::vector<std::vector<int>> rows{{1, 2, 14, 15, 16}, {3, 4, 11, 12, 13}, {5, 6, 8, 9, 10}, {7}};
    for (int r = 0; r < 4; ++r) {
        int last_column = -1;
        for (const int index : rows[r]) {
            const auto cell = g.cells[index - 1];
            EXPECT_EQ(cell.row, r) << index;
            EXPECT_GT(cell.column, last_column) << index;
            last_column = cell.column;
        }
    }
    EXPECT_EQ(g.cells[6].column, 2);
    EXPECT_EQ(g.tile_x(13), 2 + 3 * 12); // index 14 starts the up path
    EXPECT_EQ(g.tile_y(6), 2 + 3 * 8);
    EXPECT_EQ(g.bands, (std::vector<int>{0, 1, 2, 3}));

    // Whatever order the sites come in, each keeps its cell.
    auto reversed = sd15_self_sites();
    std::reverse(reversed.begin(), reversed.end());
    const auto r = unet_grid(reversed, 10, 6, 2);
    for (std::size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(r.cells[15 - i].column, g.cells[i].column) << i;
        EXPECT_EQ(r.cells[15 - i].row, g.cells[i].row) << i;
    }
}

// SDXL's shape of U-Net: no attention at the finest level, two transformers a level down, three up, one in
// the mid block; numbered per transformer. Two rows, the mid block under the down path's last column + 1.
TEST(Grid, AnyUNetsSitesReadLikeItsU) {
    std::vector<AttentionSite> sites;
    const auto add = [&](const std::string& module, int side) {
        AttentionSite s;
        s.index = static_cast<int>(sites.size()) + 1;
        s.module = module + ".transformer_blocks.0.attn1";
        s.height = s.width = side;
        sites.push_back(s);
    };
    for (int level : {1, 2})
        for (int a : {0, 1})
            add("down_blocks." + std::to_string(level) + ".attentions." + std::to_string(a), 128 >> level);
    add("mid_block.attentions.0", 32);
    for (int level : {0, 1})
        for (int a : {0, 1, 2})
            add("up_blocks." + std::to_string(level) + ".attentions." + std::to_string(a), 32 << level);
    const auto g = unet_grid(sites, 4, 4, 0);
    EXPECT_EQ(g.columns, 6);
    EXPECT_EQ(g.rows, 2);
    const std::vector<std::pair<int, int>> expected = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 1}, {3, 1},
                                                       {4, 1}, {5, 1}, {3, 0}, {4, 0}, {5, 0}};
    for (std::size_t i = 0; i < sites.size(); ++i) {
        EXPECT_EQ(g.cells[i].column, expected[i].first) << sites[i].module;
        EXPECT_EQ(g.cells[i].row, expected[i].second) << sites[i].module;
    }
    sites[3].module = "conv_in";
    EXPECT_THROW(unet_grid(sites, 4, 4, 0), std::invalid_argument);
}

// SDXL base's depths: each transformer's blocks run down its column, so the 32x32 band is ten rows deep and
// the 64x64 band two; 70 tiles in six columns and twelve rows instead of 66 columns.
TEST(Grid, ATransformersBlocksRunDownItsColumn) {
    std::vector<AttentionSite> sites;
    const auto add = [&](const std::string& transformer, int side, int blocks) {
        for (int b = 0; b < blocks; ++b) {
            AttentionSite s;
            s.index = static_cast<int>(sites.size()) + 1;
            s.module = transformer + ".transformer_blocks." + std::to_string(b) + ".attn2";
            s.height = s.width = side;
            sites.push_back(s);
        }
    };
    for (int a : {0, 1}) add("down_blocks.1.attentions." + std::to_string(a), 64, 2);
    for (int a : {0, 1}) add("down_blocks.2.attentions." + std::to_string(a), 32, 10);
    add("mid_block.attentions.0", 32, 10);
    for (int a : {0, 1, 2}) add("up_blocks.0.attentions." + std::to_string(a), 32, 10);
    for (int a : {0, 1, 2}) add("up_blocks.1.attentions." + std::to_string(a), 64, 2);
    ASSERT_EQ(sites.size(), 70u);
    const auto g = unet_grid(sites, 4, 4, 1);
    EXPECT_EQ(g.columns, 6);
    EXPECT_EQ(g.rows, 12);
    EXPECT_EQ(g.bands, (std::vector<int>{0, 2}));
    const auto cell = [&](int index) { return std::pair{g.cells[index - 1].column, g.cells[index - 1].row}; };
    EXPECT_EQ(cell(1), std::pair(0, 0));
    EXPECT_EQ(cell(2), std::pair(0, 1));
    EXPECT_EQ(cell(4), std::pair(1, 1));
    EXPECT_EQ(cell(5), std::pair(0, 2));
    EXPECT_EQ(cell(14), std::pair(0, 11));
    EXPECT_EQ(cell(25), std::pair(2, 2)); // the mid block's strip
    EXPECT_EQ(cell(34), std::pair(2, 11));
    EXPECT_EQ(cell(35), std::pair(3, 2));
    EXPECT_EQ(cell(64), std::pair(5, 11));
    EXPECT_EQ(cell(65), std::pair(3, 0));
    EXPECT_EQ(cell(70), std::pair(5, 1));
    EXPECT_EQ(g.height(), 1 + 12 * 5);
}

TEST(Grid, TilesLandWhereTheLayoutSays) {
    const auto g = reading_grid(5, 2, 3, 1); // 3 columns, 2 rows
    EXPECT_EQ(g.columns, 3);
    EXPECT_EQ(g.rows, 2);
    std::vector<std::vector<uint16_t>> tiles;
    for (uint16_t t = 0; t < 5; ++t) {
        std::vector<uint16_t> tile;
        for (uint16_t p = 0; p < 6; ++p) tile.push_back(static_cast<uint16_t>(100 * (t + 1) + p));
        tiles.push_back(tile);
    }
    const auto image = compose_grid(g, tiles, {7});
    ASSERT_EQ(image.size(), static_cast<std::size_t>(g.width() * g.height()));
    for (int y = 0; y < g.height(); ++y)
        for (int x = 0; x < g.width(); ++x) {
            uint16_t expected = 7;
            for (std::size_t t = 0; t < tiles.size(); ++t) {
                const int dx = x - g.tile_x(t), dy = y - g.tile_y(t);
                if (dx >= 0 && dx < 2 && dy >= 0 && dy < 3) expected = tiles[t][dy * 2 + dx];
            }
            EXPECT_EQ(image[y * g.width() + x], expected) << x << "," << y;
        }
    EXPECT_EQ(g.tile_x(4), 1 + 1 * 3);
    EXPECT_EQ(g.tile_y(4), 1 + 1 * 4);
    tiles[1].pop_back();
    EXPECT_THROW(compose_grid(g, tiles, {7}), std::invalid_argument);
    EXPECT_THROW(reading_grid(0, 2, 2, 0), std::invalid_argument);
}

} // namespace
} // namespace attnscope
