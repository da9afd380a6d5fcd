#include "tiny_model.h"

#include "scenes.h"

namespace attnscope::tiny {

UNetConfig tiny_unet_config(int coordinate_channels) {
    UNetConfig c;      // SD v1 defaults for everything not set here
    c.in_channels = 3; // RGB in [-1, 1]: no VAE, so index-1 sites see 64x64 = 4096 queries as SD at 512
    c.coordinate_channels = coordinate_channels;
    c.out_channels = 3; // epsilon
    c.block_out_channels = {32, 48, 64, 64};
    c.heads = {8, 8, 8, 8};
    c.cross_attention_dim = 64;
    c.norm_num_groups = 16;
    c.sample_size = kImageSize;
    c.prediction = Prediction::Epsilon;
    c.validate();
    return c;
}

ClipTextConfig tiny_text_config(int vocab_size, bool causal) {
    ClipTextConfig c;
    c.vocab_size = vocab_size;
    c.hidden_size = 64; // = the U-Net's cross_attention_dim
    c.num_layers = 3;
    c.num_heads = 2;
    c.intermediate_size = 256;
    c.max_positions = 77;
    c.act = ClipActivation::QuickGelu;
    c.causal = causal;
    c.validate();
    return c;
}

} // namespace attnscope::tiny
