#pragma once
// From LibTorch tensors to the torch-free kernel interface (kernels/attention_kernels.h): element types,
// strides, the stream LibTorch queues work on, and the checks both of our fused backends share.
#include "attention_kernels.h"
#include "backend.h"

#include <ATen/ATen.h>
#include <string>

namespace attnscope {

// The stream LibTorch's kernels for `device` run on; nullptr (the legacy default stream, which LibTorch
// uses unless told otherwise) when the linked LibTorch has no CUDA.
void* torch_cuda_stream(const at::Device& device);

bool is_kernel_element_type(at::ScalarType t); // fp16 or bf16
kernels::ElementType kernel_element_type(at::ScalarType t);

// Strides of a (rows, S, d) tensor whose last dim is contiguous.
kernels::RowStrides row_strides(const at::Tensor& t);

// Why our fused kernels cannot run this request (CPU tensors, dtype, head dim, shapes), or empty.
std::string fused_unsupported_reason(const AttentionRequest& r);

// q, k, v, out: contiguous (B, heads, S, d); lse: contiguous (B, heads, Sq) fp32.
kernels::AttentionArgs attention_args(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                      at::Tensor& out, at::Tensor& lse, double scale);

} // namespace attnscope
