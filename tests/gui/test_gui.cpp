// The visualizer driven end to end: the real program runs a script under a virtual display (xvfb-run, see
// tests/CMakeLists.txt) and the screenshots' key regions are checked, not their exact pixels (fonts vary).
#include "io/image_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "model/unet.h"
#include "model/unet_loader.h"
#include "test_util.h"
#include "text/prompt_guide.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <stb/stb_image.h>
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
    // The largest channel value in a region.
    int brightest(const std::string& region) const {
        int most = 0;
        for_each(region, [&](const uint8_t* p) { most = std::max({most, int(p[0]), int(p[1]), int(p[2])}); });
        return most;
    }
};

Shot load_shot(const std::string& path) {
    Shot s{read_image(path), {}};
    std::ifstream in(path + ".json");
    in >> s.regions;
    return s;
}

// Between two regions of one size, pixel by pixel.
double mean_abs_difference(const Shot& a, const std::string& region_a, const Shot& b,
                           const std::string& region_b) {
    double acc = 0;
    size_t n = 0;
    std::vector<const uint8_t*> pa;
    a.for_each(region_a, [&](const uint8_t* p) { pa.push_back(p); });
    b.for_each(region_b, [&](const uint8_t* p) {
        if (n < pa.size())
            for (int c = 0; c < 3; ++c) acc += std::abs(p[c] - pa[n][c]);
        ++n;
    });
    return acc / std::max<size_t>(1, n * 3);
}

double mean_abs_difference(const Shot& a, const Shot& b, const std::string& region) {
    return mean_abs_difference(a, region, b, region);
}

// ATTNSCOPE_GUI_TEST_ARGS adds options to every run: "--offscreen --device cuda" runs these tests on the GPU
// machine, which has no display, with CUDA-GL interop.
std::string extra_gui_options() {
    const char* extra = std::getenv("ATTNSCOPE_GUI_TEST_ARGS");
    return extra ? std::string(" ") + extra : std::string();
}

// Runs `script` in the real program in a 1280x800 window (or offscreen, with no display named); returns the
// exit code, the output in `log`.
int run_script(const TempDir& dir, const std::string& script, std::string& log, bool offscreen = false) {
    const auto path = dir.file("script.txt");
    std::ofstream(path) << script;
    const std::string command = std::string(offscreen ? "env -u DISPLAY -u WAYLAND_DISPLAY " : "") +
                                ATTNSCOPE_CLI + " gui --window 1280x800 --script " + path +
                                (offscreen ? " --offscreen" : "") + extra_gui_options() + " > " +
                                dir.file("log.txt") + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(dir.file("log.txt"));
    log.assign(std::istreambuf_iterator<char>(in), {});
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// An exported map's raw values, from its 16-bit PNG and the range its JSON gives.
struct RawMap {
    int width = 0, height = 0;
    std::vector<double> values;
    double step = 0; // one 16-bit level
    nlohmann::json about;
};

RawMap read_exported(const TempDir& dir, const std::string& stem) {
    RawMap m;
    std::ifstream(dir.file(stem + ".json")) >> m.about;
    const auto bytes = read_bytes(dir.file(stem + "16.png"));
    int channels = 0;
    const std::unique_ptr<stbi_us, void (*)(void*)> gray(
        stbi_load_16_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                 static_cast<int>(bytes.size()), &m.width, &m.height, &channels, 0),
        stbi_image_free);
    if (!gray || channels != 1) {
        ADD_FAILURE() << stem << "16.png is not a one-channel 16-bit PNG";
        return m;
    }
    const auto& range = m.about.at("png16").at("range");
    const double lo = range.at("lo"), hi = range.at("hi");
    m.step = (hi - lo) / 65535;
    for (int i = 0; i < m.width * m.height; ++i) m.values.push_back(lo + gray.get()[i] * m.step);
    return m;
}

// Without a display (the GPU machine has none) the same program draws into a headless EGL context, and a
// script can ask how long frames took while the model stepped.
TEST(GuiOffscreen, RunsAScriptWithoutADisplayAndReportsFrameTimes) {
    const TempDir d;
    std::string log;
    const int code =
        run_script(d,
                   "load " ATTNSCOPE_TEST_DATA "/pipeline_v1_small\n"
                   "prompt \"a photo of a cat\"\nsize 64x48\nsteps 3\nseed 7\nsession\n"
                   "frame-stats " +
                       d.file("before.json") + "\nframe-rate 60\nstep 2\nselect-token 2\n" + "frame-stats " +
                       d.file("frames.json") + "\nscreenshot " + d.file("offscreen.png") + "\nquit\n",
                   log, true);
    ASSERT_EQ(code, 0) << log;
    const auto s = load_shot(d.file("offscreen.png"));
    EXPECT_EQ(s.image.width, 1280);
    EXPECT_EQ(s.image.height, 800);
    const auto background = s.mean("background");
    EXPECT_NEAR(background[0], 28, 3);
    EXPECT_NEAR(background[2], 36, 3);
    EXPECT_GT(s.stddev("image"), 5.0);

    nlohmann::json frames;
    std::ifstream(d.file("frames.json")) >> frames;
    EXPECT_EQ(frames.at("surface").get<std::string>().rfind("offscreen (EGL", 0), 0u) << frames.dump();
    EXPECT_EQ(frames.at("frame_rate"), 60.0);
    // The two steps since the first frame-stats, and frames drawn while they ran.
    EXPECT_EQ(frames.at("steps"), 2);
    ASSERT_EQ(frames.at("step_ms").size(), 2u);
    for (const auto& ms : frames.at("step_ms")) EXPECT_GT(ms.get<double>(), 0);
    EXPECT_GE(frames.at("frames").get<int>(), 3);
    // Paced at 60 frames a second: frame to frame at least 1/60 s.
    EXPECT_GE(frames.at("interval_ms").at("median").get<double>(), 16.0);
    const auto& work = frames.at("work_ms");
    EXPECT_GT(work.at("median").get<double>(), 0);
    EXPECT_LE(work.at("median").get<double>(), work.at("max").get<double>());
    EXPECT_LE(work.at("p95").get<double>(), work.at("max").get<double>());
    // The CPU's part comes before presenting, within the whole.
    EXPECT_LE(frames.at("cpu_ms").at("median").get<double>(), work.at("max").get<double>());
    EXPECT_GT(frames.at("cpu_ms").at("max").get<double>(), 0);
}

// The prompt box's guides on the embedded model, offscreen: `random-caption` and `example N` are its buttons,
// and a word the model does not know gets amber chips and a line under them.
TEST(GuiPromptGuide, RandomCaptionsExamplesAndUnknownWords) {
    const TempDir d;
    const std::string model = std::string(ATTNSCOPE_ASSETS_SOURCE) + "/tiny-sd";
    std::string log;
    const int code =
        run_script(d,
                   "load " + model +
                       "\nsteps 1\nrandom-caption\nrandom-caption\nsession\nstep\n"
                       "export-map " +
                       d.file("random.png") + "\nscreenshot " + d.file("known.png") +
                       "\nexample 3\ncfg 7.5\nsession\nstep\nexport-map " + d.file("example.png") +
                       "\nprompt \"a cat on a black background\"\nsession\nscreenshot " +
                       d.file("unknown.png") + "\nquit\n",
                   log, true);
    ASSERT_EQ(code, 0) << log;
    const auto guide = read_prompt_guide(model, "the embedded model");
    ASSERT_TRUE(guide);
    const auto about = [&](const std::string& stem) { // what export-map says the map is of
        nlohmann::json j;
        std::ifstream(d.file(stem + ".json")) >> j;
        return j;
    };
    const auto prompt_of = [&](const std::string& stem) {
        return about(stem).at("prompt").get<std::string>();
    };
    // The second press: the same caption on every run, a sentence of the model's grammar.
    EXPECT_EQ(prompt_of("random"), guide->random_caption(1));
    EXPECT_NE(prompt_of("random"), guide->random_caption(0));
    EXPECT_EQ(prompt_of("example"), guide->examples().at(2));
    // The model's guidance until the script sets one.
    EXPECT_EQ(about("random").at("guidance_scale"), 4.0);
    EXPECT_EQ(about("example").at("guidance_scale"), 7.5);

    const auto known = load_shot(d.file("known.png"));
    ASSERT_TRUE(known.has("token1"));
    EXPECT_FALSE(known.has("unknown_words"));
    for (const auto& [name, rect] : known.regions.at("regions").items())
        EXPECT_EQ(name.rfind("unknown_token", 0), std::string::npos) << name;

    // "a cat on ...": position 2 is cat's first token.
    const auto unknown = load_shot(d.file("unknown.png"));
    ASSERT_TRUE(unknown.has("unknown_token2"));
    EXPECT_FALSE(unknown.has("unknown_token1"));
    const auto cat = unknown.mean("token2"), a = unknown.mean("token1");
    EXPECT_GT(cat[0], cat[2] + 60) << "amber";
    EXPECT_GT(a[2], a[0]) << "a prompt token's blue";
    // The line: amber text.
    ASSERT_TRUE(unknown.has("unknown_words"));
    int amber = 0;
    unknown.for_each("unknown_words",
                     [&](const uint8_t* p) { amber += p[0] > 200 && p[1] > 130 && p[2] < 120; });
    EXPECT_GT(amber, 50);
}

// SD v2 has 5, 10 and 20 heads per level: a head chosen at one index may not exist at the next. The map then
// was the mean of heads while the selection, its caption and its export said head 6. The small v1 pipeline
// with 4 heads at its two deepest levels (index 7, the mid block, is one of them) instead of 8.
TEST(GuiOffscreen, AHeadTheNextIndexLacksGivesWayToTheMean) {
    const TempDir d;
    const auto model = d.path() / "fewer_heads";
    for (const char* file :
         {"model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
          "text_encoder/model.safetensors", "tokenizer/tokenizer_config.json", "unet/config.json",
          "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
          "vae/diffusion_pytorch_model.safetensors"}) {
        std::filesystem::create_directories((model / file).parent_path());
        write_bytes((model / file).string(),
                    read_bytes(ATTNSCOPE_TEST_DATA "/pipeline_v1_small/" + std::string(file)));
    }
    auto config = nlohmann::json::parse(read_bytes((model / "unet" / "config.json").string()));
    config["attention_head_dim"] = {8, 8, 4, 4};
    write_bytes((model / "unet" / "config.json").string(), config.dump(2));
    const auto map = [&](const std::string& stem) { return "export-map " + d.file(stem + ".png") + "\n"; };
    std::string log;
    const int code = run_script(d,
                                "load " + model.string() +
                                    "\nprompt \"a photo of a cat\"\nsize 64x48\nsteps 1\nsession\nstep\n"
                                    "select-token 4\nselect-index 1\nselect-head 6\n" +
                                    map("head6") + "select-index 7\n" + map("moved") + "select-head 3\n" +
                                    map("head3") + "select-head 4\nquit\n",
                                log, true);
    const auto head_of = [&](const std::string& stem) {
        nlohmann::json about;
        std::ifstream(d.file(stem + ".json")) >> about;
        return about.value("head", nlohmann::json()).dump() + " at " +
               about.value("sites", nlohmann::json()).dump();
    };
    EXPECT_EQ(head_of("head6"), "6 at [1]");
    EXPECT_EQ(head_of("moved"), "\"mean\" at [7]");
    EXPECT_EQ(head_of("head3"), "3 at [7]");
    // A script's head past the index's own count is still an error, not quietly the mean.
    EXPECT_EQ(code, 1) << log;
    EXPECT_NE(log.find("(select-head): head 4 out of range: index 7 has 4 heads (0 to 3)"), std::string::npos)
        << log;
}

// A LoRA loaded with the model (script: lora FILE SCALE, then load) changes what the model computes by its
// scale, which can change between steps (lora-scale N S): scale 0 is the model without it.
// "Start from image": the next session starts from the picture at the strength, so at a low strength the
// embedded model's image keeps the picture's colour; a picture that cannot be read is one line.
TEST(GuiOffscreen, ASessionStartsFromAPictureAtItsStrength) {
    const TempDir d;
    for (const auto& [name, channel] : {std::pair<const char*, int>{"red", 0}, {"blue", 2}}) {
        auto picture = at::zeros({3, 48, 80});
        picture[channel].fill_(1.0);
        write_png(d.file(std::string(name) + ".png"), to_image8(picture));
    }
    write_bytes(d.file("cut.png"), read_bytes(d.file("red.png")).substr(0, 40));
    const std::string model = std::string(ATTNSCOPE_ASSETS_SOURCE) + "/tiny-sd";
    std::string log;
    const int code = run_script(
        d,
        "load " + model + "\nprompt \"a green circle on a gray background\"\nsteps 10\nopacity 0\n" +
            "start-image " + d.file("red.png") + " 0.3\nsession\nrun\nscreenshot " + d.file("red_run.png") +
            "\nstart-image " + d.file("blue.png") + "\nsession\nrun\nscreenshot " + d.file("blue_run.png") +
            "\nstart-image " + d.file("cut.png") + "\nsession\nexpect-error \"corrupt or truncated\"\n" +
            "start-image none\nsession\nstep\nquit\n",
        log, true);
    ASSERT_EQ(code, 0) << log;
    const auto red = load_shot(d.file("red_run.png")).mean("image");
    const auto blue = load_shot(d.file("blue_run.png")).mean("image");
    EXPECT_GT(red[0] - red[2], 60) << "from red at strength 0.3 the image stays red: " << red[0] << " "
                                   << red[2];
    EXPECT_GT(blue[2] - blue[0], 60) << "from blue it stays blue: " << blue[0] << " " << blue[2];
}

// "Read it": a session that reads a picture instead of denoising; its maps average every run, and the words'
// maps fall on what the picture shows: a red circle on the left, a blue square on the right.
TEST(GuiOffscreen, ReadingAPictureMapsItsWordsWhereTheyAre) {
    const TempDir d;
    auto picture = at::full({3, 64, 64}, 0.5);
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x) {
            if ((x - 16) * (x - 16) + (y - 32) * (y - 32) <= 100) { // the circle, radius 10 about (16, 32)
                picture[0][y][x] = 1.0;
                picture[1][y][x] = picture[2][y][x] = 0.0;
            }
            if (x >= 38 && x < 58 && y >= 22 && y < 42) { // the square, 20 wide
                picture[2][y][x] = 1.0;
                picture[0][y][x] = picture[1][y][x] = 0.0;
            }
        }
    write_png(d.file("scene.png"), to_image8(picture));
    const std::string model = std::string(ATTNSCOPE_ASSETS_SOURCE) + "/tiny-sd";
    std::string log;
    // Positions: 0 start, 1 a, 2 red, 3 circle, 4 left, 5 of, 6 a, 7 blue, 8 square.
    const int code = run_script(
        d,
        "load " + model +
            "\nprompt \"a red circle left of a blue square on a gray background\"\n"
            "read-image " +
            d.file("scene.png") + " 300,500\nsession\nrun\naggregate on\nselect-token 3\nexport-map " +
            d.file("circle.png") + "\nselect-token 8\nexport-map " + d.file("square.png") + "\nquit\n",
        log, true);
    ASSERT_EQ(code, 0) << log;
    for (const auto& [stem, left] : {std::pair<const char*, bool>{"circle", true}, {"square", false}}) {
        const auto m = read_exported(d, stem);
        EXPECT_EQ(m.about["steps"], nlohmann::json::array({1, 2, 3, 4})) << "the maps average all four runs";
        EXPECT_EQ(m.about["reading"]["file"], d.file("scene.png"));
        double left_mass = 0, total = 0;
        for (int y = 0; y < m.height; ++y)
            for (int x = 0; x < m.width; ++x) {
                const double v = m.values[static_cast<size_t>(y * m.width + x)];
                total += v;
                if (x < m.width / 2) left_mass += v;
            }
        const double share = left_mass / total;
        EXPECT_GT(left ? share : 1 - share, 0.65) << stem << ": " << share << " of its map on the left";
    }
}

// The compare view with B = another checkpoint of the same layout (a fine-tune: one cross-attention key
// projection changed): B's map of the token moves where A's does not; a model of another layout is refused.
TEST(GuiOffscreen, ComparesTheModelWithAFineTuneOfIt) {
    const TempDir d;
    const std::filesystem::path model = ATTNSCOPE_TEST_DATA "/pipeline_v1_small";
    const auto tuned = std::filesystem::path(d.file("tuned"));
    std::filesystem::copy(model, tuned, std::filesystem::copy_options::recursive);
    const auto unet_file = (tuned / "unet" / "diffusion_pytorch_model.safetensors").string();
    TensorMap weights;
    {
        const SafetensorsFile f(unet_file);
        for (const auto& name : f.names()) weights[name] = f.load(name);
    }
    weights["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"] *= 4;
    write_safetensors(unet_file, weights);
    std::string log;
    const int code =
        run_script(d,
                   "load " + model.string() +
                       "\nprompt \"a photo of a cat\"\nsize 64x48\nsteps 2\nsession\nrun\n"
                       "select-token 4\nselect-index 1\ntab compare\ncompare-model " +
                       model.string() + "\ncompare auto as-a free\nscreenshot " + d.file("same.png") +
                       "\ncompare-model " + tuned.string() + "\ncompare auto as-a free\nscreenshot " +
                       d.file("tuned.png") +
                       "\ncompare-model " ATTNSCOPE_TEST_DATA "/pipeline_v2_small\ncompare auto as-a free\n"
                       "expect-error \"another U-Net layout\"\n",
                   log, true);
    ASSERT_EQ(code, 0) << log;
    const auto same = load_shot(d.file("same.png")), moved = load_shot(d.file("tuned.png"));
    ASSERT_TRUE(same.has("compare_map_a") && moved.has("compare_map_b")) << log;
    EXPECT_LT(mean_abs_difference(same, "compare_map_a", same, "compare_map_b"), 0.5);
    EXPECT_GT(mean_abs_difference(moved, "compare_map_a", moved, "compare_map_b"), 5.0);
}

// A rank-2 LoRA (seed 2) on index 1's cross-attention query of the small SD v1 pipeline at `model`.
void write_query_lora(const std::string& model, const std::string& path) {
    const std::string layer = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_q";
    const auto w = SafetensorsFile(model + "/unet/diffusion_pytorch_model.safetensors")
                       .load("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight");
    at::manual_seed(2);
    write_safetensors(path, {{layer + ".lora_down.weight", at::randn({2, w.size(1)})},
                             {layer + ".lora_up.weight", at::randn({w.size(0), 2})}});
}

// The LoRA sweep tab: the session's settings at 3 scales of the loaded LoRA, the selected token's maps on one
// range below the images; the exported strip and its JSON say what moved; a LoRA that is not loaded is
// refused.
TEST(GuiOffscreen, SweepsALorasScaleOverTheSelectedToken) {
    const TempDir d;
    const std::string model = ATTNSCOPE_TEST_DATA "/pipeline_v1_small";
    write_query_lora(model, d.file("lora.safetensors"));
    std::string log;
    const int code =
        run_script(d,
                   "lora " + d.file("lora.safetensors") + " 0\nload " + model +
                       "\nprompt \"a photo of a cat\"\nsize 64x48\nsteps 1\nsession\nstep\n"
                       "select-token 5\nlora-sweep 1 3 3\nscreenshot " +
                       d.file("sweep.png") + "\nexport-sweep " + d.file("strip.png") + "\nlora-sweep 2\n",
                   log, true);
    EXPECT_EQ(code, 1) << log; // the last line asks for a second LoRA
    EXPECT_NE(log.find("(lora-sweep): the loaded model runs with 1 LoRA(s)"), std::string::npos) << log;
    const auto strip = read_image(d.file("strip.png"));
    EXPECT_EQ(strip.width, 2 + 3 * (64 + 2));
    EXPECT_EQ(strip.height, 2 + 2 * (48 + 2));
    nlohmann::json about;
    std::ifstream(d.file("strip.png.json")) >> about;
    EXPECT_EQ(about["scales"], nlohmann::json::array({0.0, 1.5, 3.0}));
    EXPECT_EQ(about["tokens"], "cat");
    ASSERT_EQ(about["runs"].size(), 3u);
    EXPECT_EQ(about["runs"][0]["map_change"], 0.0);
    EXPECT_GT(about["runs"][2]["map_change"].get<double>(), 0.01);
    EXPECT_TRUE(load_shot(d.file("sweep.png")).has("sweep_strip")) << log;
}

TEST(GuiOffscreen, ALorasScaleChangesTheNextStepsLive) {
    const TempDir d;
    const std::string model = ATTNSCOPE_TEST_DATA "/pipeline_v1_small";
    write_query_lora(model, d.file("lora.safetensors"));
    const auto run_and_map = [&](const std::string& stem) {
        return "session\nstep\nselect-token 4\nselect-index 1\nexport-map " + d.file(stem + ".png") + "\n";
    };
    std::string log;
    const int code = run_script(d,
                                "lora " + d.file("lora.safetensors") + " 0\nload " + model +
                                    "\nprompt \"a photo of a cat\"\nsize 64x48\nsteps 1\n" +
                                    run_and_map("off") + "lora-scale 1 3\n" + run_and_map("on") +
                                    "lora-scale 1 0\n" + run_and_map("off_again") + "lora-scale 2 1\n",
                                log, true);
    const auto off = read_exported(d, "off"), on = read_exported(d, "on"),
               off_again = read_exported(d, "off_again");
    ASSERT_EQ(off.values.size(), on.values.size());
    EXPECT_EQ(off.values, off_again.values);
    double moved = 0;
    for (size_t i = 0; i < off.values.size(); ++i)
        moved = std::max(moved, std::abs(off.values[i] - on.values[i]));
    EXPECT_GT(moved, 100 * off.step) << "the LoRA at scale 3 moved index 1's map of 'cat' by " << moved;
    EXPECT_EQ(code, 1) << log; // the last line asks for a second LoRA
    EXPECT_NE(log.find("(lora-scale): the loaded model runs with 1 LoRA(s)"), std::string::npos) << log;

    // The compare view with B = the model with the LoRA: at scale 0 B's maps are A's, at 3 they move; same
    // inputs would hide the LoRA's q, k, v and is refused.
    const auto shot_of = [&](const std::string& scale) {
        return "compare-lora " + d.file("lora.safetensors") + " " + scale +
               "\ncompare auto as-a free\nscreenshot " + d.file("compare" + scale + ".png") + "\n";
    };
    const int compared = run_script(d,
                                    "load " + model +
                                        "\nprompt \"a photo of a cat\"\nsize 64x48\nsteps 2\nsession\nrun\n"
                                        "select-token 4\nselect-index 1\ntab compare\n" +
                                        shot_of("0") + shot_of("3") +
                                        "compare auto as-a same-inputs\nexpect-error \"free running\"\n",
                                    log, true);
    ASSERT_EQ(compared, 0) << log;
    const auto off_shot = load_shot(d.file("compare0.png")), on_shot = load_shot(d.file("compare3.png"));
    ASSERT_TRUE(off_shot.has("compare_map_a") && on_shot.has("compare_map_b")) << log;
    EXPECT_EQ(mean_abs_difference(off_shot, "compare_map_a", off_shot, "compare_map_b"), 0.0);
    EXPECT_GT(mean_abs_difference(on_shot, "compare_map_a", on_shot, "compare_map_b"), 2.0);
}

// One scripted run of the real program shared by a suite's tests: Derived::script(dir) is run once, before
// the suite, with its files in `dir`.
template <typename Derived> class ScriptedRun : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<TempDir>();
        exit_code_ = run_script(*dir_, Derived::script(*dir_), log_);
    }
    static void TearDownTestSuite() { dir_.reset(); }
    static Shot shot(const std::string& name) { return load_shot(dir_->file(name)); }

    static inline std::unique_ptr<TempDir> dir_;
    static inline int exit_code_ = -1;
    static inline std::string log_;
};

class GuiScript : public ScriptedRun<GuiScript> {
  public:
    static std::string script(const TempDir& d) {
        return "load " ATTNSCOPE_TEST_DATA "/pipeline_v1_small\n"
               "prompt \"a photo of a cat sitting on a red chair\"\n"
               "size 64x48\nsteps 3\nseed 7\nsession\n"
               "step 2\n"
               "select-token 2\nselect-index 4\n"
               "screenshot " +
               d.file("cross_photo.png") +
               "\n"
               "select-token 5\n"
               "screenshot " +
               d.file("cross_cat.png") +
               "\n"
               "export-map " +
               d.file("map.png") +
               "\n"
               "click 0.7 0.2\nselect-head 3\n"
               "screenshot " +
               d.file("self.png") +
               "\n"
               "colormap gray\n"
               "screenshot " +
               d.file("gray.png") +
               "\n"
               "load /nonexistent/model\nexpect-error \"does not exist\"\n"
               "step\n"
               "screenshot " +
               d.file("after_failed_load.png") +
               "\n"
               "quit\n";
    }
};

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
    const auto map = read_image(dir_->file("map.png"));
    // Index 4 sits at the second level: a 64x48 image is an 8x6 latent, 4x3 there.
    EXPECT_EQ(map.width, 4);
    EXPECT_EQ(map.height, 3);
    std::set<uint32_t> colors;
    for (int p = 0; p < map.width * map.height; ++p) {
        const auto* c = &map.pixels[static_cast<size_t>(p) * map.channels];
        colors.insert(c[0] << 16 | c[1] << 8 | c[2]);
    }
    EXPECT_GT(colors.size(), 3u);
    // Beside it, the raw values in 16 bits and a JSON description, as attnscope maps writes them.
    const auto raw = read_exported(*dir_, "map");
    EXPECT_EQ(raw.width, 4);
    EXPECT_EQ(raw.height, 3);
    EXPECT_EQ(raw.about["png"]["range"], raw.about["png16"]["range"]);
    EXPECT_EQ(raw.about["png"]["file"], "map.png");
    EXPECT_EQ(raw.about["png16"]["file"], "map16.png");
    EXPECT_EQ(raw.about["kind"], "cross");
    EXPECT_EQ(raw.about["sites"], nlohmann::json::array({4}));
    EXPECT_EQ(raw.about["steps"], nlohmann::json::array({2}));
    EXPECT_EQ(raw.about["tokens"][0]["position"], 5);
    EXPECT_EQ(raw.about["tokens"][0]["text"], "cat");
    // The extremes of the map reach both ends of the 16 bits (per-map normalization).
    const auto [lo, hi] = std::minmax_element(raw.values.begin(), raw.values.end());
    EXPECT_NEAR(*lo, raw.about["stats"]["min"].get<double>(), raw.step);
    EXPECT_NEAR(*hi, raw.about["stats"]["max"].get<double>(), raw.step);
}

TEST_F(GuiScript, AFailedLoadKeepsThePreviousModel) {
    // The script expects the load error, then steps the previous model's session once more.
    ASSERT_EQ(exit_code_, 0) << log_;
    EXPECT_TRUE(shot("after_failed_load.png").has("image"));
}

// Step averaging, a comparison and branches on the small test pipeline (3 steps): the maps the worker makes
// for them, and what the compare and branch views draw.
class GuiCompareAndBranch : public ScriptedRun<GuiCompareAndBranch> {
  public:
    static std::string script(const TempDir& d) {
        return "load " ATTNSCOPE_TEST_DATA "/pipeline_v1_small\n"
               "prompt \"a photo of a cat sitting on a red chair\"\n"
               "size 64x48\nsteps 3\nseed 7\nsession\nrun\n"
               "select-token 5\nselect-index 4\n"
               "select-step 1\nexport-map " +
               d.file("step1.png") +
               "\n"
               "select-step 2\nexport-map " +
               d.file("step2.png") +
               "\n"
               "select-step 3\nexport-map " +
               d.file("step3.png") +
               "\n"
               "select-steps 1 3\nexport-map " +
               d.file("steps1-3.png") +
               "\n"
               "screenshot " +
               d.file("averaged.png") +
               "\n"
               "select-step latest\n"
               "compare math bf16\n"
               "screenshot " +
               d.file("compare.png") +
               "\n"
               "compare math bf16 same-inputs 3\n"
               "screenshot " +
               d.file("compare_from3.png") +
               "\n"
               "branch 2\n"
               "screenshot " +
               d.file("identity.png") +
               "\n"
               "edit \"token=5:scale=0:renorm\"\n"
               "branch 1\n"
               "screenshot " +
               d.file("edited.png") +
               "\n"
               "select-branch 1\n"
               "screenshot " +
               d.file("identity_again.png") +
               "\n"
               "drop-branch 1\n"
               "screenshot " +
               d.file("dropped.png") +
               "\n"
               // A word the prompt does not have: the error names it, nothing runs.
               "edit clear\nedit \"token=dog:scale=0\"\nbranch 1\n"
               "expect-error \"'dog' is not a word of the prompt\"\n"
               "quit\n";
    }
};

TEST_F(GuiCompareAndBranch, AveragedStepsAreTheMeanOfTheStepsMaps) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s1 = read_exported(*dir_, "step1"), s2 = read_exported(*dir_, "step2"),
               s3 = read_exported(*dir_, "step3"), mean = read_exported(*dir_, "steps1-3");
    EXPECT_EQ(mean.about["steps"], nlohmann::json::array({1, 2, 3}));
    EXPECT_EQ(s2.about["steps"], nlohmann::json::array({2}));
    ASSERT_EQ(mean.values.size(), 12u); // index 4 of a 64x48 image: 4x3
    ASSERT_EQ(s1.values.size(), mean.values.size());
    double spread = 0;
    for (size_t i = 0; i < mean.values.size(); ++i) {
        const double expected = (s1.values[i] + s2.values[i] + s3.values[i]) / 3;
        EXPECT_NEAR(mean.values[i], expected, mean.step + (s1.step + s2.step + s3.step) / 3) << "pixel " << i;
        spread = std::max(spread, std::abs(s1.values[i] - s3.values[i]));
    }
    // The steps differ, so the mean is not any one of them.
    EXPECT_GT(spread, 100 * mean.step);
}

TEST_F(GuiCompareAndBranch, TheTimelineOutlinesTheAveragedRange) {
    ASSERT_EQ(exit_code_, 0) << log_;
    // The selection colour on the timeline: an outline around the shown step, and with averaging, around the
    // three averaged steps with a band along their bottom.
    const auto selection = [](const Shot& s) {
        int n = 0;
        s.for_each("timeline",
                   [&](const uint8_t* p) { n += p[0] > 230 && p[1] > 190 && p[1] < 230 && p[2] < 30; });
        return n;
    };
    const int averaged = selection(shot("averaged.png")), single = selection(shot("compare.png"));
    // (The region is shrunk by 2 pixels: the outlines' top and bottom edges fall outside it.)
    EXPECT_GT(single, 0);
    EXPECT_LT(single, 200);
    EXPECT_GT(averaged, 1000); // the band: 4 pixels along three cells
}

TEST_F(GuiCompareAndBranch, DivergenceGridsShowEachSitesError) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("compare.png");
    ASSERT_TRUE(s.has("divergence_self"));
    ASSERT_TRUE(s.has("divergence_cross"));
    EXPECT_TRUE(s.has("divergence_colorbar"));
    // bf16 against f32: sites and steps err by different amounts, so the cells differ (a uniform grid has
    // 0; the CPU run gives above 4, CUDA's 3.3 for self-attention).
    EXPECT_GT(s.stddev("divergence_self"), 2.0);
    EXPECT_GT(s.stddev("divergence_cross"), 2.0);
    // Drawn as cells (texel by texel), not blurred between them: down a column, neighbours within a site's
    // row of cells are equal (8 of 9 pixels, the rows being 9 pixels tall here), while a blur would change
    // colour all the way from one site's cell to the next.
    const auto& r = s.regions["regions"]["divergence_self"];
    const int x0 = static_cast<int>(r[0].get<double>()), y0 = static_cast<int>(r[1].get<double>());
    const int w = static_cast<int>(r[2].get<double>()), h = static_cast<int>(r[3].get<double>());
    int pairs = 0, equal = 0;
    for (int x = x0 + 2; x < x0 + w - 2; x += 7)
        for (int y = y0 + 1; y < y0 + h - 2; ++y) {
            const auto* p = &s.image.pixels[(static_cast<size_t>(y) * s.image.width + x) * s.image.channels];
            ++pairs;
            equal += std::equal(p, p + 3, p + static_cast<size_t>(s.image.width) * s.image.channels);
        }
    EXPECT_GT(pairs, 500);
    EXPECT_GT(equal, pairs * 3 / 4) << equal << " of " << pairs;
}

TEST_F(GuiCompareAndBranch, AComparisonFromALaterStepSharesTheStepsBefore) {
    ASSERT_EQ(exit_code_, 0) << log_;
    // From step 3 of 3: one compared step, so each site's row of the grid is one cell, the same colour all
    // the way across; the comparison of all three steps has rows that change along them.
    const auto row_changes = [](const Shot& s) {
        const auto& r = s.regions["regions"]["divergence_self"];
        const int x0 = static_cast<int>(r[0].get<double>()), y0 = static_cast<int>(r[1].get<double>());
        const int w = static_cast<int>(r[2].get<double>()), h = static_cast<int>(r[3].get<double>());
        int changes = 0;
        for (int y = y0 + 2; y < y0 + h - 2; y += 3)
            for (int x = x0 + 2; x + 1 < x0 + w - 2; ++x) {
                const auto* p =
                    &s.image.pixels[(static_cast<size_t>(y) * s.image.width + x) * s.image.channels];
                changes += !std::equal(p, p + 3, p + s.image.channels);
            }
        return changes;
    };
    const auto late = shot("compare_from3.png");
    ASSERT_TRUE(late.has("divergence_self"));
    EXPECT_EQ(row_changes(late), 0);
    EXPECT_GT(row_changes(shot("compare.png")), 20);
    // Its maps are of the shown step, the one compared.
    EXPECT_TRUE(late.has("compare_map_a"));
    EXPECT_GT(late.stddev("compare_map_a"), 5.0);
}

TEST_F(GuiCompareAndBranch, CompareShowsBothRunsAndTheirDifference) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("compare.png");
    for (const auto* name : {"compare_image_a", "compare_image_b", "compare_image_diff", "compare_map_a",
                             "compare_map_b", "compare_map_diff"})
        ASSERT_TRUE(s.has(name)) << name;
    // The images are close (bf16 rounding), their difference amplified so the largest is white.
    EXPECT_GT(s.stddev("compare_image_a"), 5.0);
    EXPECT_LT(mean_abs_difference(s, "compare_image_a", s, "compare_image_b"),
              0.2 * s.stddev("compare_image_a"));
    EXPECT_GT(s.brightest("compare_image_diff"), 150);
    // P_A and P_B look alike (one shared range); |P_A - P_B| has a range of its own, so it is not flat.
    EXPECT_GT(s.stddev("compare_map_a"), 5.0);
    EXPECT_LT(mean_abs_difference(s, "compare_map_a", s, "compare_map_b"), 0.25 * s.stddev("compare_map_a"));
    EXPECT_GT(s.stddev("compare_map_diff"), 5.0);
}

TEST_F(GuiCompareAndBranch, ABranchWithoutEditsRepeatsTheOriginalExactly) {
    ASSERT_EQ(exit_code_, 0) << log_;
    for (const auto* name : {"identity.png", "identity_again.png"}) {
        SCOPED_TRACE(name);
        const auto s = shot(name);
        ASSERT_TRUE(s.has("branch_image_diff"));
        ASSERT_TRUE(s.has("branch_map_diff"));
        EXPECT_GT(s.stddev("branch_image_a"), 5.0);
        EXPECT_LT(s.brightest("branch_image_diff"), 3);
        // No difference at all: the bottom of the colormap everywhere.
        EXPECT_LT(s.stddev("branch_map_diff"), 1.0);
        EXPECT_GT(s.stddev("branch_map_a"), 5.0);
    }
}

TEST_F(GuiCompareAndBranch, AnEditedBranchDiffersFromTheOriginal) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("edited.png");
    EXPECT_TRUE(s.has("branch_row1"));
    EXPECT_TRUE(s.has("branch_row2"));
    EXPECT_GT(s.brightest("branch_image_diff"), 150);
    EXPECT_GT(s.stddev("branch_map_diff"), 5.0);
    const auto dropped = shot("dropped.png");
    EXPECT_FALSE(dropped.has("branch_row1"));
    EXPECT_TRUE(dropped.has("branch_row2"));
    EXPECT_GT(dropped.brightest("branch_image_diff"), 150);
}

// Below P, from the window (docs/analysis.md's features): raw scores and entropy maps, the guidance halves
// and their difference, the token mass tab and the int8 tab, on the small test pipeline with a negative
// prompt (so the unconditional half has words of its own).
class GuiAnalysis : public ScriptedRun<GuiAnalysis> {
  public:
    static std::string script(const TempDir& d) {
        const auto export_map = [&](const std::string& stem) {
            return "export-map " + d.file(stem + ".png") + "\n";
        };
        const auto screenshot = [&](const std::string& name) { return "screenshot " + d.file(name) + "\n"; };
        return "load " ATTNSCOPE_TEST_DATA "/pipeline_v1_small\n"
               "prompt \"a photo of a cat sitting on a red chair\"\nnegative \"blurry\"\n"
               "size 64x48\nsteps 2\nseed 7\nsession\nstep 2\n"
               "select-token 5\nselect-index 4\n" +
               export_map("probability") + "batch uncond\n" + export_map("uncond") + "batch diff\n" +
               export_map("diff") + screenshot("shot_diff.png") + "tab guidance\n" +
               screenshot("shot_guidance.png") + "tab image\nbatch cond\nquantity score\n" +
               export_map("score") + screenshot("shot_score.png") + "quantity entropy\n" +
               export_map("entropy") + "quantity probability\ntab mass\n" + screenshot("shot_mass.png") +
               "tab int8\n" + screenshot("shot_int8.png") + "select-index 1\nmode self\n" +
               screenshot("shot_int8_self.png") + "quit\n";
    }
    static RawMap map(const std::string& stem) { return read_exported(*dir_, stem); }
};

TEST_F(GuiAnalysis, ScoreMapIsTheLogitsBeforeTheSoftmax) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto p = map("probability"), score = map("score");
    EXPECT_EQ(p.about["quantity"], "probability");
    EXPECT_EQ(score.about["quantity"], "score");
    EXPECT_EQ(score.about["batch"], "cond");
    ASSERT_EQ(score.values.size(), p.values.size());
    // P lies in [0, 1]; the logits of this random model are of either sign, or reach beyond 1.
    EXPECT_GE(p.about["stats"]["min"].get<double>(), 0.0);
    EXPECT_LE(p.about["stats"]["max"].get<double>(), 1.0);
    const double lo = score.about["stats"]["min"], hi = score.about["stats"]["max"];
    EXPECT_TRUE(lo < 0 || hi > 1) << lo << ".." << hi;
    double apart = 0;
    for (size_t i = 0; i < p.values.size(); ++i)
        apart = std::max(apart, std::abs(score.values[i] - p.values[i]));
    EXPECT_GT(apart, 0.01);
}

TEST_F(GuiAnalysis, EntropyMapIsOfEveryQueryWithinItsBounds) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto h = map("entropy");
    EXPECT_EQ(h.about["quantity"], "entropy");
    EXPECT_FALSE(h.about.contains("tokens")); // no token chose it
    EXPECT_EQ(h.width, 4);
    EXPECT_EQ(h.height, 3);
    // 0 (one key takes everything) to ln 77 (spread evenly over the text tokens), in nats.
    EXPECT_GE(h.about["stats"]["min"].get<double>(), 0.0);
    EXPECT_LE(h.about["stats"]["max"].get<double>(), std::log(77.0) + 1e-4);
    for (const double v : h.values) EXPECT_GE(v, -h.step);
}

TEST_F(GuiAnalysis, GuidanceDifferenceIsCondMinusUncondOnASymmetricRange) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto cond = map("probability"), uncond = map("uncond"), diff = map("diff");
    EXPECT_EQ(uncond.about["batch"], "uncond");
    EXPECT_EQ(diff.about["batch"], "diff");
    ASSERT_EQ(diff.values.size(), cond.values.size());
    ASSERT_EQ(uncond.values.size(), cond.values.size());
    // The halves differ, and the difference has both signs.
    EXPECT_LT(diff.about["stats"]["min"].get<double>(), 0.0);
    EXPECT_GT(diff.about["stats"]["max"].get<double>(), 0.0);
    double apart = 0;
    for (size_t i = 0; i < cond.values.size(); ++i) {
        apart = std::max(apart, std::abs(cond.values[i] - uncond.values[i]));
        EXPECT_NEAR(diff.values[i], cond.values[i] - uncond.values[i], diff.step + cond.step + uncond.step)
            << "pixel " << i;
    }
    EXPECT_GT(apart, 100 * cond.step);
    // Coloured (and written in 16 bits) on a range symmetric about 0, so that 0 is the colormap's middle.
    const double lo = diff.about["png16"]["range"]["lo"], hi = diff.about["png16"]["range"]["hi"];
    EXPECT_GT(hi, 0.0);
    EXPECT_DOUBLE_EQ(lo, -hi);
    EXPECT_GT(shot("shot_diff.png").stddev("image"), 5.0);
}

TEST_F(GuiAnalysis, GuidanceTabShowsBothHalvesAndTheirDifferenceSideBySide) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto g = shot("shot_guidance.png");
    for (const char* r :
         {"guidance_a", "guidance_b", "guidance_diff", "guidance_colorbar", "guidance_diff_colorbar"})
        ASSERT_TRUE(g.has(r)) << r;
    // None flat (the negative prompt's map is the flattest here: 4 levels on the range it shares with cond).
    for (const char* r : {"guidance_a", "guidance_b", "guidance_diff"}) EXPECT_GT(g.stddev(r), 2.0) << r;
    // The halves are different maps (the test above measures them), so their tiles differ; the difference
    // tile is neither of them.
    EXPECT_GT(mean_abs_difference(g, "guidance_a", g, "guidance_b"), 2.0);
    EXPECT_GT(mean_abs_difference(g, "guidance_a", g, "guidance_diff"), 2.0);
}

TEST_F(GuiAnalysis, ScoreOverlayDiffersFromTheDifferenceOverlay) {
    ASSERT_EQ(exit_code_, 0) << log_;
    EXPECT_GT(mean_abs_difference(shot("shot_diff.png"), shot("shot_score.png"), "image"), 1.0);
}

TEST_F(GuiAnalysis, TokenMassTabShowsEachSitesShares) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto s = shot("shot_mass.png");
    ASSERT_TRUE(s.has("token_mass"));
    ASSERT_TRUE(s.has("token_mass_steps"));
    EXPECT_GT(s.stddev("token_mass"), 5.0);
    EXPECT_GT(s.stddev("token_mass_steps"), 5.0);
    // The role colours (the token chips'): padding takes most of this model's attention (86% in the prompt's
    // half, 96% in the negative prompt's), the prompt's 8 tokens about a tenth of it.
    const auto is = [](const uint8_t* p, int r, int g, int b) {
        return std::abs(p[0] - r) <= 2 && std::abs(p[1] - g) <= 2 && std::abs(p[2] - b) <= 2;
    };
    for (int index = 1; index <= 16; ++index) {
        const auto name = "token_mass_row" + std::to_string(index);
        ASSERT_TRUE(s.has(name)) << name;
        size_t n = 0, padding = 0, prompt = 0;
        s.for_each(name, [&](const uint8_t* p) {
            ++n;
            padding += is(p, 71, 71, 77);
            prompt += is(p, 56, 84, 140);
        });
        EXPECT_GT(padding, n * 6 / 10) << name;
        EXPECT_GT(prompt, n * 3 / 100) << name;
        EXPECT_LT(prompt, n * 3 / 10) << name;
    }
}

TEST_F(GuiAnalysis, Int8TabShowsTheQuantizationOfTheSelectedCall) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto cross = shot("shot_int8.png"), self = shot("shot_int8_self.png");
    for (const auto* name :
         {"int8_histogram", "int8_p_by_row", "int8_p_by_key", "int8_q_steps", "int8_k_steps"}) {
        ASSERT_TRUE(cross.has(name)) << name;
        ASSERT_TRUE(self.has(name)) << name;
        EXPECT_GT(cross.stddev(name), 5.0) << name;
        EXPECT_GT(self.stddev(name), 5.0) << name;
    }
    // It follows the selection: index 1's self-attention has 48 keys where index 4's cross-attention has 77.
    EXPECT_GT(mean_abs_difference(cross, self, "int8_p_by_key"), 1.0);
    EXPECT_GT(mean_abs_difference(cross, self, "int8_histogram"), 1.0);
}

// The teaching views (issue 23): the walk-through of one query, stage by stage, for a cross- and a
// self-attention call, and the U-Net tour, still and while a forward pass plays.
class GuiTeaching : public ScriptedRun<GuiTeaching> {
  public:
    static std::string script(const TempDir& d) {
        std::string s =
            "load " ATTNSCOPE_TEST_DATA "/pipeline_v1_small\n"
            "prompt \"a photo of a cat sitting on a red chair\"\nnegative \"blurry\"\n"
            "size 64x48\nsteps 2\nseed 7\nsession\nstep 2\nselect-index 4\nselect-head 1\ntab walk\n";
        for (const char* stage : {"query", "keys", "scores", "softmax", "output", "heads"})
            s += std::string("walk-stage ") + stage + "\nscreenshot " +
                 d.file(std::string("walk_") + stage + ".png") + "\n";
        s +=
            "click 0.3 0.6\nselect-index 1\nwalk-stage softmax\nscreenshot " + d.file("walk_self.png") + "\n";
        s += "tab tour\nscreenshot " + d.file("tour.png") + "\ntour play\nwait-frames 5\nscreenshot " +
             d.file("tour_playing.png") + "\ntour stop\nquit\n";
        return s;
    }
};

TEST_F(GuiTeaching, WalkThroughShowsEveryStageOfTheSelectedQuery) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const struct {
        const char* stage;
        std::vector<const char*> regions;
    } stages[] = {{"query", {"walk_hidden", "walk_q_from_hidden", "walk_q"}},
                  {"keys", {"walk_keys"}},
                  {"scores", {"walk_keys"}},
                  {"softmax", {"walk_keys"}},
                  {"output", {"walk_contributions", "walk_out", "walk_joined", "walk_projected"}},
                  {"heads", {"walk_heads", "walk_keys"}}};
    for (const auto& st : stages) {
        const auto shot_ = shot(std::string("walk_") + st.stage + ".png");
        for (const auto* r : st.regions) {
            ASSERT_TRUE(shot_.has(r)) << st.stage << " " << r;
            EXPECT_GT(shot_.stddev(r), 3.0) << st.stage << " " << r;
        }
    }
    // The stages draw different numbers into the same table.
    EXPECT_GT(mean_abs_difference(shot("walk_scores.png"), shot("walk_softmax.png"), "walk_keys"), 1.0);
    // Self-attention: the softmax stage's three maps over the 8x6 grid of index 1.
    const auto self = shot("walk_self.png");
    for (const char* r : {"walk_map_0", "walk_map_1", "walk_map_2"}) {
        ASSERT_TRUE(self.has(r)) << r;
        EXPECT_GT(self.stddev(r), 3.0) << r;
    }
}

TEST_F(GuiTeaching, TourDrawsTheUNetAndLightsTheForwardPass) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto still = shot("tour.png"), playing = shot("tour_playing.png");
    ASSERT_TRUE(still.has("tour"));
    const auto count = [](const Shot& s, int r, int g, int b) {
        size_t n = 0;
        s.for_each("tour", [&](const uint8_t* p) {
            n += std::abs(p[0] - r) <= 3 && std::abs(p[1] - g) <= 3 && std::abs(p[2] - b) <= 3;
        });
        return n;
    };
    // Transformer blocks (blue), the selected one outlined, and while playing one block lit.
    EXPECT_GT(count(still, 60, 110, 180), 500u);
    EXPECT_GT(count(still, 255, 210, 0), 20u);
    EXPECT_EQ(count(still, 250, 200, 60), 0u);
    EXPECT_GT(count(playing, 250, 200, 60), 20u);
}

// SDXL's topology (tests/data/pipeline_xl_small: transformers 1, 1 and 2 blocks deep, 17 indices): every
// block its own tile, or each transformer one tile summing its blocks.
class GuiSdxl : public ScriptedRun<GuiSdxl> {
  public:
    static std::string script(const TempDir& d) {
        return "load " ATTNSCOPE_TEST_DATA "/pipeline_xl_small\n"
               "prompt \"a red circle left of a blue square\"\n"
               "size 64x64\nsteps 3\nsession\nrun\nselect-token 2\n"
               "screenshot " +
               d.file("each.png") + "\nblocks sum\nscreenshot " + d.file("sum.png") +
               "\nselect-index 9\nblocks each\nscreenshot " + d.file("again.png") +
               // The other views, at a second block of a two-block transformer.
               "\nselect-index 4\ntab mass\nscreenshot " + d.file("mass.png") + "\ntab int8\nscreenshot " +
               d.file("int8.png") + "\ntab image\ncompare math bf16\nscreenshot " + d.file("compare.png") +
               "\nedit \"token=2:scale=0:renorm\"\nbranch 1\nscreenshot " + d.file("branch.png") + "\nquit\n";
    }
    static std::vector<int> tiles(const Shot& s) {
        std::vector<int> out;
        for (const auto& [name, _] : s.regions.at("regions").items())
            if (name.rfind("index", 0) == 0) out.push_back(std::stoi(name.substr(5)));
        std::sort(out.begin(), out.end());
        return out;
    }
};

TEST_F(GuiSdxl, TheIndexGridShowsEveryBlockOrEachTransformersSum) {
    ASSERT_EQ(exit_code_, 0) << log_;
    std::vector<int> every(17);
    std::iota(every.begin(), every.end(), 1);
    EXPECT_EQ(tiles(shot("each.png")), every);
    EXPECT_EQ(tiles(shot("again.png")), every);
    // Down 1 | 2 | 3-4 | 5-6, mid 7-8, up 9-10 | 11-12 | 13-14 | 15 | 16 | 17: a tile per transformer, at its
    // first block's index.
    const auto sum = shot("sum.png");
    EXPECT_EQ(tiles(sum), (std::vector<int>{1, 2, 3, 5, 7, 9, 11, 13, 15, 16, 17}));
    // A two-block transformer's tile is neither block's own map.
    const auto each = shot("each.png");
    const auto apart = [](const std::array<double, 3>& a, const std::array<double, 3>& b) {
        return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]) > 3;
    };
    EXPECT_TRUE(apart(sum.mean("index3"), each.mean("index3")) ||
                apart(sum.mean("index3"), each.mean("index4")));
    EXPECT_GT(sum.stddev("index3"), 3.0);
    // Under the token strip: whether SDXL's second tokenizer splits the prompt as the first.
    EXPECT_TRUE(each.has("tokenizers"));
}

// The views below P take the model's 17 sites: a token-mass row for each, the int8 inspector of a deep
// transformer's second block, divergence grids over every site, and a branch.
TEST_F(GuiSdxl, TokenMassInt8CompareAndBranchesTakeEverySite) {
    ASSERT_EQ(exit_code_, 0) << log_;
    const auto mass = shot("mass.png");
    for (int index = 1; index <= 17; ++index)
        EXPECT_TRUE(mass.has("token_mass_row" + std::to_string(index))) << index;
    EXPECT_FALSE(mass.has("token_mass_row18"));
    EXPECT_GT(mass.stddev("token_mass"), 5.0);
    const auto int8 = shot("int8.png");
    for (const auto* name : {"int8_histogram", "int8_p_by_row", "int8_p_by_key"}) {
        ASSERT_TRUE(int8.has(name)) << name;
        EXPECT_GT(int8.stddev(name), 5.0) << name;
    }
    const auto compare = shot("compare.png");
    for (const auto* name : {"divergence_self", "divergence_cross", "compare_map_a", "compare_map_diff"}) {
        ASSERT_TRUE(compare.has(name)) << name;
        EXPECT_GT(compare.stddev(name), 2.0) << name;
    }
    const auto branch = shot("branch.png");
    ASSERT_TRUE(branch.has("branch_image_diff"));
    EXPECT_GT(branch.brightest("branch_image_diff"), 150);
    EXPECT_GT(branch.stddev("branch_map_diff"), 5.0);
}

// SDXL base's depths (1 block at no level, 2 at the second, 10 at the third and in the mid block: 70 blocks,
// 11 transformers) on the small SDXL model's widths: a random U-Net written into a copy of
// pipeline_xl_small, so the grid and the token mass are checked at SDXL's own count on the CPU.
class GuiSdxlBase : public ScriptedRun<GuiSdxlBase> {
  public:
    static std::string script(const TempDir& d) {
        namespace fs = std::filesystem;
        const fs::path model = d.file("xl70");
        fs::copy(ATTNSCOPE_TEST_DATA "/pipeline_xl_small", model, fs::copy_options::recursive);
        auto config = read_unet_config((model / "unet" / "config.json").string());
        config.transformer_depth = {1, 2, 10};
        const auto unet = UNet::random(config, 3, at::kFloat, at::kCPU);
        std::ofstream(model / "unet" / "config.json") << unet_config_to_json(config).dump();
        write_safetensors((model / "unet" / "diffusion_pytorch_model.safetensors").string(),
                          unet_state_dict(unet, KeyLayout::Diffusers));
        return "load " + model.string() +
               "\nprompt \"a red circle left of a blue square\"\nsize 64x64\nsteps 2\nsession\nrun\n"
               "select-token 3\nscreenshot " +
               d.file("each.png") + "\nblocks sum\nscreenshot " + d.file("sum.png") +
               "\nblocks each\ntab mass\nscreenshot " + d.file("mass.png") +
               "\ntab image\naggregate on\nexport-map " + d.file("daam.png") + "\nquit\n";
    }
};

TEST_F(GuiSdxlBase, SeventyBlocksInTheGridElevenTransformersSummedSeventyTokenMassRows) {
    ASSERT_EQ(exit_code_, 0) << log_;
    std::vector<int> every(70);
    std::iota(every.begin(), every.end(), 1);
    EXPECT_EQ(GuiSdxl::tiles(shot("each.png")), every);
    // Down 1-2 | 3-4 at 4x4, 5-14 | 15-24 at 2x2; mid 25-34; up 35-44 | 45-54 | 55-64, then 65-66 | 67-68 |
    // 69-70.
    EXPECT_EQ(GuiSdxl::tiles(shot("sum.png")), (std::vector<int>{1, 3, 5, 15, 25, 35, 45, 55, 65, 67, 69}));
    const auto mass = shot("mass.png");
    for (int index = 1; index <= 70; ++index)
        EXPECT_TRUE(mass.has("token_mass_row" + std::to_string(index))) << index;
    EXPECT_FALSE(mass.has("token_mass_row71"));
    // DAAM's sum: every site's map up-sampled to the latent grid (8x8 here) and added.
    const auto daam = read_exported(*dir_, "daam");
    std::vector<int> summed = daam.about.at("sites");
    EXPECT_EQ(summed, every);
    EXPECT_EQ(daam.width, 8);
    EXPECT_EQ(daam.height, 8);
    // 70 maps of about 1/77 each (this random model attends nearly evenly): a sum near 0.9, where one site's
    // map or their mean would be near 0.013.
    const double mean = std::accumulate(daam.values.begin(), daam.values.end(), 0.0) / daam.values.size();
    EXPECT_GT(mean, 0.3);
    EXPECT_LT(mean, 3.0);
}

TEST(GuiScriptErrors, UnknownCommandNamesTheLine) {
    TempDir dir;
    std::ofstream(dir.file("bad.txt")) << "# a comment\nstep\nfrobnicate 3\n";
    const auto r = run_cli("gui --script " + dir.file("bad.txt") + extra_gui_options());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("bad.txt:3: unknown command 'frobnicate'"), std::string::npos) << r.output;
}

TEST(GuiScriptErrors, ABadQuantityNamesTheChoices) {
    TempDir dir;
    std::ofstream(dir.file("bad.txt")) << "quantity logits\n";
    const auto r = run_cli("gui --script " + dir.file("bad.txt") + extra_gui_options());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("bad.txt:1 (quantity): quantity: probability, score or entropy"),
              std::string::npos)
        << r.output;
}

TEST(GuiScriptErrors, AWorkerErrorEndsTheScript) {
    TempDir dir;
    std::ofstream(dir.file("fail.txt")) << "load /nonexistent/model\nstep\n";
    const auto r = run_cli("gui --script " + dir.file("fail.txt") + extra_gui_options());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("fail.txt:1 (load)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
}

// The audit's findings, as a user meets them: a number out of range is refused with its line before any
// window opens, and a head past the selected site's count is an error like -1 (app/gui/script_parse.cpp).
TEST(GuiScriptErrors, OutOfRangeNumbersAreRefusedBeforeAnythingRuns) {
    TempDir dir;
    std::ofstream(dir.file("bad.txt")) << "steps 3\nrewind -2147483648\n";
    const auto r = run_cli("gui --script " + dir.file("bad.txt") + extra_gui_options());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("bad.txt:2 (rewind): argument 1: expected a whole number from 1 to 10000, got "
                            "'-2147483648'"),
              std::string::npos)
        << r.output;
}

// A session of the small v1 pipeline (16 sites, 8 heads each) and then `lines`: the script must end with
// exit code 1 and `message`.
void expect_refused_after_a_session(const std::string& lines, const std::string& message) {
    TempDir dir;
    std::ofstream(dir.file("s.txt")) << "load " ATTNSCOPE_TEST_DATA
                                        "/pipeline_v1_small\nsize 64x48\nsteps 1\n"
                                        "session\n"
                                     << lines;
    const auto r = run_cli("gui --offscreen --script " + dir.file("s.txt") + extra_gui_options());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("s.txt:" + message), std::string::npos) << r.output;
}

TEST(GuiScriptErrors, AHeadPastTheSitesCountIsAnError) {
    expect_refused_after_a_session("select-index 4\nselect-head 7\nselect-head 8\n",
                                   "7 (select-head): head 8 out of range: index 4 has 8 heads (0 to 7)");
}

TEST(GuiScriptErrors, AnIndexPastTheModelsSitesIsAnError) {
    expect_refused_after_a_session("select-index 16\nselect-index 17\n",
                                   "6 (select-index): index 17 out of range: the model's sites are 1 to 16");
}

// SD declares no grammar: the prompt box has no captions to offer, and a script asking for one is told why.
TEST(GuiScriptErrors, ACaptionFromAModelWithoutAGrammarIsAnError) {
    expect_refused_after_a_session("random-caption\n",
                                   "5 (random-caption): the loaded model declares no prompt grammar");
}

} // namespace
} // namespace attnscope::test
