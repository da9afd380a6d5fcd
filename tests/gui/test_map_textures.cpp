// The maps' GL side without a window: a headless EGL context (on an NVIDIA GPU when there is one, so CUDA-GL
// interop can be tried; else Mesa's software renderer), maps written by each MapWriter, coloured by the
// shader, read back and compared with a computation on the CPU and with each other.
#include "gui/colormap_shader.h"
#include "gui/egl_context.h"
#include "gui/gl_api.h"
#include "gui/map_slots.h"
#include "gui/map_writer.h"
#ifdef ATTNSCOPE_HAVE_CUDA
#include "gui/map_writer_cuda.h"

#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace attnscope::gui {
namespace {

// Every entry different in every channel, so an entry off by more than one shows.
Lut test_lut() {
    Lut lut{};
    for (int i = 0; i < 256; ++i)
        lut[static_cast<size_t>(i)] = {static_cast<uint8_t>(i), static_cast<uint8_t>(255 - i),
                                       static_cast<uint8_t>((i * 7) % 256)};
    return lut;
}

// A map whose values sweep past both ends of [lo, hi], with every row and column different.
ViewMap test_map(int width, int height, float phase) {
    ViewMap m;
    m.width = width;
    m.height = height;
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            m.values.push_back(0.55f + 0.8f * std::sin(phase + 0.37f * x + 1.3f * y) + 0.01f * y);
    const auto [lo, hi] = std::minmax_element(m.values.begin(), m.values.end());
    m.min_value = *lo;
    m.max_value = *hi;
    return m;
}

// The table entry colorize() picks on the CPU.
int cpu_entry(float v, float lo, float hi) {
    const float span = hi - lo;
    const float t = span > 0 ? (v - lo) / span : 0.5f;
    return static_cast<int>(std::clamp(t, 0.0f, 1.0f) * 255.0f + 0.5f);
}

std::vector<uint8_t> read_colors(const Texture& t) {
    std::vector<uint8_t> rgba(static_cast<size_t>(t.width()) * t.height() * 4);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glBindTexture(GL_TEXTURE_2D, t.id());
    glGetTexImage(GL_TEXTURE_2D, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
    return rgba;
}

std::vector<float> read_values(const Texture& t) {
    std::vector<float> values(static_cast<size_t>(t.width()) * t.height());
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glBindTexture(GL_TEXTURE_2D, t.id());
    glGetTexImage(GL_TEXTURE_2D, 0, GL_RED, GL_FLOAT, values.data());
    return values;
}

// Every texel is the table entry of its value, or a neighbour of it (the GPU's division may round the other
// way at an entry's edge), with alpha 255.
void expect_colored(const Texture& colors, const ViewMap& map, float lo, float hi, const Lut& lut) {
    ASSERT_EQ(colors.width(), map.width);
    ASSERT_EQ(colors.height(), map.height);
    const auto rgba = read_colors(colors);
    int exact = 0;
    for (size_t p = 0; p < map.values.size(); ++p) {
        const int want = cpu_entry(map.values[p], lo, hi);
        int got = -1;
        for (const int e : {want, want - 1, want + 1})
            if (e >= 0 && e < 256 &&
                std::equal(lut[static_cast<size_t>(e)].begin(), lut[static_cast<size_t>(e)].end(),
                           rgba.begin() + static_cast<std::ptrdiff_t>(p * 4)))
                got = e;
        ASSERT_GE(got, 0) << "texel " << p % map.width << "," << p / map.width << " value " << map.values[p]
                          << ": entry " << want << " wanted, got rgb " << int(rgba[p * 4]) << " "
                          << int(rgba[p * 4 + 1]) << " " << int(rgba[p * 4 + 2]);
        EXPECT_EQ(rgba[p * 4 + 3], 255);
        exact += got == want;
    }
    EXPECT_GE(exact, static_cast<int>(map.values.size() * 9 / 10));
}

class MapTextures : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { gl_ = std::make_unique<EglContext>(); }
    static void TearDownTestSuite() { gl_.reset(); }
    void SetUp() override {
        ASSERT_TRUE(gl_->error().empty()) << "no headless OpenGL: " << gl_->error();
        pool_ = std::make_unique<TexturePool>();
        pool_->set_pipeline(std::make_unique<ColormapShader>(), std::make_unique<HostUpload>(), "test");
    }
    void TearDown() override {
        pool_.reset();
        if (gl_->error().empty()) {
            EXPECT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR));
        }
    }

    static inline std::unique_ptr<EglContext> gl_;
    std::unique_ptr<TexturePool> pool_;
};

TEST_F(MapTextures, HostUploadKeepsTheValuesAndTheShaderColoursThemLikeTheCpu) {
    const auto lut = test_lut();
    pool_->shader()->set_lut(lut);
    // An odd width: rows of 13 floats, and row 0 must stay row 0.
    const auto map = test_map(13, 7, 0.2f);
    auto& t = pool_->take(kMainSlot, map.width, map.height);
    pool_->writer()->write({{&map, &t.values}});
    EXPECT_EQ(read_values(t.values), map.values);
    for (const auto& [lo, hi] : {std::pair{map.min_value, map.max_value}, std::pair{0.1f, 0.9f},
                                 std::pair{-2.0f, 3.0f}, std::pair{0.5f, 0.5f}}) {
        SCOPED_TRACE(std::to_string(lo) + ".." + std::to_string(hi));
        pool_->shader()->paint(t, lo, hi);
        expect_colored(t.colors, map, lo, hi, lut);
    }
}

TEST_F(MapTextures, PaintingLeavesTheGlStateAsItWas) {
    const auto map = test_map(5, 4, 0);
    auto& t = pool_->take(kMainSlot, map.width, map.height);
    pool_->writer()->write({{&map, &t.values}});
    pool_->shader()->set_lut(test_lut());
    glViewport(1, 2, 30, 40);
    glEnable(GL_BLEND);
    glActiveTexture(GL_TEXTURE3);
    pool_->shader()->paint(t, 0, 1);
    GLint viewport[4], framebuffer = -1, program = -1, active = 0;
    glGetIntegerv(GL_VIEWPORT, viewport);
    glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &framebuffer);
    glGetIntegerv(GL_CURRENT_PROGRAM, &program);
    glGetIntegerv(GL_ACTIVE_TEXTURE, &active);
    EXPECT_EQ(std::vector<GLint>(viewport, viewport + 4), (std::vector<GLint>{1, 2, 30, 40}));
    EXPECT_EQ(framebuffer, 0);
    EXPECT_EQ(program, 0);
    EXPECT_EQ(active, GL_TEXTURE3);
    EXPECT_TRUE(glIsEnabled(GL_BLEND));
    glDisable(GL_BLEND);
    glActiveTexture(GL_TEXTURE0);
}

// What the worker hands over for one selection of a model with 16 sites at four scales (latent 16x12):
// the main map at the selected site's size, the 16 index thumbnails, 8 heads plus the mean and the max.
MapResults selection(int index, int head, int token) {
    const auto size = [](int i) {
        const int level = i <= 2 || i >= 14 ? 0 : i <= 4 || i >= 11 ? 1 : i == 7 ? 3 : 2;
        return std::pair{16 >> level, 12 >> level};
    };
    const float phase = 0.01f * token + 0.1f * head;
    MapResults r;
    r.main = test_map(size(index).first, size(index).second, phase);
    for (int i = 1; i <= 16; ++i) r.index_maps.push_back(test_map(size(i).first, size(i).second, phase + i));
    for (int h = 0; h < 10; ++h)
        r.head_maps.push_back(test_map(size(index).first, size(index).second, phase + 0.5f * h));
    return r;
}

TEST_F(MapTextures, NormalizationPicksTheRangeEachSlotIsPaintedWith) {
    const auto lut = test_lut();
    const auto maps = selection(3, 2, 5);
    write_maps(*pool_, maps);
    MapDisplay display;
    display.normalization = Normalization::PerMap;
    auto main_range = paint_maps(*pool_, maps, display, lut).main;
    EXPECT_EQ(main_range.lo, maps.main.min_value);
    expect_colored(pool_->slot(index_slot(7))->colors, maps.index_maps[6], maps.index_maps[6].min_value,
                   maps.index_maps[6].max_value, lut);

    display.normalization = Normalization::Fixed;
    display.fixed_lo = 0.2f;
    display.fixed_hi = 0.7f;
    main_range = paint_maps(*pool_, maps, display, lut).main;
    EXPECT_EQ(main_range.hi, 0.7f);
    expect_colored(pool_->slot(head_slot(4))->colors, maps.head_maps[4], 0.2f, 0.7f, lut);

    display.normalization = Normalization::Global;
    main_range = paint_maps(*pool_, maps, display, lut).main;
    float lo = maps.main.min_value, hi = maps.main.max_value;
    for (const auto& m : maps.index_maps) {
        lo = std::min(lo, m.min_value);
        hi = std::max(hi, m.max_value);
    }
    EXPECT_EQ(main_range.lo, lo);
    EXPECT_EQ(main_range.hi, hi);
    expect_colored(pool_->slot(index_slot(12))->colors, maps.index_maps[11], lo, hi, lut);

    // The colour bar is the table itself, whatever the normalization.
    ASSERT_NE(pool_->slot(kColorbarSlot), nullptr);
    const auto bar = read_colors(pool_->slot(kColorbarSlot)->colors);
    ASSERT_EQ(bar.size(), 256u * 4);
    for (size_t i = 0; i < 256; ++i)
        EXPECT_TRUE(std::equal(lut[i].begin(), lut[i].end(), bar.begin() + i * 4)) << i;
}

// cond - uncond is signed: 0 at the table's middle, so equal differences of either sign sit equally far from
// it. The same maps of one guidance half keep their own extremes.
TEST_F(MapTextures, AGuidanceDifferenceIsPaintedOnARangeSymmetricAboutZero) {
    const auto lut = test_lut();
    auto maps = selection(3, 2, 5);
    maps.request.half = GuidanceHalf::Diff;
    write_maps(*pool_, maps);
    const auto about_zero = [](const ViewMap& m) {
        return std::max(std::abs(m.min_value), std::abs(m.max_value));
    };
    MapDisplay display;
    auto range = paint_maps(*pool_, maps, display, lut).main;
    const float m = about_zero(maps.main);
    ASSERT_LT(maps.main.min_value, 0); // the test maps are signed, not symmetric
    ASSERT_NE(-maps.main.min_value, maps.main.max_value);
    EXPECT_EQ(range.lo, -m);
    EXPECT_EQ(range.hi, m);
    expect_colored(pool_->slot(kMainSlot)->colors, maps.main, -m, m, lut);
    const float m7 = about_zero(maps.index_maps[6]);
    expect_colored(pool_->slot(index_slot(7))->colors, maps.index_maps[6], -m7, m7, lut);

    display.normalization = Normalization::Global;
    range = paint_maps(*pool_, maps, display, lut).main;
    float all = m;
    for (const auto& map : maps.index_maps) all = std::max(all, about_zero(map));
    EXPECT_EQ(range.lo, -all);
    EXPECT_EQ(range.hi, all);

    // A fixed range is the user's, as given.
    display.normalization = Normalization::Fixed;
    display.fixed_lo = -0.1f;
    display.fixed_hi = 0.3f;
    range = paint_maps(*pool_, maps, display, lut).main;
    EXPECT_EQ(range.lo, -0.1f);
    EXPECT_EQ(range.hi, 0.3f);

    display.normalization = Normalization::PerMap;
    maps.request.half = GuidanceHalf::Cond;
    range = paint_maps(*pool_, maps, display, lut).main;
    EXPECT_EQ(range.lo, maps.main.min_value);
    EXPECT_EQ(range.hi, maps.main.max_value);
}

TEST_F(MapTextures, PairsShareOneRangeAndTheirDifferenceHasItsOwn) {
    const auto lut = test_lut();
    auto maps = selection(4, 1, 3);
    maps.compare.a = test_map(8, 6, 0.3f);
    maps.compare.b = test_map(8, 6, 0.9f);
    maps.compare.b.values[5] = maps.compare.b.max_value = 2.5f; // B reaches higher: the shared range is B's
    maps.compare.diff = test_map(8, 6, 1.7f);
    maps.branch.a = test_map(8, 6, 0.1f);
    maps.branch.b = maps.branch.a;
    maps.branch.diff = test_map(8, 6, 0);
    std::fill(maps.branch.diff.values.begin(), maps.branch.diff.values.end(), 0.0f);
    maps.branch.diff.min_value = maps.branch.diff.max_value = 0;
    maps.divergence_self = test_map(3, 16, 0.5f);
    maps.divergence_range = {-8, 0};
    write_maps(*pool_, maps);
    MapDisplay display;
    const auto ranges = paint_maps(*pool_, maps, display, lut);

    const ValueRange both{std::min(maps.compare.a.min_value, maps.compare.b.min_value), 2.5f};
    EXPECT_EQ(ranges.compare.lo, both.lo);
    EXPECT_EQ(ranges.compare.hi, both.hi);
    expect_colored(pool_->slot(kComparePair)->colors, maps.compare.a, both.lo, both.hi, lut);
    expect_colored(pool_->slot(kComparePair + 1)->colors, maps.compare.b, both.lo, both.hi, lut);
    expect_colored(pool_->slot(kComparePair + 2)->colors, maps.compare.diff, 0, maps.compare.diff.max_value,
                   lut);
    // No difference at all is the bottom of the table, not the middle a flat range would give.
    EXPECT_EQ(ranges.branch_diff.lo, 0);
    EXPECT_EQ(ranges.branch_diff.hi, 1);
    expect_colored(pool_->slot(kBranchPair + 2)->colors, maps.branch.diff, 0, 1, lut);
    // The divergence grid keeps its own scale whatever the normalization, and no cross grid was sent.
    display.normalization = Normalization::Fixed;
    paint_maps(*pool_, maps, display, lut);
    expect_colored(pool_->slot(kDivergenceSlot)->colors, maps.divergence_self, -8, 0, lut);
    EXPECT_EQ(pool_->slot(kDivergenceSlot + 1), nullptr);
}

TEST_F(MapTextures, ScrollingThroughIndicesHeadsAndTokensAllocatesNothingAfterWarmUp) {
    const auto lut = test_lut();
    const MapDisplay display;
    // Warm-up: every index once (each size of the model as the main map and the head tiles).
    for (int index = 1; index <= 16; ++index) {
        write_maps(*pool_, selection(index, 0, 1));
        paint_maps(*pool_, selection(index, 0, 1), display, lut);
    }
    const size_t warm = pool_->allocations();
    EXPECT_GT(warm, 0u);
    for (int index = 1; index <= 16; ++index)
        for (int head = 0; head < 8; ++head)
            for (int token = 1; token < 77; ++token) {
                const auto maps = selection(index, head, token);
                write_maps(*pool_, maps);
                paint_maps(*pool_, maps, display, lut);
                ASSERT_EQ(pool_->allocations(), warm)
                    << "index " << index << " head " << head << " token " << token;
            }
    // Pairs of a size are as many as one selection shows at once: 16x12, 8x6 and 4x3 have 5 index tiles and
    // the main map and 10 heads when selected, 2x1 one tile plus 11; then the colour bar. Two textures each.
    EXPECT_EQ(warm, 2u * (16 + 16 + 16 + 12 + 1));
}

TEST_F(MapTextures, InteropWritesTheSameTexturesAsTheHostUpload) {
#ifndef ATTNSCOPE_HAVE_CUDA
    GTEST_SKIP() << "built without CUDA";
#else
    std::string why_not;
    auto interop = make_cuda_interop_writer(std::max(0, gl_->cuda_device()), why_not);
    if (!interop)
        GTEST_SKIP() << "no CUDA-GL interop here (GL renderer " << gl_->renderer() << "): " << why_not;
    const auto lut = test_lut();
    const int device = std::max(0, gl_->cuda_device());
    ASSERT_EQ(cudaSetDevice(device), cudaSuccess);

    // The same selection twice: on the host, and in CUDA memory with no host values (as the worker sends it).
    const auto host = selection(5, 3, 9);
    auto on_device = host;
    std::vector<void*> buffers;
    const auto to_device = [&](ViewMap& m) {
        void* d = nullptr;
        ASSERT_EQ(cudaMalloc(&d, m.values.size() * sizeof(float)), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(d, m.values.data(), m.values.size() * sizeof(float), cudaMemcpyHostToDevice),
                  cudaSuccess);
        buffers.push_back(d);
        m.device.data = static_cast<const float*>(d);
        m.device.device = device;
        m.values.clear();
    };
    for (auto& m : on_device.index_maps) to_device(m);
    for (auto& m : on_device.head_maps) to_device(m);
    to_device(on_device.main);

    TexturePool interop_pool;
    interop_pool.set_pipeline(std::make_unique<ColormapShader>(), std::move(interop), {});
    const MapDisplay display;
    write_maps(*pool_, host);
    paint_maps(*pool_, host, display, lut);
    write_maps(interop_pool, on_device);
    paint_maps(interop_pool, on_device, display, lut);
    for (size_t slot = 0; slot < head_slot(host.head_maps.size()); ++slot) {
        SCOPED_TRACE("slot " + std::to_string(slot));
        auto* a = pool_->slot(slot);
        auto* b = interop_pool.slot(slot);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(read_values(a->values), read_values(b->values));
        EXPECT_EQ(read_colors(a->colors), read_colors(b->colors));
    }
    // Written again (the next selection), the same textures are used.
    const size_t allocated = interop_pool.allocations();
    write_maps(interop_pool, on_device);
    EXPECT_EQ(interop_pool.allocations(), allocated);
    for (void* d : buffers) cudaFree(d);
#endif
}

} // namespace
} // namespace attnscope::gui
