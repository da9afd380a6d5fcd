// `attnscope compare` as a user runs it on the small pipeline: the files it writes, what compare.json says
// for math against sdpa, fp32 against fp64 and a backend against itself, and its answers to bad input.
#include "io/image_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "test_json.h"
#include "test_util.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

const std::string kModel = " --model " + std::string(ATTNSCOPE_TEST_DATA) + "/pipeline_v1_small";
const std::string kRun = kModel + " --prompt 'a red circle left of a blue square' --steps 2 --size 64x64";

using test::read_json;

TEST(CliCompare, MathAgainstSdpaOnTheSameInputs) {
    test::TempDir dir;
    const auto r = test::run_cli("compare --a math --b sdpa --map token=red@sites=1,16" + kRun + " --out " +
                                 dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("math vs sdpa (same-inputs), worst attention output error rel L2"),
              std::string::npos)
        << r.output;
    const auto j = read_json(dir.file("run/compare.json"));
    EXPECT_EQ(j["mode"], "same-inputs");
    EXPECT_EQ(j["a"]["backend"], "math");
    EXPECT_EQ(j["b"]["backend"], "sdpa");
    EXPECT_EQ(j["b"]["backends_used"]["1.self"], "sdpa");
    EXPECT_EQ(j["steps"], (std::vector<int>{0, 1}));
    // Each compared step's time: both runs, so more than nothing.
    ASSERT_EQ(j["step_ms"].size(), 2u);
    for (const auto& ms : j["step_ms"]) EXPECT_GT(ms.get<double>(), 0.0);
    // Of two, the median taken is the upper one.
    EXPECT_EQ(j["step_ms_median"].get<double>(),
              std::max(j["step_ms"][0].get<double>(), j["step_ms"][1].get<double>()));
    EXPECT_EQ(j["sites"].size(), 16u);
    for (const char* kind : {"self", "cross"})
        for (const char* measure : {"max_abs", "mean_abs", "rel_l2"}) {
            const auto& grid = j["output_error"][kind][measure];
            ASSERT_EQ(grid.size(), 2u);
            for (const auto& row : grid) {
                ASSERT_EQ(row.size(), 16u);
                for (const auto& e : row) {
                    ASSERT_TRUE(e.is_number()) << kind << " " << measure;
                    EXPECT_LT(e.get<double>(), 1e-5) << kind << " " << measure;
                }
            }
        }
    EXPECT_LT(j["worst"]["rel_l2"].get<double>(), 1e-5);
    EXPECT_EQ(j["latents"].size(), 2u);
    EXPECT_GT(j["image"]["psnr_db"].get<double>(), 60);
    EXPECT_GT(j["image"]["ssim"].get<double>(), 0.999);
    for (const char* f : {"image_a.png", "image_b.png", "diff.png"}) {
        const auto image = read_image(dir.file(std::string("run/") + f));
        EXPECT_EQ(image.width, 64);
        EXPECT_EQ(image.height, 64);
    }
    // 2 steps x 16 sites of 12-pixel cells, self above cross, 4 pixels apart.
    const auto grid = read_image(dir.file("run/divergence.png"));
    EXPECT_EQ(grid.width, 4 + 2 * 12 + 4);
    EXPECT_EQ(grid.height, 4 + 2 * (16 * 12 + 4));
    EXPECT_EQ(j["map"]["tokens"], (std::vector<int>{2}));
    EXPECT_EQ(j["map"]["steps"], (std::vector<int>{1}));
    EXPECT_GT(j["map"]["a"]["max"].get<double>(), 0.0);
    EXPECT_LT(j["map"]["abs_diff"]["max"].get<double>(), 1e-5);
    EXPECT_EQ(read_image(dir.file("run/map_diff.png")).width, 64);
}

TEST(CliCompare, Float32AgainstFloat64FreeRunning) {
    test::TempDir dir;
    const auto r =
        test::run_cli("compare --a math:f32 --b math:f64 --mode free --from-step 1 --scheduler euler_a" +
                      kRun + " --out " + dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto j = read_json(dir.file("run/compare.json"));
    EXPECT_EQ(j["mode"], "free");
    EXPECT_EQ(j["from_step"], 1);
    EXPECT_EQ(j["a"]["dtype"], "Float");
    EXPECT_EQ(j["b"]["dtype"], "Double");
    EXPECT_EQ(j["steps"], (std::vector<int>{1}));
    const double worst = j["worst"]["rel_l2"].get<double>();
    EXPECT_GT(worst, 0.0);
    EXPECT_LT(worst, 1e-5);
}

TEST(CliCompare, ABackendAgainstItselfGivesIdenticalImages) {
    test::TempDir dir;
    const auto r =
        test::run_cli("compare --a math --b math --mode free" + kRun + " --out " + dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("identical (PSNR inf)"), std::string::npos) << r.output;
    const auto j = read_json(dir.file("run/compare.json"));
    EXPECT_EQ(j["image"]["psnr_db"], "inf");
    EXPECT_EQ(j["image"]["ssim"], 1.0);
    EXPECT_EQ(j["worst"]["max_abs"], 0.0);
}

// The model against itself with a LoRA (B only), free running: scale 0 is the model itself, scale 3 moves
// both the attention outputs and the image.
// A rank-2 LoRA on index 1's cross-attention query of the small SD v1 pipeline, random (seed 4) times `gain`.
void write_query_lora(const std::string& path, double gain) {
    const std::string layer = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_q";
    const auto w = SafetensorsFile(std::string(ATTNSCOPE_TEST_DATA) +
                                   "/pipeline_v1_small/unet/diffusion_pytorch_model.safetensors")
                       .load("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight");
    at::manual_seed(4);
    write_safetensors(path, {{layer + ".lora_down.weight", at::randn({2, w.size(1)}) * gain},
                             {layer + ".lora_up.weight", at::randn({w.size(0), 2}) * gain}});
}

TEST(CliCompare, AModelAgainstItselfWithALora) {
    test::TempDir dir;
    write_query_lora(dir.file("lora.safetensors"), 1.0);
    const auto compare = [&](const std::string& scale) {
        const auto r = test::run_cli("compare --b-lora " + dir.file("lora.safetensors") + ":" + scale +
                                     " --mode free" + kRun + " --out " + dir.file(scale));
        EXPECT_EQ(r.rc, 0) << r.output;
        EXPECT_NE(r.output.find("auto vs auto + LoRA (free)"), std::string::npos) << r.output;
        return read_json(dir.file(scale + "/compare.json"));
    };
    const auto off = compare("0");
    EXPECT_EQ(off["image"]["psnr_db"], "inf");
    EXPECT_EQ(off["worst"]["max_abs"], 0.0);
    const auto on = compare("3");
    EXPECT_EQ(on["b"]["loras"][0]["scale"], 3.0);
    EXPECT_GT(on["worst"]["rel_l2"].get<double>(), 1e-3);
    EXPECT_LT(on["image"]["psnr_db"].get<double>(), 60);

    const auto r = test::run_cli("compare --b-lora " + dir.file("lora.safetensors") + kRun + " --out " +
                                 dir.file("same"));
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("compare models with --mode free"), std::string::npos) << r.output;
}

// --b-model: a fine-tune of the same layout as B (here the small model with one cross-attention key
// projection changed), against the model itself (no difference) and one of another layout (refused naming the
// first site that differs).
TEST(CliCompare, AModelAgainstAFineTuneOfIt) {
    test::TempDir dir;
    const std::filesystem::path model = std::string(ATTNSCOPE_TEST_DATA) + "/pipeline_v1_small";
    const auto tuned = std::filesystem::path(dir.file("tuned"));
    std::filesystem::copy(model, tuned, std::filesystem::copy_options::recursive);
    const auto unet_file = tuned / "unet" / "diffusion_pytorch_model.safetensors";
    TensorMap weights;
    {
        const SafetensorsFile f(unet_file.string());
        for (const auto& name : f.names()) weights[name] = f.load(name);
    }
    auto& k = weights["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"];
    k = k * 4;
    write_safetensors(unet_file.string(), weights);
    const auto compare = [&](const std::string& b, const std::string& out) {
        return test::run_cli("compare --b-model " + b + " --mode free" + kRun + " --out " + dir.file(out));
    };
    auto r = compare(model.string(), "itself");
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_EQ(read_json(dir.file("itself/compare.json"))["worst"]["max_abs"], 0.0);
    r = compare(tuned.string(), "tuned");
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("auto vs auto of " + tuned.string() + " (free)"), std::string::npos) << r.output;
    const auto j = read_json(dir.file("tuned/compare.json"));
    EXPECT_EQ(j["b"]["model"], tuned.string());
    EXPECT_EQ(j["a"]["model"], model.string());
    EXPECT_GT(j["worst"]["rel_l2"].get<double>(), 1e-3);

    r = compare(std::string(ATTNSCOPE_TEST_DATA) + "/pipeline_v2_small", "other");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("has another U-Net layout than A's (A's index 1 self"), std::string::npos)
        << r.output;
    r = test::run_cli("compare --b-model " + tuned.string() + kRun + " --out " + dir.file("same"));
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("--b-model changes q, k and v themselves"), std::string::npos) << r.output;
}

TEST(CliCompare, ExplainsBadInputInOneLine) {
    test::TempDir dir;
    const std::string out = " --out " + dir.file("run");
    auto r = test::run_cli("compare --a math" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("compare needs --a BACKEND[:DTYPE] and --b BACKEND[:DTYPE]"), std::string::npos)
        << r.output;
    r = test::run_cli("compare --a math --b sdpa --mode lockstep" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad --mode 'lockstep' (use same-inputs or free)"), std::string::npos)
        << r.output;
    r = test::run_cli("compare --a math --b sdpa:f8" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("unknown dtype 'f8'"), std::string::npos) << r.output;
    r = test::run_cli("compare --a math --b sdpa --from-step 2" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("--from-step 2 is outside 0..1"), std::string::npos) << r.output;
    r = test::run_cli("compare --a math --b sdpa --map token=red@head=all" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad @head 'all'"), std::string::npos) << r.output;
    r = test::run_cli("compare --a math --b flash2" + kRun + out);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("unknown attention backend 'flash2'"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("run/compare.json")));
}

// attnscope lora-sweep on the small SD v1 pipeline with a LoRA on index 1's cross-attention query: the same
// generation at 3 scales, the word's maps on one range; at scale 0 nothing moved, at 1 the map and the image
// did; a word the prompt lacks is one line before anything runs.
TEST(CliLoraSweep, FollowsOneWordsMapAcrossTheScales) {
    test::TempDir dir;
    write_query_lora(dir.file("lora.safetensors"), 3.0);
    const std::string sweep = "lora-sweep --sweep " + dir.file("lora.safetensors") + " --scales 3" + kRun;
    auto r = test::run_cli(sweep + " --token circle --out " + dir.file("sweep"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("from 0 to 1 in 3 scales: 'circle' moved"), std::string::npos) << r.output;
    const auto j = read_json(dir.file("sweep/sweep.json"));
    ASSERT_EQ(j["runs"].size(), 3u);
    EXPECT_EQ(j["runs"][1]["scale"], 0.5);
    EXPECT_EQ(j["runs"][0]["map_change"], 0.0);
    EXPECT_EQ(j["runs"][0]["image_psnr_db"], "inf");
    EXPECT_GT(j["runs"][2]["map_change"].get<double>(), j["runs"][1]["map_change"].get<double>());
    EXPECT_GT(j["runs"][2]["map_change"].get<double>(), 0.01);
    EXPECT_LT(j["runs"][2]["image_psnr_db"].get<double>(), 60);
    EXPECT_EQ(j["runs"][0]["map"]["png"]["range"], j["runs"][2]["map"]["png"]["range"])
        << "one range for all";
    const auto strip = read_image(dir.file("sweep/strip.png"));
    EXPECT_EQ(strip.width, 2 + 3 * (64 + 2));
    EXPECT_EQ(strip.height, 2 + 2 * (64 + 2));

    r = test::run_cli(sweep + " --token dog --out " + dir.file("bad"));
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("--token 'dog' is not a word of the prompt (its words: a, red, circle"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad")));
}

} // namespace
} // namespace attnscope
