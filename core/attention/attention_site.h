#pragma once
// What one attention call is: where it sits in the U-Net and the tensors it saw.
#include <ATen/ATen.h>
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

// Tensors of one call in diffusers' batch-major layout: row b*heads+h is batch b, head h.
struct AttentionTensors {
    at::Tensor q, k, v; // (B*heads, S, d)
    at::Tensor probs;   // (B*heads, Sq, Sk) where the backend materialized P, else undefined
    at::Tensor out;     // (B*heads, Sq, d), before the heads are merged
    at::Tensor lse;     // (B*heads, Sq) fp32, ln sum_j exp(scale q.k_j), where the backend computed it
};

// Callers observe attention per site through this; it runs synchronously inside the forward pass.
class AttentionObserver {
  public:
    virtual ~AttentionObserver() = default;
    virtual void on_attention(const AttentionSite& site, const AttentionTensors& tensors) = 0;
    // Whether this observer wants P; backends that can produce it then do so.
    virtual bool wants_probs() const { return false; }
    // Whether it keeps the row log-sum-exp: `auto` then prefers backends that return it over ones after which
    // the observer computes it again.
    virtual bool wants_lse() const { return false; }
};

} // namespace attnscope
