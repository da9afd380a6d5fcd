#pragma once
// GEGLU of a feed-forward projection in one pass of our CUDA kernel (kernels/geglu.h), where it runs: a
// CUDA tensor in fp16 or bf16 with contiguous rows of even width, not being differentiated, and a build
// with our kernels.
#include <ATen/ATen.h>

namespace attnscope {

// proj (..., 2 * width) = [a | g] -> a * gelu(g) (..., width); undefined where the kernel does not run (the
// caller's LibTorch path does).
at::Tensor fused_geglu(const at::Tensor& proj);

} // namespace attnscope
