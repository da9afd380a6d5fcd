// `attnscope generate` as a user runs it: the image, previews and summary it writes, and its answers to bad
// input (one line, non-zero exit, nothing half-written).
#include "capture/capture_file.h"
#include "io/image_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "test_json.h"
#include "test_util.h"
#include "util/version.h"

#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

const std::string kData = ATTNSCOPE_TEST_DATA;

using test::read_json;

// diffusers' Euler a run of the small pipeline (the reference's settings), into dir/run.
test::CliResult generate_reference_run(const test::TempDir& dir, const std::string& options) {
    return test::run_cli("generate --model " + kData +
                         "/pipeline_v1_small --prompt 'a red circle left of a blue square, watercolor' "
                         "--negative blurry --seed 1234 --steps 4 --cfg 7.5 --scheduler euler_a "
                         "--size 64x48 " +
                         options + " --out " + dir.file("run"));
}

// How far the run's 8-bit image is from diffusers' (tests/test_session.cpp checks the floats), in levels.
int levels_from_reference(const test::TempDir& dir) {
    const SafetensorsFile ref(kData + "/pipeline_reference.safetensors");
    const auto expected = to_image8(ref.load("pipeline_v1_small.euler_a.image").permute({0, 3, 1, 2}));
    const auto image = read_image(dir.file("run/image.png"));
    int worst = 0;
    for (std::size_t i = 0; i < image.pixels.size(); ++i)
        worst = std::max(worst, std::abs(int(image.pixels[i]) - int(expected.pixels[i])));
    return worst;
}

TEST(CliGenerate, WritesTheImagePreviewsAndSummary) {
    test::TempDir dir;
    const auto r = generate_reference_run(dir, "--previews");
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("4 steps"), std::string::npos) << r.output;
    // SD declares no grammar of its prompts: no word is unknown to it.
    EXPECT_EQ(r.output.find("vocabulary"), std::string::npos) << r.output;

    const auto image = read_image(dir.file("run/image.png"));
    EXPECT_EQ(image.width, 64);
    EXPECT_EQ(image.height, 48);
    EXPECT_LE(levels_from_reference(dir), 1);

    for (int k = 1; k <= 4; ++k)
        EXPECT_TRUE(std::filesystem::exists(dir.file("run/previews/step_00" + std::to_string(k) + ".png")));
    const auto summary = read_json(dir.file("run/summary.json"));
    EXPECT_EQ(summary["settings"]["scheduler"], "euler_a");
    EXPECT_EQ(summary["settings"]["seed"], 1234);
    EXPECT_EQ(summary["steps"].size(), 4u);
    EXPECT_GT(summary["steps"][0]["unet_ms"].get<double>(), 0.0);
    EXPECT_FALSE(summary["steps"][3]["cuda_graph"].get<bool>());
    EXPECT_EQ(summary["unet_run"], "eager: the model runs on the CPU");
    EXPECT_EQ(summary["prompt"]["tokens"][1]["text"], "a");
    EXPECT_EQ(summary["prompt"]["tokens"][2]["text"], "red");
    EXPECT_EQ(summary["negative_prompt"]["tokens"][1]["text"], "blurry");
    EXPECT_EQ(summary["attention_backends"].size(), 32u);
    EXPECT_EQ(summary["attnscope_version"], version());
    EXPECT_EQ(summary["attnscope_commit"], git_commit());
}

// On a GPU the steps after the first replay a CUDA graph, and the picture is the same run's.
TEST(CliGenerate, ReplaysItsStepsAsCudaGraphsOnAGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    test::TempDir dir;
    const auto r = generate_reference_run(dir, "--device cuda --dtype f32");
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("(CUDA graph)"), std::string::npos) << r.output;
    const auto summary = read_json(dir.file("run/summary.json"));
    for (int k = 0; k < 4; ++k) EXPECT_EQ(summary["steps"][k]["cuda_graph"].get<bool>(), k > 0) << k;
    EXPECT_EQ(summary["unet_run"], "replayed a CUDA graph");
    EXPECT_LE(levels_from_reference(dir), 1);
}

TEST(CliGenerate, WritesACaptureThatReadsBack) {
    test::TempDir dir;
    const auto r = test::run_cli("generate --model " + kData +
                                 "/pipeline_v1_small --prompt 'a red circle' --steps 2 "
                                 "--size 64x48 --capture " +
                                 dir.file("capture.safetensors") + " --out " + dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto capture = load_capture(dir.file("capture.safetensors"));
    EXPECT_EQ(capture.store.entries().size(), 2u * 32u);
    EXPECT_EQ(capture.store.steps(), (std::vector<int>{0, 1}));
    EXPECT_EQ(capture.description["settings"]["prompt"], "a red circle");
    const auto* cross = capture.store.find(1, 16, AttentionKind::Cross);
    ASSERT_NE(cross, nullptr);
    EXPECT_EQ(cross->lse.sizes(), (at::IntArrayRef{2 * 8, 48})); // CFG halves x 8 heads, 8x6 latent
    EXPECT_EQ(cross->k.size(1), 77);
    EXPECT_FALSE(cross->probs.defined()); // recomputed from Q, K and the LSE when a map asks
    EXPECT_EQ(read_json(dir.file("run/summary.json"))["capture"]["bytes"].get<int64_t>(),
              capture.store.bytes());
}

TEST(CliGenerate, ExplainsBadInputInOneLine) {
    test::TempDir dir;
    const std::string model = " --model " + kData + "/pipeline_v1_small --out " + dir.file("run");
    auto r = test::run_cli("generate --prompt cat --size 64x4160" + model);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("height 4160 is above 4096 pixels"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("run/image.png")));

    r = test::run_cli("generate --prompt cat --scheduler heun" + model);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("unknown scheduler 'heun'"), std::string::npos) << r.output;

    r = test::run_cli("generate --prompt cat --seed -3" + model);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad --seed '-3'"), std::string::npos) << r.output;

    r = test::run_cli("generate --prompt \"$(printf 'caf\\303')\" --steps 1" + model);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("prompt: "), std::string::npos) << r.output;

    r = test::run_cli("generate --prompt cat --model /nonexistent/sd.safetensors --out " + dir.file("run"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("/nonexistent/sd.safetensors: does not exist"), std::string::npos) << r.output;

    r = test::run_cli("generate --model " + kData + "/pipeline_v1_small");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("generate needs --prompt"), std::string::npos) << r.output;
}

// --init-image FILE --strength S: the run diffusers' img2img makes (tests/test_image_start.cpp checks the
// floats), where it starts said on the console and in summary.json; a picture it cannot read is one line.
TEST(CliGenerate, StartsFromAPictureAtAStrength) {
    test::TempDir dir;
    const std::string model = " --model " + kData +
                              "/pipeline_v1_small --prompt 'a red circle left of a blue "
                              "square, watercolor' --negative blurry --seed 1234 --steps 5 --cfg 7.5 ";
    const auto picture = kData + "/img2img_init.png";
    auto r =
        test::run_cli("generate" + model + "--init-image " + picture +
                      " --strength 0.6 --scheduler dpmpp_2m_karras --size 64x48 --out " + dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("at strength 0.60: the last 3 of 5 steps"), std::string::npos) << r.output;
    const auto image = read_image(dir.file("run/image.png"));
    EXPECT_EQ(image.width, 64);
    EXPECT_EQ(image.height, 48);
    const SafetensorsFile ref(kData + "/img2img_reference.safetensors");
    const auto expected =
        to_image8(ref.load("pipeline_v1_small.dpmpp_2m_karras.image").permute({0, 3, 1, 2}));
    int worst = 0;
    for (std::size_t i = 0; i < image.pixels.size(); ++i)
        worst = std::max(worst, std::abs(int(image.pixels[i]) - int(expected.pixels[i])));
    EXPECT_LE(worst, 1);
    const auto summary = read_json(dir.file("run/summary.json"));
    EXPECT_EQ(summary["settings"]["start_image"]["file"], picture);
    EXPECT_EQ(summary["settings"]["start_image"]["first_step"], 2);
    EXPECT_DOUBLE_EQ(summary["settings"]["start_image"]["strength"].get<double>(), 0.6);
    EXPECT_EQ(summary["steps"].size(), 3u);

    test::write_bytes(dir.file("cut.jpg"), "\xff\xd8\xff\xe0 not much of a JPEG");
    r = test::run_cli("generate" + model + "--init-image " + dir.file("cut.jpg") + " --out " +
                      dir.file("bad"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("cut.jpg: this JPEG file is corrupt or truncated"), std::string::npos)
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad/image.png")));
    r = test::run_cli("generate" + model + "--init-image " + picture + " --strength 0.1 --out " +
                      dir.file("bad"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("runs no step; raise the strength or the steps"), std::string::npos) << r.output;
    r = test::run_cli("generate" + model + "--strength 0.5 --out " + dir.file("bad"));
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("--strength goes with --init-image FILE"), std::string::npos) << r.output;
}

// attnscope image-maps on the small SD v1 pipeline: the files it writes, what summary.json says of the
// reading and of each word, and the maps as fp32; bad input is one line.
TEST(CliImageMaps, WritesEveryWordsMapOfAPicture) {
    test::TempDir dir;
    const auto picture = kData + "/img2img_init.png";
    const std::string base = "image-maps --model " + kData + "/pipeline_v1_small --prompt 'a red circle' ";
    auto r = test::run_cli(base + "--image " + picture +
                           " --timesteps 100,500 --noises 2 --size 64x48 --capture " +
                           dir.file("reading.safetensors") + " --out " + dir.file("maps"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("at 64x48 in 4 U-Net runs; wrote 3 word maps"), std::string::npos) << r.output;
    const auto summary = read_json(dir.file("maps/summary.json"));
    const auto& reading = summary["settings"]["reading"];
    EXPECT_EQ(reading["file"], picture);
    EXPECT_EQ(reading["timesteps"], nlohmann::json::array({100, 500}));
    EXPECT_EQ(reading["noises"], 2);
    EXPECT_EQ(summary["steps"].size(), 4u);
    EXPECT_EQ(summary["steps"][1]["timestep"], 500); // every timestep with the first draw, then the second
    EXPECT_EQ(summary["steps"][2]["timestep"], 100);
    ASSERT_EQ(summary["words"].size(), 3u);
    EXPECT_EQ(summary["words"][2]["word"], "circle");
    EXPECT_EQ(summary["words"][2]["tokens"], nlohmann::json::array({3}));
    const SafetensorsFile maps(dir.file("maps/maps.safetensors"));
    const auto circle = maps.load("word.2");
    EXPECT_EQ(circle.sizes(), at::IntArrayRef({48, 64}));
    EXPECT_NEAR(circle.max().item<double>(), summary["words"][2]["stats"]["max"].get<double>(), 1e-6);
    EXPECT_TRUE(std::filesystem::exists(dir.file("maps/word_02_circle.png")));
    EXPECT_TRUE(std::filesystem::exists(dir.file("maps/word_02_circle16.png")));
    EXPECT_EQ(read_image(dir.file("maps/words.png")).width, 2 + 2 * (64 + 2)); // picture + 3 maps, 2 columns
    // The capture serves attnscope maps like a generation's.
    r = test::run_cli("maps --capture " + dir.file("reading.safetensors") + " --token circle --out " +
                      dir.file("from_capture"));
    EXPECT_EQ(r.rc, 0) << r.output;

    r = test::run_cli(base + "--out " + dir.file("bad"));
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("image-maps needs --image FILE"), std::string::npos) << r.output;
    r = test::run_cli(base + "--image " + picture + " --timesteps 100,1000 --out " + dir.file("bad"));
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad --timesteps '100,1000'"), std::string::npos) << r.output;
    test::write_bytes(dir.file("notes.txt"), "not a picture");
    r = test::run_cli(base + "--image " + dir.file("notes.txt") + " --out " + dir.file("bad"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("notes.txt: not an image attnscope reads"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad")));
}

// --lora FILE[:SCALE] on a small SD v1 pipeline: the image moves with the LoRA and its scale, scale 0 is the
// model without it, summary.json says what was applied, and a LoRA for another model is one line naming it.
TEST(CliGenerate, AppliesLorasAtTheirScale) {
    test::TempDir dir;
    const std::string model = kData + "/pipeline_v1_small";
    const SafetensorsFile unet(model + "/unet/diffusion_pytorch_model.safetensors");
    const std::string layer = "mid_block.attentions.0.transformer_blocks.0.attn2.to_v";
    const auto w = unet.load(layer + ".weight");
    at::manual_seed(1);
    write_safetensors(
        dir.file("style.safetensors"),
        {{"lora_unet_" + std::string("mid_block_attentions_0_transformer_blocks_0_attn2_to_v") +
              ".lora_down.weight",
          at::randn({4, w.size(1)})},
         {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_v.lora_up.weight",
          at::randn({w.size(0), 4})},
         {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_v.alpha", at::tensor(4.0f)}});
    const auto run = [&](const std::string& name, const std::string& extra) {
        const auto r =
            test::run_cli("generate --model " + model + " --prompt 'a red circle' --steps 2 --seed 3 " +
                          extra + " --out " + dir.file(name));
        EXPECT_EQ(r.rc, 0) << r.output;
        return read_image(dir.file(name + "/image.png")).pixels;
    };
    const auto plain = run("plain", "");
    EXPECT_EQ(run("off", "--lora " + dir.file("style.safetensors") + ":0"), plain);
    EXPECT_NE(run("on", "--lora " + dir.file("style.safetensors") + ":2.5"), plain);
    const auto loras = read_json(dir.file("on/summary.json"))["model"]["loras"];
    ASSERT_EQ(loras.size(), 1u);
    EXPECT_EQ(loras[0]["path"], dir.file("style.safetensors"));
    EXPECT_EQ(loras[0]["layers"], 1);
    EXPECT_EQ(loras[0]["scale"], 2.5);

    write_safetensors(dir.file("other.safetensors"),
                      {{"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_v.lora_down.weight",
                        at::zeros({4, 1024})},
                       {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_v.lora_up.weight",
                        at::zeros({w.size(0), 4})}});
    const auto r = test::run_cli("generate --model " + model + " --prompt cat --steps 1 --lora " +
                                 dir.file("other.safetensors") + " --out " + dir.file("bad"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(
        r.output.find("other.safetensors: 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_v."
                      "lora_down.weight' does not fit"),
        std::string::npos)
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad/image.png")));
}

// The embedded model knows the words of its captions only: each other word of either prompt is named once
// on stderr, and the image is made all the same.
TEST(CliGenerate, WarnsOfEachWordTheEmbeddedModelDoesNotKnow) {
    test::TempDir dir;
    const auto r =
        test::run_cli("generate --prompt 'a cat left of a Cat on a grey background' --negative 'a dog' "
                      "--steps 1 --out " +
                      dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_TRUE(std::filesystem::exists(dir.file("run/image.png")));
    // Without --cfg the model's own guidance: the embedded model's images are scored at 4.
    EXPECT_EQ(read_json(dir.file("run/summary.json"))["settings"]["guidance_scale"], 4.0);
    const auto count = [&](const std::string& text) {
        std::size_t n = 0;
        for (auto at = r.output.find(text); at != std::string::npos; at = r.output.find(text, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("attnscope generate: warning: "), 3u) << r.output;
    for (const char* word : {"cat", "grey", "dog"})
        EXPECT_EQ(count(std::string("warning: '") + word +
                        "' is not in the embedded model's vocabulary; it knows: "
                        "a, above, background, below, big, black, blue, brown,"),
                  1u)
            << word << "\n"
            << r.output;
}

TEST(CliGenerate, AsksForAVaeWhenALatentModelHasNone) {
    test::TempDir dir;
    namespace fs = std::filesystem;
    fs::copy(kData + "/pipeline_v1_small", dir.file("model"), fs::copy_options::recursive);
    test::remove_tree(dir.file("model/vae"));
    const auto r = test::run_cli("generate --prompt cat --steps 1 --model " + dir.file("model") + " --out " +
                                 dir.file("run"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("a VAE is needed to see images: give one with --vae PATH"), std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(dir.file("run/image.png")));

    const auto with_vae =
        test::run_cli("generate --prompt cat --steps 1 --model " + dir.file("model") + " --vae " + kData +
                      "/pipeline_v1_small/vae --out " + dir.file("run"));
    EXPECT_EQ(with_vae.rc, 0) << with_vae.output;
}

} // namespace
} // namespace attnscope
