#pragma once
// One way of computing softmax(QK^T * scale) V. Tensors are (B, heads, S, d).
#include <ATen/ATen.h>
#include <memory>
#include <string>
#include <vector>

namespace attnscope {

struct AttentionRequest {
    at::Tensor q, k, v;
    double scale = 1.0;
    bool upcast = false;     // compute QK^T and softmax in fp32
    bool want_probs = false; // fill `probs` if this backend can
};

struct AttentionResult {
    at::Tensor out;   // (B, heads, Sq, d)
    at::Tensor probs; // (B, heads, Sq, Sk) or undefined
    at::Tensor lse;   // (B, heads, Sq) fp32, where the backend computes it
};

class AttentionBackend {
  public:
    virtual ~AttentionBackend() = default;
    virtual std::string name() const = 0;
    virtual std::string description() const = 0;
    // Empty when this backend can run the request, otherwise why not (shown to the user).
    virtual std::string unsupported_reason(const AttentionRequest& r) const = 0;
    virtual AttentionResult run(const AttentionRequest& r) const = 0;
};

// The reference: P materialized with an fp32 softmax, exposed to observers.
std::unique_ptr<AttentionBackend> make_math_backend();
// LibTorch's own fused scaled-dot-product attention, where the linked LibTorch has one.
std::unique_ptr<AttentionBackend> make_sdpa_backend();
#ifdef ATTNSCOPE_HAVE_CUDA
// Our fused CUDA kernel (kernels/flash_attention.cu): fp16/bf16, head dims 40/64/80/160, returns the LSE.
std::unique_ptr<AttentionBackend> make_flash_backend();
// Our Sage-style int8 QK^T kernel (kernels/int8_attention.cu): faster, visibly less exact; returns the LSE.
std::unique_ptr<AttentionBackend> make_int8_backend();
#endif

} // namespace attnscope
