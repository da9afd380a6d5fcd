#pragma once
// GroupNorm, optionally followed by SiLU, of a channels-last activation by our CUDA kernel
// (kernels/group_norm.h), where it runs: a CUDA tensor in fp16 or bf16, NHWC, whole groups, the channels
// group_norm_nhwc_supported takes, and a build with our kernels.
#include <ATen/ATen.h>

namespace attnscope {

// y = [silu](groupnorm(x + shift) * gamma + beta), channels-last like x, shift (B, C) in x's type or
// undefined; undefined where the kernel does not run (the caller's LibTorch path does).
at::Tensor fused_group_norm_nhwc(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta,
                                 int64_t groups, double eps, bool silu, const at::Tensor& shift = {});

} // namespace attnscope
