#pragma once
// Small U-Nets with the full SD topology (4 levels, 2 layers, 16 attention sites) for fast tests.
#include "model/unet_config.h"

namespace attnscope::test {

inline UNetConfig small_v1_config() {
    UNetConfig c; // SD v1 conventions: 8 heads, conv projections
    c.block_out_channels = {32, 64, 64, 64};
    c.cross_attention_dim = 32;
    c.sample_size = 8;
    return c;
}

inline UNetConfig small_v2_config() {
    UNetConfig c; // SD v2 conventions: 64-wide heads, linear projections, upcast, v-prediction
    c.block_out_channels = {64, 64, 128, 128};
    c.heads = {1, 1, 2, 2};
    c.cross_attention_dim = 48;
    c.use_linear_projection = true;
    c.upcast_attention = true;
    c.prediction = Prediction::VPrediction;
    c.sample_size = 96;
    return c;
}

inline UNetConfig small_xl_config() {
    UNetConfig c; // SDXL conventions: no attention at the first level, deeper transformers, text_time
    c.block_out_channels = {64, 64, 128};
    c.level_has_attention = {false, true, true};
    c.heads = {1, 1, 2};
    c.transformer_depth = {1, 2, 3};
    c.cross_attention_dim = 48;
    c.use_linear_projection = true;
    c.sample_size = 128;
    c.addition_time_embed_dim =
        256; // what every SDXL uses, and what a checkpoint without config.json implies
    c.addition_embed_input_dim = 12 + UNetConfig::kTimeIds * 256;
    return c;
}

} // namespace attnscope::test
