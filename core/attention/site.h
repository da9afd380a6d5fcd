#pragma once
// Where an attention call sits in the U-Net and its geometry, without LibTorch: capture files describe their
// sites with it, and their reader is fuzzed torch-free.
#include <cstdint>
#include <string>

namespace attnscope {

enum class AttentionKind { Self, Cross };

inline const char* to_string(AttentionKind k) {
    return k == AttentionKind::Self ? "self" : "cross";
}

enum class UNetPath { Down, Mid, Up };
// The path of a site from its diffusers module ("down_blocks.", "mid_block.", "up_blocks."); throws
// std::invalid_argument for a module on none of them.
UNetPath unet_path(const std::string& module);
const char* to_string(UNetPath p); // "down", "mid", "up"
// The transformer an attention module belongs to: "down_blocks.2.attentions.0" for
// "down_blocks.2.attentions.0.transformer_blocks.3.attn1" (the module itself where it names no block).
std::string transformer_module(const std::string& attention_module);

struct AttentionSite {
    int index = 0; // 1..N in forward order, one per basic transformer block (SD: 16; SDXL: 70)
    AttentionKind kind = AttentionKind::Self;
    int height = 0, width = 0; // spatial size of the feature map the queries come from
    int heads = 0, head_dim = 0;
    int64_t batch = 0; // latent batch (2 with classifier-free guidance)
    int64_t seq_q = 0, seq_k = 0;
    bool upcast = false; // softmax(QK^T) in fp32 (SD v2.1)
    std::string module; // diffusers module path, e.g. "down_blocks.0.attentions.0.transformer_blocks.0.attn1"
    int level = 0; // resolution level: 0 is the latent's own size, each below halves it (-1: not recorded)
    int depth = 0; // which block inside its transformer (0-based; SD v1/v2 have one, SDXL up to ten)
    double scale() const;      // 1/sqrt(head_dim)
    std::string label() const; // "index 1 self 64x64"
    std::string place() const; // "down, level 1, down_blocks.1.attentions.0, block 2"
};

} // namespace attnscope
