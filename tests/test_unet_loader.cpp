#include "model/unet_loader.h"
#include "small_models.h"
#include "test_util.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

at::Tensor run(const UNet& unet) {
    at::manual_seed(7);
    const auto& c = unet.config();
    AttentionRouter router;
    const auto sample = at::randn({2, c.in_channels, 6, 10});
    const auto context = at::randn({2, 77, c.cross_attention_dim});
    const auto added =
        c.text_time() ? default_text_time(at::randn({2, c.pooled_text_dim()}), 80, 48) : AddedConditions{};
    return unet.forward(sample, at::tensor({421.0}), context, router, added);
}

void write_json(const fs::path& p, const nlohmann::json& j) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << j.dump(2);
}

void write_diffusers_folder(const UNet& unet, const fs::path& root) {
    write_json(root / "unet" / "config.json", unet_config_to_json(unet.config()));
    write_safetensors((root / "unet" / "diffusion_pytorch_model.safetensors").string(),
                      unet_state_dict(unet, KeyLayout::Diffusers));
}

TensorMap ldm_checkpoint(const UNet& unet) {
    auto m = unet_state_dict(unet, KeyLayout::Ldm);
    // A real single-file checkpoint also holds the VAE and text encoder.
    m["first_stage_model.decoder.conv_in.weight"] = at::zeros({4, 4, 3, 3});
    m["cond_stage_model.transformer.text_model.final_layer_norm.weight"] = at::ones({8});
    return m;
}

class UNetLoader : public ::testing::TestWithParam<int> {
  protected:
    UNetConfig config() const {
        return GetParam() == 1   ? test::small_v1_config()
               : GetParam() == 2 ? test::small_v2_config()
                                 : test::small_xl_config();
    }
};

TEST_P(UNetLoader, BothLayoutsLoadTheSameModel) {
    const auto unet = UNet::random(config(), 11, at::kFloat, at::kCPU);
    const auto expected = run(unet);
    TempDir dir;
    write_diffusers_folder(unet, dir.path() / "model");
    write_safetensors(dir.file("model.safetensors"), ldm_checkpoint(unet));

    for (const auto& path :
         {dir.path() / "model", dir.path() / "model" / "unet", dir.path() / "model.safetensors"}) {
        const auto ck = open_unet_checkpoint(path.string());
        EXPECT_EQ(ck.layout, path.extension() == ".safetensors" ? KeyLayout::Ldm : KeyLayout::Diffusers);
        EXPECT_EQ(ck.config.block_out_channels, config().block_out_channels);
        EXPECT_EQ(ck.config.heads, config().heads);
        EXPECT_EQ(ck.config.version(), GetParam());
        EXPECT_EQ(ck.config.upcast_attention, config().upcast_attention);
        EXPECT_EQ(ck.config.cross_attention_dim, config().cross_attention_dim);
        EXPECT_EQ(ck.config.transformer_depth, config().transformer_depth);
        EXPECT_EQ(ck.config.addition_embed_input_dim, config().addition_embed_input_dim);
        const auto loaded = load_unet(ck, at::kFloat, at::kCPU);
        EXPECT_TRUE(at::equal(run(loaded), expected)) << path;
    }
}

TEST_P(UNetLoader, VersionAndPredictionAreDetectedFromTheWeights) {
    const auto unet = UNet::random(config(), 12, at::kFloat, at::kCPU);
    TempDir dir;
    write_safetensors(dir.file("bare.safetensors"), unet_state_dict(unet, KeyLayout::Diffusers));
    const auto ck = open_unet_checkpoint(dir.file("bare.safetensors"));
    EXPECT_EQ(ck.config_source, "inferred from weight shapes");
    EXPECT_EQ(ck.config.version(), GetParam());
    EXPECT_EQ(ck.config.prediction, GetParam() == 2 ? Prediction::VPrediction : Prediction::Epsilon);
    EXPECT_EQ(ck.config.sample_size, GetParam() == 3   ? 128
                                     : GetParam() == 2 ? 96
                                                       : 64); // native 1024, 768, 512
    // Model-spec metadata, when a file carries it, decides the prediction type.
    write_safetensors(dir.file("spec.safetensors"), ldm_checkpoint(unet),
                      {{"modelspec.prediction_type", "epsilon"}});
    EXPECT_EQ(open_unet_checkpoint(dir.file("spec.safetensors")).config.prediction, Prediction::Epsilon);
    UNetOpenOptions force;
    force.prediction = Prediction::VPrediction;
    EXPECT_EQ(open_unet_checkpoint(dir.file("spec.safetensors"), force).config.prediction,
              Prediction::VPrediction);
}

INSTANTIATE_TEST_SUITE_P(Versions, UNetLoader, ::testing::Values(1, 2, 3), [](const auto& info) {
    return info.param == 3 ? std::string("sdxl") : "v" + std::to_string(info.param);
});

TEST(UNetLoaderFolder, SchedulerConfigGivesThePrediction) {
    const auto unet = UNet::random(test::small_v1_config(), 13, at::kFloat, at::kCPU);
    TempDir dir;
    write_diffusers_folder(unet, dir.path());
    write_json(dir.path() / "scheduler" / "scheduler_config.json", {{"prediction_type", "v_prediction"}});
    EXPECT_EQ(open_unet_checkpoint(dir.path().string()).config.prediction, Prediction::VPrediction);
}

// A scheduler_config.json is the user's too: a prediction_type that is not a string is a message naming the
// file, not nlohmann's type_error.
TEST(UNetLoaderFolder, AMistypedPredictionTypeNamesTheFile) {
    const auto unet = UNet::random(test::small_v1_config(), 13, at::kFloat, at::kCPU);
    TempDir dir;
    write_diffusers_folder(unet, dir.path());
    write_json(dir.path() / "scheduler" / "scheduler_config.json", {{"prediction_type", 3}});
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint(dir.path().string()), std::runtime_error,
                                "scheduler_config.json: \"prediction_type\" must be a string");
}

TEST(UNetLoaderFolder, LoadsInBf16) {
    const auto unet = UNet::random(test::small_v1_config(), 14, at::kFloat, at::kCPU);
    TempDir dir;
    write_diffusers_folder(unet, dir.path());
    const auto bf16 = load_unet(open_unet_checkpoint(dir.path().string()), at::kBFloat16, at::kCPU);
    EXPECT_EQ(bf16.dtype(), at::kBFloat16);
    const auto out = run(bf16);
    EXPECT_EQ(out.scalar_type(), at::kBFloat16);
    // bf16 keeps 8 mantissa bits; through this random U-Net the output moves by under 5% on the CPUs CI ran
    // on before and by 8.5% on an AVX2 EPYC (other kernels), while a wrongly loaded weight moves it by ~100%.
    EXPECT_LT(test::rel_l2(out, run(unet)), 0.15);
}

class BadCheckpoint : public ::testing::Test {
  protected:
    void SetUp() override {
        model = ldm_checkpoint(UNet::random(test::small_v1_config(), 15, at::kFloat, at::kCPU));
    }
    std::string write(const TensorMap& m) {
        write_safetensors(dir.file("ck.safetensors"), m);
        return dir.file("ck.safetensors");
    }
    TempDir dir;
    TensorMap model;
};

TEST_F(BadCheckpoint, MissingKeyIsNamedInBothLayouts) {
    model.erase("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_v.weight");
    ATTNSCOPE_EXPECT_THROW_WITH(
        open_unet_checkpoint(write(model)), std::runtime_error,
        "missing U-Net weight 'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2."
        "to_v.weight' (diffusers name 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight')");
}

TEST_F(BadCheckpoint, WrongShapeIsNamed) {
    model["model.diffusion_model.output_blocks.3.0.in_layers.2.weight"] = at::zeros({64, 127, 3, 3});
    ATTNSCOPE_EXPECT_THROW_WITH(
        open_unet_checkpoint(write(model)), std::runtime_error,
        "'model.diffusion_model.output_blocks.3.0.in_layers.2.weight' has shape (64, 127, 3, 3), "
        "expected (64, 128, 3, 3)");
}

TEST_F(BadCheckpoint, IntegerWeightsAreRejected) {
    model["model.diffusion_model.out.2.bias"] = at::zeros({4}, at::kLong);
    ATTNSCOPE_EXPECT_THROW_WITH(
        open_unet_checkpoint(write(model)), std::runtime_error,
        "'model.diffusion_model.out.2.bias' is stored as I64, expected a floating-point type");
}

TEST_F(BadCheckpoint, NonUNetFileIsRecognized) {
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint(write({{"encoder.conv_in.weight", at::zeros({2})}})),
                                std::runtime_error, "does not hold a Stable Diffusion U-Net");
}

TEST_F(BadCheckpoint, TruncatedFileIsRejectedBeforeAnyLoad) {
    const auto bytes = test::read_bytes(write(model));
    test::write_bytes(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() / 2));
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint(dir.file("cut.safetensors")), FormatError,
                                "truncated file?");
}

TEST_F(BadCheckpoint, PathsThatAreNotCheckpoints) {
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint(dir.file("none.safetensors")), std::runtime_error,
                                "does not exist");
    test::write_bytes(dir.file("model.ckpt"), "PK");
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint(dir.file("model.ckpt")), std::runtime_error, "pickled");
    fs::create_directories(dir.path() / "empty");
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint((dir.path() / "empty").string()), std::runtime_error,
                                "is a folder without unet/diffusion_pytorch_model.safetensors");
    write_json(dir.path() / "broken" / "unet" / "config.json", nlohmann::json::array());
    write_safetensors((dir.path() / "broken" / "unet" / "diffusion_pytorch_model.safetensors").string(),
                      unet_state_dict(UNet::random(test::small_v1_config(), 1, at::kFloat, at::kCPU),
                                      KeyLayout::Diffusers));
    ATTNSCOPE_EXPECT_THROW_WITH(open_unet_checkpoint((dir.path() / "broken").string()), std::runtime_error,
                                "broken/unet/config.json: is not a JSON object");
}

TEST(UNetWeights, ConstructorChecksShapes) {
    auto w = UNet::random(test::small_v1_config(), 1, at::kFloat, at::kCPU).weights();
    w.set("conv_in.weight", at::zeros({32, 4, 1, 1}));
    ATTNSCOPE_EXPECT_THROW_WITH(UNet(test::small_v1_config(), w), std::invalid_argument,
                                "'conv_in.weight' has shape (32, 4, 1, 1), expected (32, 4, 3, 3)");
}

} // namespace
} // namespace attnscope
