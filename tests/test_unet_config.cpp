#include "model/unet_config.h"
#include "test_util.h"

#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

// runwayml/stable-diffusion-v1-5 unet/config.json, as published.
const char* kSd15Config = R"({
  "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
  "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
  "cross_attention_dim": 768,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
  "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
})";

// stabilityai/stable-diffusion-2-1 unet/config.json, as published.
const char* kSd21Config = R"({
  "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.10.0.dev0", "act_fn": "silu",
  "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
  "center_input_sample": false, "cross_attention_dim": 1024,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0,
  "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
  "num_class_embeds": null, "only_cross_attention": false, "out_channels": 4, "sample_size": 96,
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  "upcast_attention": true, "use_linear_projection": true
})";

// stabilityai/stable-diffusion-xl-base-1.0 unet/config.json, as published (its nulls included).
const char* kSdxlConfig = R"({
  "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.19.0.dev0", "act_fn": "silu",
  "addition_embed_type": "text_time", "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256,
  "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280], "center_input_sample": false,
  "class_embed_type": null, "class_embeddings_concat": false, "conv_in_kernel": 3, "conv_out_kernel": 3,
  "cross_attention_dim": 2048, "cross_attention_norm": null,
  "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "downsample_padding": 1,
  "dual_cross_attention": false, "encoder_hid_dim": null, "encoder_hid_dim_type": null, "flip_sin_to_cos": true,
  "freq_shift": 0, "in_channels": 4, "layers_per_block": 2, "mid_block_only_cross_attention": null,
  "mid_block_scale_factor": 1, "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05,
  "norm_num_groups": 32, "num_attention_heads": null, "num_class_embeds": null, "only_cross_attention": false,
  "out_channels": 4, "projection_class_embeddings_input_dim": 2816, "resnet_out_scale_factor": 1.0,
  "resnet_skip_time_act": false, "resnet_time_scale_shift": "default", "sample_size": 128,
  "time_cond_proj_dim": null, "time_embedding_act_fn": null, "time_embedding_dim": null,
  "time_embedding_type": "positional", "timestep_post_act": null, "transformer_layers_per_block": [1, 2, 10],
  "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "upcast_attention": null,
  "use_linear_projection": true
})";

void expect_same(const UNetConfig& a, const UNetConfig& b) {
    EXPECT_EQ(a.block_out_channels, b.block_out_channels);
    EXPECT_EQ(a.level_has_attention, b.level_has_attention);
    EXPECT_EQ(a.heads, b.heads);
    EXPECT_EQ(a.layers_per_block, b.layers_per_block);
    EXPECT_EQ(a.cross_attention_dim, b.cross_attention_dim);
    EXPECT_EQ(a.use_linear_projection, b.use_linear_projection);
    EXPECT_EQ(a.upcast_attention, b.upcast_attention);
    EXPECT_EQ(a.sample_size, b.sample_size);
    EXPECT_EQ(a.in_channels, b.in_channels);
    EXPECT_EQ(a.norm_num_groups, b.norm_num_groups);
    EXPECT_EQ(a.transformer_depth, b.transformer_depth);
    EXPECT_EQ(a.addition_time_embed_dim, b.addition_time_embed_dim);
    EXPECT_EQ(a.addition_embed_input_dim, b.addition_embed_input_dim);
}

TEST(UNetConfig, ReadsThePublishedSd15Config) {
    const auto c = unet_config_from_json(nlohmann::json::parse(kSd15Config), "sd15");
    expect_same(c, sd15_unet_config());
    EXPECT_EQ(c.version(), 1);
    EXPECT_EQ(c.time_embed_dim(), 1280);
}

TEST(UNetConfig, ReadsThePublishedSd21Config) {
    const auto c = unet_config_from_json(nlohmann::json::parse(kSd21Config), "sd21");
    auto expected = sd21_unet_config();
    expect_same(c, expected);
    EXPECT_EQ(c.version(), 2);
    EXPECT_EQ(c.heads, (std::vector<int>{5, 10, 20, 20}));
}

TEST(UNetConfig, ReadsThePublishedSdxlConfig) {
    const auto c = unet_config_from_json(nlohmann::json::parse(kSdxlConfig), "sdxl");
    expect_same(c, sdxl_unet_config());
    EXPECT_EQ(c.family(), "SDXL");
    EXPECT_EQ(c.level_has_attention, (std::vector<bool>{false, true, true}));
    EXPECT_EQ(c.transformer_depth, (std::vector<int>{1, 2, 10}));
    EXPECT_FALSE(c.upcast_attention);
    EXPECT_EQ(c.pooled_text_dim(), 1280); // OpenCLIP bigG's projected end token
    EXPECT_EQ(c.describe(), "SDXL U-Net (channels 320/640/1280, heads 5/10/20, transformer depth 1/2/10, "
                            "context 2048, epsilon)");
}

TEST(UNetConfig, JsonRoundTrip) {
    for (const auto& c :
         {sd15_unet_config(), sd21_unet_config(), sd21_base_unet_config(), sdxl_unet_config()})
        expect_same(unet_config_from_json(unet_config_to_json(c), "roundtrip"), c);
}

TEST(UNetConfig, RejectsWhatWeDoNotRun) {
    // stabilityai/stable-diffusion-xl-refiner-1.0's U-Net: bigG context alone, five micro-conditioning
    // numbers.
    auto refiner = nlohmann::json::parse(kSdxlConfig);
    refiner["block_out_channels"] = {384, 768, 1536, 1536};
    refiner["attention_head_dim"] = {6, 12, 24, 24};
    refiner["down_block_types"] = {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                   "DownBlock2D"};
    refiner["up_block_types"] = {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"};
    refiner["transformer_layers_per_block"] = 4;
    refiner["cross_attention_dim"] = 1280;
    refiner["projection_class_embeddings_input_dim"] = 2560;
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(refiner, "refiner.json"), std::invalid_argument,
                                "SDXL's refiner");
    auto upscaler = nlohmann::json::parse(kSd15Config);
    upscaler["class_embed_type"] = "timestep";
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(upscaler, "x4.json"), std::invalid_argument,
                                "upscalers");
    auto bad_depth = nlohmann::json::parse(kSdxlConfig);
    bad_depth["transformer_layers_per_block"] = {1, 2};
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(bad_depth, "d.json"), std::invalid_argument,
                                "list of 3 integers");
    auto bad_heads = nlohmann::json::parse(kSd15Config);
    bad_heads["attention_head_dim"] = 7;
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(bad_heads, "h.json"), std::invalid_argument, "7 heads");
    auto no_channels = nlohmann::json::parse(kSd15Config);
    no_channels.erase("block_out_channels");
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(no_channels, "c.json"), std::invalid_argument,
                                "c.json");
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_preset("sd3"), std::invalid_argument, "known: sd15");
}

// What fuzz_unet_config found under UBSan: a group count of 0 divided by zero, and numbers too big for an
// int (or not whole) were cast regardless. Each is a message now.
TEST(UNetConfig, RejectsNumbersItCannotUse) {
    const auto with = [](const char* key, const nlohmann::json& value) {
        auto j = nlohmann::json::parse(kSd15Config);
        j[key] = value;
        return j;
    };
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(with("norm_num_groups", 0), "g.json"),
                                std::invalid_argument, "norm_num_groups must be at least 1");
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(with("in_channels", 1e300), "i.json"),
                                std::invalid_argument, "i.json: \"in_channels\" must be a whole number");
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(with("sample_size", 1ll << 40), "s.json"),
                                std::invalid_argument, "fits an int");
    ATTNSCOPE_EXPECT_THROW_WITH(
        unet_config_from_json(with("block_out_channels", {320, 640.5, 1280, 1280}), "b.json"),
        std::invalid_argument, "block_out_channels");
    ATTNSCOPE_EXPECT_THROW_WITH(
        unet_config_from_json(with("attention_head_dim", {5, 10, 20, 1e10}), "h.json"), std::invalid_argument,
        "attention_head_dim");
}

} // namespace
} // namespace attnscope
