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
    bool want_lse = false;   // an observer keeps the row LSE: fill `lse` if this backend can
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
    // Whether every call holds the whole P (batch x heads x Sq x Sk) in memory at once.
    virtual bool materializes_probs() const { return false; }
    // Whether its result carries the row log-sum-exp when the request wants it.
    virtual bool returns_lse() const { return true; }
};

// Why Q, K and V of `r` do not make one attention call: (B, heads, S, d) tensors of one dtype on one device
// with one head dim, matching batch, heads and key count, at least one query and key. Empty when they do.
std::string request_shape_problem(const AttentionRequest& r);

// The reference: P materialized with an fp32 softmax, exposed to observers.
std::unique_ptr<AttentionBackend> make_math_backend();
// LibTorch's own fused scaled-dot-product attention, where the linked LibTorch has one.
std::unique_ptr<AttentionBackend> make_sdpa_backend();
// Our fused kernels, both returning the LSE: on CUDA tensors the CUDA kernels (where this build has them), on
// CPU tensors our CPU kernel (cpu_attention.h). flash: kernels/flash_attention.cu, fp16/bf16, head dims
// 40/64/80/160. int8: kernels/int8_attention.cu, Sage-style int8 QK^T, faster, visibly less exact.
std::unique_ptr<AttentionBackend> make_flash_backend();
std::unique_ptr<AttentionBackend> make_int8_backend();

} // namespace attnscope
