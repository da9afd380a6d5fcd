#pragma once
// P recomputed on demand from what a capture keeps — Q, K and the forward pass's row LSE — instead of
// storing it: p_ij = exp(scale q_i.k_j - lse_i). A key column is one key's map over every query (a text
// token's cross-attention map); a query row is one query's map over every key (a pixel's self-attention
// map). One head, or the mean or max over the heads of one batch item. CUDA fp16/bf16 inputs run
// kernels/attention_probe.cu; anything else (the CPU, tiny models) the same formula in ATen.
#include "attention_kernels.h"

#include <ATen/ATen.h>
#include <cstdint>

namespace attnscope {

using kernels::HeadReduction;
using kernels::ProbeAxis;
using kernels::ProbeSurface;
using kernels::SurfaceFormat;

// What one forward call left behind, batch-major as observers see it (row b*heads + h).
struct ProbeInputs {
    at::Tensor q;   // (B*heads, Sq, d)
    at::Tensor k;   // (B*heads, Sk, d)
    at::Tensor lse; // (B*heads, Sq) fp32
    int heads = 0;
    double scale = 1.0; // the site's softmax scale, 1/sqrt(d)
};

struct ProbeSelection {
    ProbeAxis axis = ProbeAxis::KeyColumn;
    int64_t index = 0; // the key j (KeyColumn) or the query i (QueryRow)
    int64_t batch = 0;
    HeadReduction reduction = HeadReduction::Single;
    int head = 0; // with HeadReduction::Single
};

// The map as fp32 on the inputs' device: Sq values for a key column, Sk for a query row. For a site of
// height x width queries, a key column reshaped to (height, width) is the token's spatial map.
at::Tensor probe_map(const ProbeInputs& in, const ProbeSelection& sel);

// The same map written straight into a 2-D CUDA surface of width x height == its length (R32F, or RGBA8
// gray scaled by surface.gain), e.g. a GL texture the caller has mapped through CUDA-GL interop. Queued
// on LibTorch's current stream; CUDA fp16/bf16 inputs only.
void probe_map_to_surface(const ProbeInputs& in, const ProbeSelection& sel, const ProbeSurface& surface);

} // namespace attnscope
