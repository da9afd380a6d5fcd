// `attnscope maps` as a user runs it, on a capture that `attnscope generate --capture` wrote with the small
// fixture model: the raw maps equal softmax(QK^T * scale) recomputed here in float64 from the captured Q and
// K (one head or the mean or max, summed over sites and averaged over steps as DAAM does); the 16-bit PNG
// holds the documented scaling of those values and the colour PNG the table's colour of each; grids are the
// size their layout says with every tile in its place; bad requests get one line and the right exit code.
#include "capture/attention_maps.h"
#include "capture/capture_file.h"
#include "io/image_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "render/colormap.h"
#include "render/grid.h"
#include "test_capture_fixtures.h"
#include "test_json.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <stb/stb_image.h>

namespace attnscope {
namespace {

constexpr int kWidth = test::CliCapture::kWidth, kHeight = test::CliCapture::kHeight, kHeads = 8;

using test::read_json;

std::vector<uint16_t> read_png16(const std::string& path, int& width, int& height) {
    int channels = 0;
    const std::unique_ptr<stbi_us, void (*)(void*)> pixels(
        stbi_load_16(path.c_str(), &width, &height, &channels, 0), stbi_image_free);
    if (!pixels || channels != 1) {
        ADD_FAILURE() << path << ": not a one-channel 16-bit PNG stb can read";
        return {};
    }
    return {pixels.get(), pixels.get() + static_cast<std::size_t>(width) * height};
}

// The shared capture (test_capture_fixtures.h): 2 steps with a negative prompt, both guidance halves.
class CliMaps : public test::CliCaptureSuite<CliMaps> {
  protected:
    static const CaptureStore& store() { return test::cli_capture().loaded.store; }
    static nlohmann::json run_summary() { return read_json(test::cli_capture().summary); }

    // `attnscope maps --capture C --out DIR <args>`; DIR is returned.
    static std::string maps(const std::string& name, const std::string& args) {
        const auto out = dir_->file(name);
        const auto r = test::run_cli("maps --capture " + capture() + " --out " + out + " " + args);
        EXPECT_EQ(r.rc, 0) << r.output;
        return out;
    }
    static at::Tensor saved(const std::string& out, const std::string& tensor) {
        return SafetensorsFile(out + "/maps.safetensors").load(tensor).to(at::kDouble);
    }

    // P of one head of one guidance half, (Sq, Sk) in float64 from the captured Q and K alone.
    static at::Tensor probs(int step, int index, AttentionKind kind, int batch, int head) {
        const auto* c = store().find(step, index, kind);
        EXPECT_NE(c, nullptr);
        const int row = batch * c->site.heads + head;
        const auto q = c->q[row].to(at::kDouble), k = c->k[row].to(at::kDouble);
        return at::softmax(at::matmul(q, k.t()) / std::sqrt(double(q.size(1))), 1);
    }

    // The cond half's mean over heads of the summed token columns at one site, (h, w).
    static at::Tensor cross_mean(int step, int index, const std::vector<int64_t>& tokens) {
        const auto& site = store().find(step, index, AttentionKind::Cross)->site;
        at::Tensor sum = at::zeros({site.height * site.width}, at::kDouble);
        for (int h = 0; h < site.heads; ++h)
            for (const auto t : tokens) sum += probs(step, index, AttentionKind::Cross, 1, h).select(1, t);
        return (sum / site.heads).reshape({site.height, site.width});
    }

    static at::Tensor upsample(const at::Tensor& map, int height, int width) {
        return at::upsample_bilinear2d(map.unsqueeze(0).unsqueeze(0), {height, width}, false, c10::nullopt,
                                       c10::nullopt)
            .squeeze(0)
            .squeeze(0);
    }
};

// The positions of a word's tokens, read from the summary generate wrote.
std::vector<int64_t> positions_of(const nlohmann::json& summary, const std::string& word) {
    std::vector<int64_t> out;
    for (const auto& t : summary["prompt"]["tokens"])
        if (t["word"] == word) out.push_back(t["position"].get<int64_t>());
    return out;
}

void expect_close(const at::Tensor& got, const at::Tensor& expected, const std::string& what) {
    ASSERT_EQ(got.sizes(), expected.sizes()) << what;
    EXPECT_LT(test::rel_l2(got, expected), 1e-5) << what;
    EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5 * expected.abs().max().item<double>())
        << what;
}

// map16.png holds round((v - lo) / (hi - lo) * 65535) of every value, lo and hi as maps.json records them.
void expect_png16_matches(const std::string& file, const at::Tensor& map, double lo, double hi, int x0 = 0,
                          int y0 = 0) {
    int w = 0, h = 0;
    const auto gray = read_png16(file, w, h);
    ASSERT_FALSE(gray.empty());
    const auto m = map.to(at::kFloat).contiguous();
    const float* v = m.data_ptr<float>();
    for (int64_t y = 0; y < m.size(0); ++y)
        for (int64_t x = 0; x < m.size(1); ++x) {
            const double t = std::clamp((double(v[y * m.size(1) + x]) - lo) / (hi - lo), 0.0, 1.0);
            ASSERT_EQ(gray[(y0 + y) * w + x0 + x], std::lround(t * 65535)) << file << " at " << x << "," << y;
        }
}

// Every pixel of the colour PNG is the table's entry for its value; a value within a rounding error of the
// boundary between two entries may take either.
void expect_colours_match(const Image8& png, const at::Tensor& map, double lo, double hi, const Lut& lut,
                          int x0 = 0, int y0 = 0) {
    ASSERT_EQ(png.channels, 3);
    const auto m = map.to(at::kFloat).contiguous();
    const float* v = m.data_ptr<float>();
    for (int64_t y = 0; y < m.size(0); ++y)
        for (int64_t x = 0; x < m.size(1); ++x) {
            const double t = std::clamp((double(v[y * m.size(1) + x]) - lo) / (hi - lo), 0.0, 1.0) * 255;
            const auto at = ((y0 + y) * png.width + x0 + x) * 3;
            const Rgb8 got{png.pixels[at], png.pixels[at + 1], png.pixels[at + 2]};
            const auto entry = static_cast<std::size_t>(std::lround(t));
            const auto below = static_cast<std::size_t>(std::floor(t));
            const bool boundary = std::abs(t - std::floor(t) - 0.5) < 1e-3;
            EXPECT_TRUE(got == lut[entry] || (boundary && (got == lut[below] || got == lut[below + 1])))
                << "pixel " << x << "," << y << " value " << v[y * m.size(1) + x] << " at " << t
                << " of the table";
        }
}

TEST_F(CliMaps, AWordsDaamMapIsTheRecomputedAttention) {
    const auto out = maps("word", "--token circle");
    const auto summary = run_summary();
    const auto tokens = positions_of(summary, "circle");
    ASSERT_FALSE(tokens.empty());

    // Every site's map up-sampled to the image and summed, then the mean of the two steps.
    at::Tensor expected = at::zeros({kHeight, kWidth}, at::kDouble);
    for (int step : {0, 1})
        for (int index = 1; index <= 16; ++index)
            expected += upsample(cross_mean(step, index, tokens), kHeight, kWidth);
    expected /= 2;
    const auto map = saved(out, "map");
    expect_close(map, expected, "DAAM map of 'circle'");

    const auto j = read_json(out + "/maps.json");
    ASSERT_EQ(j["maps"].size(), 1u);
    const auto& about = j["maps"][0];
    EXPECT_EQ(about["steps"], (std::vector<int>{1, 2}));
    EXPECT_EQ(about["sites"].size(), 16u);
    EXPECT_EQ(about["head"], "mean");
    EXPECT_EQ(about["tokens"][0]["position"], tokens[0]);
    EXPECT_EQ(about["tokens"][0]["word"], "circle");
    EXPECT_NEAR(about["stats"]["max"].get<double>(), expected.max().item<double>(), 1e-6);
    EXPECT_NEAR(about["stats"]["mean"].get<double>(), expected.mean().item<double>(), 1e-6);
    const auto p = expected / expected.sum();
    EXPECT_NEAR(about["stats"]["entropy"].get<double>(), -(p * p.log()).sum().item<double>(), 1e-5);
    EXPECT_EQ(j["prompt"], "a red circle left of a blue square");

    // --range auto: the map's own minimum and maximum.
    const double lo = about["png16"]["range"]["lo"], hi = about["png16"]["range"]["hi"];
    EXPECT_EQ(lo, map.min().item<double>());
    EXPECT_EQ(hi, map.max().item<double>());
    expect_png16_matches(out + "/map16.png", map, lo, hi);
    const auto png = read_image(out + "/map.png");
    EXPECT_EQ(png.width, kWidth);
    EXPECT_EQ(png.height, kHeight);
    expect_colours_match(png, map, lo, hi, Colormaps().lut(Colormap::Viridis));
    EXPECT_FALSE(std::filesystem::exists(out + "/grid.png"));
}

TEST_F(CliMaps, OneHeadOfAPixelsSelfAttentionInTheUnconditionalHalf) {
    const int index = 3, head = 5, px = 40, py = 10;
    const auto out = maps("pixel", "--kind self --pixel 40,10 --index 3 --head 5 --batch uncond --step 2 "
                                   "--colormap magma --range 0,0.05");
    const auto& site = store().find(1, index, AttentionKind::Self)->site;
    // The site cell that covers the pixel; its row of P, at the site's own resolution.
    const int64_t row = int64_t{py} * site.height / kHeight * site.width + int64_t{px} * site.width / kWidth;
    const auto expected =
        probs(1, index, AttentionKind::Self, 0, head)[row].reshape({site.height, site.width});
    const auto map = saved(out, "map");
    expect_close(map, expected, "self-attention row");

    const auto j = read_json(out + "/maps.json");
    EXPECT_EQ(j["maps"][0]["head"], "5");
    EXPECT_EQ(j["maps"][0]["steps"], (std::vector<int>{2}));
    EXPECT_EQ(j["maps"][0]["pixel"]["x"], px);
    EXPECT_EQ(j["batch"], "uncond");
    expect_png16_matches(out + "/map16.png", map, 0, 0.05f);
    expect_colours_match(read_image(out + "/map.png"), map, 0, 0.05f, Colormaps().lut(Colormap::Magma));
}

TEST_F(CliMaps, MaxOverHeadsAtARequestedSize) {
    const auto out = maps("max", "--token-index 2,3 --index 16 --head max --step 1:1 --size 20x12");
    const auto& site = store().find(0, 16, AttentionKind::Cross)->site;
    std::vector<at::Tensor> heads;
    for (int h = 0; h < site.heads; ++h) {
        const auto p = probs(0, 16, AttentionKind::Cross, 1, h);
        heads.push_back((p.select(1, 2) + p.select(1, 3)).reshape({site.height, site.width}));
    }
    expect_close(saved(out, "map"), upsample(at::amax(at::stack(heads), 0), 12, 20), "max over heads");
}

TEST_F(CliMaps, TheIndexGridPutsEachSiteWhereTheUNetHasIt) {
    const auto out = maps("grid", "--token red --grid indices --range tile");
    const auto j = read_json(out + "/maps.json");
    // SD v1's sites as the U (column, row): the down path's two a row, the mid block alone in the third
    // column of the last row, the up path's three on the right; gaps of 2 pixels.
    const int cells[16][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 2},
                              {4, 2}, {5, 2}, {3, 1}, {4, 1}, {5, 1}, {3, 0}, {4, 0}, {5, 0}};
    const auto x_of = [&](int index) { return 2 + cells[index - 1][0] * (kWidth + 2); };
    const auto y_of = [&](int index) { return 2 + cells[index - 1][1] * (kHeight + 2); };
    const auto png = read_image(out + "/grid.png");
    EXPECT_EQ(png.width, 2 + 6 * (kWidth + 2));
    EXPECT_EQ(png.height, 2 + 4 * (kHeight + 2));
    EXPECT_EQ(j["grid"]["width"], png.width);
    ASSERT_EQ(j["maps"].size(), 17u); // the main map, then indices 1..16
    const auto summary = run_summary();
    const auto tokens = positions_of(summary, "red");
    const auto lut = Colormaps().lut(Colormap::Viridis);
    for (int index = 1; index <= 16; ++index) {
        const auto& about = j["maps"][index];
        char name[16];
        std::snprintf(name, sizeof name, "index.%02d", index);
        ASSERT_EQ(about["tensor"], name);
        EXPECT_EQ(about["grid"]["x"], x_of(index)) << name;
        EXPECT_EQ(about["grid"]["y"], y_of(index)) << name;
        const auto tile = saved(out, name);
        const auto expected = (upsample(cross_mean(0, index, tokens), kHeight, kWidth) +
                               upsample(cross_mean(1, index, tokens), kHeight, kWidth)) /
                              2;
        expect_close(tile, expected, name);
        // --range tile: each tile scaled by its own extremes.
        const double lo = about["png16"]["range"]["lo"], hi = about["png16"]["range"]["hi"];
        EXPECT_EQ(lo, tile.min().item<double>()) << name;
        EXPECT_EQ(hi, tile.max().item<double>()) << name;
        expect_png16_matches(out + "/grid16.png", tile, lo, hi, x_of(index), y_of(index));
        expect_colours_match(png, tile, lo, hi, lut, x_of(index), y_of(index));
    }
    // The gaps keep the background: the top-left corner and the cell left of index 7 (nothing there).
    EXPECT_EQ(png.pixels[0], 40);
    const auto empty = (y_of(7) * png.width + x_of(1) + 5) * 3;
    EXPECT_EQ((Rgb8{png.pixels[empty], png.pixels[empty + 1], png.pixels[empty + 2]}), (Rgb8{40, 42, 48}));
    // The main map is the DAAM sum the tiles add up to.
    at::Tensor sum = at::zeros({kHeight, kWidth}, at::kDouble);
    for (int index = 1; index <= 16; ++index) {
        char name[16];
        std::snprintf(name, sizeof name, "index.%02d", index);
        sum += saved(out, name);
    }
    expect_close(saved(out, "map"), sum, "main map of the index grid");
}

TEST_F(CliMaps, TheHeadGridShowsEveryHeadThenTheMeanAndMax) {
    const auto out = maps("heads", "--token square --grid heads --index 16 --step 2");
    const auto j = read_json(out + "/maps.json");
    const auto& site = store().find(1, 16, AttentionKind::Cross)->site;
    ASSERT_EQ(site.heads, kHeads);
    const auto layout = reading_grid(kHeads + 2, site.width, site.height, 2);
    const auto png = read_image(out + "/grid.png");
    EXPECT_EQ(png.width, layout.width());
    EXPECT_EQ(png.height, layout.height());
    ASSERT_EQ(j["maps"].size(), kHeads + 3u);
    const auto tokens = positions_of(run_summary(), "square");
    std::vector<at::Tensor> per_head;
    for (int h = 0; h < kHeads; ++h) {
        at::Tensor m = at::zeros({site.height * site.width}, at::kDouble);
        for (const auto t : tokens) m += probs(1, 16, AttentionKind::Cross, 1, h).select(1, t);
        per_head.push_back(m.reshape({site.height, site.width}));
        char name[16];
        std::snprintf(name, sizeof name, "head.%02d", h);
        expect_close(saved(out, name), per_head.back(), name);
    }
    expect_close(saved(out, "head.mean"), at::stack(per_head).mean(0), "mean");
    expect_close(saved(out, "head.max"), at::amax(at::stack(per_head), 0), "max");
    // --range auto on a grid: one range over every tile.
    double lo = 1e9, hi = -1e9;
    for (std::size_t i = 1; i < j["maps"].size(); ++i) {
        const auto t = saved(out, j["maps"][i]["tensor"].get<std::string>());
        lo = std::min(lo, t.min().item<double>());
        hi = std::max(hi, t.max().item<double>());
    }
    for (std::size_t i = 1; i < j["maps"].size(); ++i) {
        EXPECT_EQ(j["maps"][i]["png16"]["range"]["lo"].get<double>(), lo);
        EXPECT_EQ(j["maps"][i]["png16"]["range"]["hi"].get<double>(), hi);
        expect_png16_matches(out + "/grid16.png", saved(out, j["maps"][i]["tensor"].get<std::string>()), lo,
                             hi, layout.tile_x(i - 1), layout.tile_y(i - 1));
    }
}

TEST_F(CliMaps, TheTokenGridHasATilePerPromptToken) {
    const auto out = maps("tokens", "--grid tokens --index 1 --colormap gray");
    const auto j = read_json(out + "/maps.json");
    const auto summary = run_summary();
    std::vector<int64_t> prompt;
    for (const auto& t : summary["prompt"]["tokens"])
        if (t["word"].is_string()) prompt.push_back(t["position"].get<int64_t>());
    ASSERT_EQ(prompt.size(), 8u); // a red circle left of a blue square
    ASSERT_EQ(j["maps"].size(), prompt.size() + 1);
    const auto& site = store().find(0, 1, AttentionKind::Cross)->site;
    const auto layout = reading_grid(prompt.size(), site.width, site.height, 2);
    const auto png = read_image(out + "/grid.png");
    EXPECT_EQ(png.width, layout.width());
    EXPECT_EQ(png.height, layout.height());
    at::Tensor all = at::zeros({site.height, site.width}, at::kDouble);
    for (std::size_t i = 0; i < prompt.size(); ++i) {
        const auto expected = (cross_mean(0, 1, {prompt[i]}) + cross_mean(1, 1, {prompt[i]})) / 2;
        expect_close(saved(out, j["maps"][i + 1]["tensor"].get<std::string>()), expected,
                     "token " + std::to_string(prompt[i]));
        EXPECT_EQ(j["maps"][i + 1]["tokens"][0]["position"], prompt[i]);
        all += expected;
    }
    // Without --token the main map is the whole prompt's.
    expect_close(saved(out, "map"), all, "the prompt's tokens summed");
}

TEST_F(CliMaps, AgreesWithTheInProcessMapOfTheLoadedCapture) {
    const auto out = maps("inprocess", "--kind self --pixel 3,47 --index 5,6,8 --size 16x12");
    MapRequest r;
    r.steps = {0, 1};
    r.indices = {5, 6, 8};
    r.kind = AttentionKind::Self;
    r.query_x = 3.5 / kWidth;
    r.query_y = 47.5 / kHeight;
    r.out_width = 16;
    r.out_height = 12;
    const auto expected = attention_map(store(), r).to(at::kDouble);
    ASSERT_EQ(saved(out, "map").sizes(), expected.sizes());
    EXPECT_LT(test::rel_l2(saved(out, "map"), expected), 1e-6);
}

TEST_F(CliMaps, ExplainsBadRequestsInOneLine) {
    const auto run = [&](const std::string& args) {
        return test::run_cli("maps --capture " + capture() + " --out " + dir_->file("bad") + " " + args);
    };
    auto r = run("--token dog");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(
        r.output.find("no word 'dog' in the prompt (its words: 'a', 'red', 'circle', 'left', 'of', 'blue', "
                      "'square')"),
        std::string::npos)
        << r.output;
    r = run("--token blurry --batch uncond");
    EXPECT_EQ(r.rc, 0) << r.output; // the negative prompt's word, in its own half
    r = run("--token circle --step 3");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("step 3 is not in the capture (it holds 1 to 2)"), std::string::npos) << r.output;
    r = run("--token circle --head 8 --index 1");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("head 8 does not exist at index 1 cross"), std::string::npos) << r.output;
    r = run("--kind self --pixel 64,0");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("pixel 64,0 is outside the 64x48 image"), std::string::npos) << r.output;
    r = run("--kind self");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("a self-attention map needs the query pixel: --pixel X,Y"), std::string::npos)
        << r.output;
    r = run("--token circle --range 0.5,0.1");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad --range '0.5,0.1'"), std::string::npos) << r.output;
    r = run("--token circle --grid heads");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("--grid heads shows the heads of one site: give --index N"), std::string::npos)
        << r.output;
    r = run("--token circle --index 0");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad --index '0'"), std::string::npos) << r.output;
    // Which sites exist is the model's numbering, as the capture holds it: SD's has no 17th.
    r = run("--token circle --index 17");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("index 17 cross-attention is not in the capture"), std::string::npos) << r.output;
    r = test::run_cli("maps --capture " + test::cli_capture().summary + " --token circle --out " +
                      dir_->file("bad2"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("summary.json"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir_->file("bad2")));
}

} // namespace
} // namespace attnscope
