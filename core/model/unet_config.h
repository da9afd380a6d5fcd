#pragma once
// The hyper-parameters of a UNet2DConditionModel as SD v1.x and v2.x use it.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace attnscope {

enum class Prediction { Epsilon, VPrediction };

struct UNetConfig {
    int in_channels = 4;
    int out_channels = 4;
    std::vector<int> block_out_channels{320, 640, 1280, 1280};
    std::vector<bool> level_has_attention{true, true, true, false}; // CrossAttn*Block2D vs plain
    std::vector<int> heads{8, 8, 8, 8};                             // attention heads per level
    int layers_per_block = 2;
    int cross_attention_dim = 768;
    bool use_linear_projection = false; // SD v2: linear proj_in/proj_out instead of 1x1 convs
    bool upcast_attention = false;      // SD v2.1: softmax(QK^T) computed in fp32
    int norm_num_groups = 32;
    double norm_eps = 1e-5;
    int sample_size = 64;        // latent side the model was trained at
    bool flip_sin_to_cos = true; // timestep embedding order cos|sin
    double freq_shift = 0;
    Prediction prediction = Prediction::Epsilon;

    int levels() const { return static_cast<int>(block_out_channels.size()); }
    int time_embed_dim() const { return block_out_channels.front() * 4; }
    int version() const { return use_linear_projection ? 2 : 1; }
    std::string describe() const; // one line: "SD v1 U-Net (320/640/1280/1280, 8 heads, ...)"
    void validate() const;        // throws std::invalid_argument naming the inconsistent field
};

UNetConfig sd15_unet_config();                          // SD v1.x at 512x512
UNetConfig sd21_unet_config();                          // SD v2.x 768-v (v-prediction, upcast attention)
UNetConfig sd21_base_unet_config();                     // SD v2.x 512 base (epsilon)
UNetConfig unet_config_preset(const std::string& name); // "sd15" | "sd21" | "sd21-base"

// Reads diffusers' unet/config.json. Throws std::invalid_argument for layouts we do not run.
UNetConfig unet_config_from_json(const nlohmann::json& j, const std::string& label);
nlohmann::json unet_config_to_json(const UNetConfig& c);

std::string to_string(Prediction p);
Prediction parse_prediction(const std::string& s);

} // namespace attnscope
