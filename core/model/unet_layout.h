#pragma once
// The U-Net's block structure derived from its config: every block's parameter prefix in both the
// diffusers and the original LDM key layouts, its channels, and (for transformers) its attention index.
// Forward, parameter enumeration and key mapping all walk this one structure.
#include "unet_config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

struct BlockName {
    std::string diffusers; // e.g. "down_blocks.1.attentions.0"
    std::string ldm;       // e.g. "input_blocks.4.1"
};

struct ResnetBlock {
    BlockName name;
    int in_channels, out_channels;
};

// One Transformer2DModel: `depth` basic transformer blocks (self-attention, cross-attention, feed-forward)
// between one projection in and one out. Each block is an attention index of its own.
struct TransformerBlock {
    BlockName name;
    int channels, heads;
    int level; // resolution level: 0 is the latent's own size, each level below halves it
    int index; // 1-based attention index of its first block, in forward order (the seed's numbering)
    int depth; // blocks inside: 1 for SD v1/v2, up to 10 for SDXL
    int head_dim() const { return channels / heads; }
    int last_index() const { return index + depth - 1; }
    std::string block(int d) const { return name.diffusers + ".transformer_blocks." + std::to_string(d); }
};

struct ResampleConv {
    BlockName name; // the conv layer itself: "...downsamplers.0.conv" / "input_blocks.3.0.op"
    int channels;
};

struct UNetLevel {
    std::vector<ResnetBlock> resnets;
    std::vector<TransformerBlock> attentions; // empty or one per resnet
    std::optional<ResampleConv> resample;     // down: stride-2 conv; up: nearest x2 then conv
};

struct UNetLayout {
    std::vector<UNetLevel> down, up;
    ResnetBlock mid_in, mid_out;
    TransformerBlock mid_attention;
    std::vector<TransformerBlock> transformers() const; // all, in index order
    int site_count() const;                             // attention indices: one per basic transformer block
};

UNetLayout make_unet_layout(const UNetConfig& config);

struct ParamSpec {
    std::string name; // diffusers key
    std::string ldm;  // key inside the original checkpoint, without "model.diffusion_model."
    std::vector<int64_t> shape;
};

// Every parameter of the U-Net with both of its names and its shape.
std::vector<ParamSpec> unet_parameters(const UNetConfig& config);

inline constexpr const char* kLdmUNetPrefix = "model.diffusion_model.";

} // namespace attnscope
