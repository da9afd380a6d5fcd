// The visualizer driven end to end: the real program runs a script under a virtual display (xvfb-run, see
// tests/CMakeLists.txt) and the screenshots' key regions are checked, not their exact pixels (fonts vary).
#include "io/png_file.h"
#include "test_util.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace attnscope::test {
namespace {

struct Shot {
    Image8 image;
    nlohmann::json regions;

    // Mean and standard deviation of one channel-summed value over a recorded region (shrunk by 2 pixels
    // so outlines do not count).
    std::array<double, 3> mean(const std::string& region) const {
        std::array<double, 3> sum{};
        size_t n = 0;
        for_each(region, [&](const uint8_t* p) {
            for (int c = 0; c < 3; ++c) sum[c] += p[c];
            ++n;
        });
        for (auto& v : sum) v /= std::max<size_t>(1, n);
        return sum;
    }
    double stddev(const std::string& region) const {
        const auto m = mean(region);
        double acc = 0;
        size_t n = 0;
        for_each(region, [&](const uint8_t* p) {
            for (int c = 0; c < 3; ++c) acc += (p[c] - m[c]) * (p[c] - m[c]);
            ++n;
        });
        return std::sqrt(acc / std::max<size_t>(1, n * 3));
    }
    template <typename F> void for_each(const std::string& region, F f) const {
        const auto& r = regions.at("regions").at(region);
        const int x0 = static_cast<int>(r[0].get<double>()) + 2,
                  y0 = static_cast<int>(r[1].get<double>()) + 2;
        const int x1 = x0 + static_cast<int>(r[2].get<double>()) - 4,
                  y1 = y0 + static_cast<int>(r[3].get<double>()) - 4;
        for (int y = std::max(0, y0); y < std::min(image.height, y1); ++y)
            for (int x = std::max(0, x0); x < std::min(image.width, x1); ++x)
                f(&image.pixels[(static_cast<size_t>(y) * image.width + x) * image.channels]);
    }
    bool has(const std::string& region) const { return regions.at("regions").contains(region); }
};

Shot load_shot(const std::string& path) {
    Shot s{read_png(path), {}};
    std::ifstream in(path + ".json");
    in >> s.regions;
    return s;
}

double mean_abs_difference(const Shot& a, const Shot& b, const std::string& region) {
    double acc = 0;
    size_t n = 0;
    std::vector<const uint8_t*> pa;
    a.for_each(region, [&](const uint8_t* p) { pa.push_back(p); });
    b.for_each(region, [&](const uint8_t* p) {
        if (n < pa.size())
            for (int c = 0; c < 3; ++c) acc += std::abs(p[c] - pa[n][c]);
        ++n;
    });
    return acc / std::max<size_t>(1, n * 3);
}

class GuiScript : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        const auto script = dir_->file("script.txt");
        std::ofstream(script) << "load " ATTNSCOPE_TEST_DATA "/pipeline_v1_small\n"
                                 "prompt \"a photo of a cat sitting on a red chair\"\n"
                                 "size 64x48\nsteps 3\nseed 7\nsession\n"
                                 "step 2\n"
                                 "select-token 2\nselect-index 4\n"
                              << "screenshot " << dir_->file("cross_photo.png") << "\n"
                              << "select-token 5\n"
                              << "screenshot " << dir_->file("cross_cat.png") << "\n"
                              << "export-map " << dir_->file("map.png") << "\n"
                              << "click 0.7 0.2\nselect-head 3\n"
                              << "screenshot " << dir_->file("self.png") << "\n"
                              << "colormap gray\n"
                              << "screenshot " << dir_->file("gray.png") << "\n"
                              << "load /nonexistent/model\nexpect-error \"does not exist\"\n"
                              << "step\n"
                              << "screenshot " << dir_->file("after_failed_load.png") << "\n"
                              << "quit\n";
        const std::string command = std::string(ATTNSCOPE_CLI) + " gui --window 1280x800 --script " + script +
                                    " > " + dir_->file("log.txt") + " 2>&1";
        const int status = std::system(command.c_str());
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        std::ifstream log(dir_->file("log.txt"));
        log_.assign(std::istreambuf_iterator<char>(log), {});
    }
    static void TearDownTestSuite() { delete dir_; }
    static Shot shot(const std::string& name) { return load_shot(dir_->file(name)); }

    static TempDir* dir_;
    static int exit_code_;
    static std::string log_;
};
TempDir* GuiScript::dir_ = nullptr;
int GuiScript::exit_code_ = -1;
std::string GuiScript::log_;

TEST_F(GuiScript, RunsToTheEnd) {
    ASSERT_EQ(exit_code_, 0) << log_;
}

TEST_F(GuiScript, HeatmapOverlayIsNotUniform) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("cross_photo.png");
    ASSERT_TRUE(s.has("image"));
    EXPECT_GT(s.regions["regions"]["image"][2].get<double>(), 200);
    EXPECT_GT(s.stddev("image"), 5.0);
}

TEST_F(GuiScript, OverlayFollowsTheSelectedToken) {
    ASSERT_EQ(exit_code_, 0) << log_;
    EXPECT_GT(mean_abs_difference(shot("cross_photo.png"), shot("cross_cat.png"), "image"), 1.0);
    // The image underneath is the same step's x0: only the overlay changed.
    EXPECT_GT(mean_abs_difference(shot("cross_cat.png"), shot("self.png"), "image"), 1.0);
}

TEST_F(GuiScript, IndexGridHasSixteenTilesWithDifferentMaps) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("cross_photo.png");
    std::set<std::array<int, 3>> distinct;
    for (int i = 1; i <= 16; ++i) {
        const auto name = "index" + std::to_string(i);
        ASSERT_TRUE(s.has(name)) << name;
        const auto m = s.mean(name);
        distinct.insert({static_cast<int>(m[0]), static_cast<int>(m[1]), static_cast<int>(m[2])});
    }
    EXPECT_GE(distinct.size(), 12u);
    // Sites at the finest scale have several pixels: their tiles are not flat.
    EXPECT_GT(s.stddev("index1"), 3.0);
}

TEST_F(GuiScript, HeadGridShowsEveryHeadThenMeanAndMax) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("self.png");
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(s.has("head" + std::to_string(i))) << i; // 8 heads + mean + max
    EXPECT_FALSE(s.has("head10"));
    EXPECT_NE(s.mean("head0"), s.mean("head1"));
}

TEST_F(GuiScript, SelfAttentionMarksTheQueryPixel) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("self.png");
    ASSERT_TRUE(s.has("query"));
    int cyan = 0;
    s.for_each("query", [&](const uint8_t* p) { cyan += p[0] < 40 && p[1] > 215 && p[2] > 215; });
    EXPECT_GT(cyan, 4);
    EXPECT_FALSE(shot("cross_cat.png").has("query"));
}

TEST_F(GuiScript, PanelsHaveTheThemeBackground) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("cross_photo.png");
    ASSERT_TRUE(s.has("background"));
    const auto m = s.mean("background");
    EXPECT_NEAR(m[0], 28, 3);
    EXPECT_NEAR(m[1], 31, 3);
    EXPECT_NEAR(m[2], 36, 3);
    EXPECT_LT(s.stddev("background"), 1.0);
}

TEST_F(GuiScript, GrayColormapGivesAGrayColorBar) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto viridis = shot("self.png"), gray = shot("gray.png");
    int colored = 0, grey = 0;
    viridis.for_each("colorbar", [&](const uint8_t* p) { colored += std::abs(p[0] - p[1]) > 20; });
    gray.for_each("colorbar", [&](const uint8_t* p) { grey += p[0] == p[1] && p[1] == p[2]; });
    EXPECT_GT(colored, 100);
    size_t n = 0;
    gray.for_each("colorbar", [&](const uint8_t*) { ++n; });
    EXPECT_EQ(static_cast<size_t>(grey), n);
}

TEST_F(GuiScript, ExportsTheMapAtTheSiteResolution) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto map = read_png(dir_->file("map.png"));
    // Index 4 sits at the second level: a 64x48 image is an 8x6 latent, 4x3 there.
    EXPECT_EQ(map.width, 4);
    EXPECT_EQ(map.height, 3);
    std::set<uint32_t> colors;
    for (int p = 0; p < map.width * map.height; ++p) {
        const auto* c = &map.pixels[static_cast<size_t>(p) * map.channels];
        colors.insert(c[0] << 16 | c[1] << 8 | c[2]);
    }
    EXPECT_GT(colors.size(), 3u);
}

TEST_F(GuiScript, AFailedLoadKeepsThePreviousModel) {
    // The script expects the load error, then steps the previous model's session once more.
    ASSERT_EQ(exit_code_, 0) << log_;
    EXPECT_TRUE(shot("after_failed_load.png").has("image"));
}

TEST(GuiScriptErrors, UnknownCommandNamesTheLine) {
    TempDir dir;
    std::ofstream(dir.file("bad.txt")) << "# a comment\nstep\nfrobnicate 3\n";
    const auto r = run_cli("gui --script " + dir.file("bad.txt"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("bad.txt:3: unknown command 'frobnicate'"), std::string::npos) << r.output;
}

TEST(GuiScriptErrors, AWorkerErrorEndsTheScript) {
    TempDir dir;
    std::ofstream(dir.file("fail.txt")) << "load /nonexistent/model\nstep\n";
    const auto r = run_cli("gui --script " + dir.file("fail.txt"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("fail.txt:1 (load)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
}

} // namespace
} // namespace attnscope::test
