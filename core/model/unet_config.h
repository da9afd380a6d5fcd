#pragma once
// The hyper-parameters of a UNet2DConditionModel as SD v1.x, v2.x and SDXL use it.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace attnscope {

enum class Prediction { Epsilon, VPrediction };

struct UNetConfig {
    int in_channels = 4;
    // CoordConv (Liu et al. 2018): x and y ramps over [-1, 1] appended to the sample's channels before
    // conv_in, for a U-Net too small to learn where a pixel lies from its zero padding alone (the
    // embedded model, which must put a phrase left or right of another). 0 (every SD) or 2.
    int coordinate_channels = 0;
    int out_channels = 4;
    std::vector<int> block_out_channels{320, 640, 1280, 1280};
    std::vector<bool> level_has_attention{true, true, true, false}; // CrossAttn*Block2D vs plain
    std::vector<int> heads{8, 8, 8, 8};                             // attention heads per level
    int layers_per_block = 2;
    std::vector<int> transformer_depth{1, 1, 1, 1}; // blocks inside each transformer per level (SDXL: 1/2/10)
    int cross_attention_dim = 768;
    bool use_linear_projection = false; // SD v2: linear proj_in/proj_out instead of 1x1 convs
    bool upcast_attention = false;      // SD v2.1: softmax(QK^T) computed in fp32
    int norm_num_groups = 32;
    double norm_eps = 1e-5;
    int sample_size = 64;        // latent side the model was trained at
    bool flip_sin_to_cos = true; // timestep embedding order cos|sin
    double freq_shift = 0;
    Prediction prediction = Prediction::Epsilon;
    // SDXL's "text_time" addition: the pooled text embedding and six micro-conditioning numbers (sinusoids
    // of this width each) go through a second embedding into the time embedding. 0: no addition (SD v1/v2).
    int addition_time_embed_dim = 0;
    int addition_embed_input_dim = 0; // projection_class_embeddings_input_dim: pooled width + 6 sinusoids

    static constexpr int kTimeIds = 6; // original size, crop top-left, target size (SDXL base)
    bool text_time() const { return addition_time_embed_dim > 0; }
    int pooled_text_dim() const { return addition_embed_input_dim - kTimeIds * addition_time_embed_dim; }

    int levels() const { return static_cast<int>(block_out_channels.size()); }
    int time_embed_dim() const { return block_out_channels.front() * 4; }
    int version() const { return text_time() ? 3 : use_linear_projection ? 2 : 1; } // 3: SDXL
    std::string family() const;   // "SD v1", "SD v2", "SDXL"
    std::string describe() const; // one line: "SD v1 U-Net (320/640/1280/1280, 8 heads, ...)"
    void validate() const;        // throws std::invalid_argument naming the inconsistent field
};

UNetConfig sd15_unet_config();                          // SD v1.x at 512x512
UNetConfig sd21_unet_config();                          // SD v2.x 768-v (v-prediction, upcast attention)
UNetConfig sd21_base_unet_config();                     // SD v2.x 512 base (epsilon)
UNetConfig sdxl_unet_config();                          // SDXL base 1.0 at 1024x1024
UNetConfig unet_config_preset(const std::string& name); // "sd15" | "sd21" | "sd21-base" | "sdxl"

// Reads diffusers' unet/config.json. Throws std::invalid_argument for layouts we do not run.
UNetConfig unet_config_from_json(const nlohmann::json& j, const std::string& label);
nlohmann::json unet_config_to_json(const UNetConfig& c);

std::string to_string(Prediction p);
Prediction parse_prediction(const std::string& s);

} // namespace attnscope
