#pragma once
// GEGLU, the transformer blocks' feed-forward gate, in one pass: out = a * gelu(g) where the projection's
// rows are [a | g]. LibTorch takes a GELU pass (g in, gelu(g) out) and a product pass (a and gelu(g) in, out
// out); this reads a and g once and writes out once. No LibTorch and no CUDA headers.
#include "attention_kernels.h"

#include <cstdint>

namespace attnscope::kernels {

struct GegluArgs {
    ElementType dtype = ElementType::F16;
    const void* proj = nullptr; // (rows, 2 * width), contiguous: a, then g
    void* out = nullptr;        // (rows, width), contiguous
    int64_t rows = 0, width = 0;
    void* stream = nullptr;
};

// GELU is the exact one (erf), as diffusers' GEGLU and at::gelu's default; fp32 arithmetic.
void geglu_forward(const GegluArgs& a);

} // namespace attnscope::kernels
