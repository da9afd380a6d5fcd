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

struct AttentionSite {
    int index = 0; // 1..16 for SD, in forward order (down 1-6, mid 7, up 8-16)
    AttentionKind kind = AttentionKind::Self;
    int height = 0, width = 0; // spatial size of the feature map the queries come from
    int heads = 0, head_dim = 0;
    int64_t batch = 0; // latent batch (2 with classifier-free guidance)
    int64_t seq_q = 0, seq_k = 0;
    bool upcast = false; // softmax(QK^T) in fp32 (SD v2.1)
    std::string module; // diffusers module path, e.g. "down_blocks.0.attentions.0.transformer_blocks.0.attn1"
    double scale() const;      // 1/sqrt(head_dim)
    std::string label() const; // "index 1 self 64x64"
};

} // namespace attnscope
