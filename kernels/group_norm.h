#pragma once
// GroupNorm of channels-last (NHWC) activations, optionally followed by SiLU, in one launch: the U-Net's
// resnets normalize and activate every feature map, and LibTorch's kernel takes NCHW, hands NHWC input back
// as NCHW and leaves SiLU to another pass over memory. No LibTorch and no CUDA headers (attention_kernels.h).
#include "attention_kernels.h"

#include <cstdint>

namespace attnscope::kernels {

struct GroupNormArgs {
    ElementType dtype = ElementType::F16;
    const void* x = nullptr;     // (batch, pixels, channels), contiguous: NHWC
    void* y = nullptr;           // the same shape and type
    const void* gamma = nullptr; // (channels), the same type
    const void* beta = nullptr;  // (channels)
    int64_t batch = 0, pixels = 0;
    int channels = 0, groups = 0;
    float eps = 1e-5f;
    bool silu = false; // y = silu(groupnorm(x))
    void* stream = nullptr;
};

// Whether the kernel takes this many channels in this many groups (whole groups of at most 512 channels).
bool group_norm_nhwc_supported(int channels, int groups);

// Statistics in fp32 over each (batch item, group): the mean first, then the centred variance (no
// cancellation). Throws std::invalid_argument where group_norm_nhwc_supported says no.
void group_norm_nhwc_forward(const GroupNormArgs& a);

} // namespace attnscope::kernels
