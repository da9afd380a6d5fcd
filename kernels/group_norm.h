#pragma once
// GroupNorm of channels-last (NHWC) activations, optionally followed by SiLU, in one pass over memory
// after the statistics: the U-Net's resnets normalize and activate every feature map, and LibTorch's kernel
// takes NCHW, hands NHWC input back as NCHW and leaves SiLU to another pass over memory. No LibTorch and no
// CUDA headers (attention_kernels.h).
#include "attention_kernels.h"

#include <cstddef>
#include <cstdint>

namespace attnscope::kernels {

struct GroupNormArgs {
    ElementType dtype = ElementType::F16;
    const void* x = nullptr;     // (batch, pixels, channels), contiguous: NHWC
    void* y = nullptr;           // the same shape and type
    const void* gamma = nullptr; // (channels), the same type
    const void* beta = nullptr;  // (channels)
    // (batch, channels), the same type, or null: added to x before it is normalized (a resnet's conv1 bias
    // and timestep projection), so that sum needs no pass over memory of its own.
    const void* shift = nullptr;
    int64_t batch = 0, pixels = 0;
    int channels = 0, groups = 0;
    float eps = 1e-5f;
    bool silu = false;         // y = silu(groupnorm(x))
    void* workspace = nullptr; // group_norm_nhwc_workspace_bytes(*this) bytes of device memory
    void* stream = nullptr;
};

// Whether the kernel takes this many channels in this many groups: whole groups, and at most 4096 channels
// (512 where they are not a multiple of 8).
bool group_norm_nhwc_supported(int channels, int groups);

// The device memory the statistics take between the kernel's passes (a few KB at SD's sizes).
size_t group_norm_nhwc_workspace_bytes(const GroupNormArgs& a);

// Three launches: per-chunk statistics from many blocks a batch item (each chunk's mean, then its centred
// sum of squares: no cancellation), their merge per group, and the normalization. fp32 throughout. Throws
// std::invalid_argument where group_norm_nhwc_supported says no.
void group_norm_nhwc_forward(const GroupNormArgs& a);

} // namespace attnscope::kernels
