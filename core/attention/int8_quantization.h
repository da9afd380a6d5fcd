#pragma once
// What our int8 attention kernel (kernels/int8_attention.cu) does to Q and K, in ATen on any device: the
// CPU's int8 backend computes with it, the inspector (core/compare/quant_inspector.h) measures it. The kernel
// subtracts K's mean over tokens (per row and dim; a per-query constant, which the softmax ignores), then
// quantizes Q and the smoothed K in blocks of 64 tokens, one step per block: step = max|x| / 127 (1 for an
// all-zero block), x8 = round(x * (1 / step)) to nearest, ties to even, no clamp (the block's largest value
// lands on +-127). Its logits are scale (q8.k8) step_q step_k, plus the scale q.mean smoothing took away
// when it reports the LSE.
#include <ATen/ATen.h>
#include <cstdint>

namespace attnscope {

inline constexpr int kInt8QuantBlock = 64; // tokens per quantization step, the kernel's kQuantBlock

// One operand quantized: Q, or K after smoothing.
struct Int8Operand {
    at::Tensor values;    // (rows, S, d) int8
    at::Tensor steps;     // (rows, blocks) fp32, blocks = ceil(S / 64): the dequantization step of each block
    at::Tensor saturated; // (rows, blocks) int64: how many of the block's values are +-127
};

struct Int8Quantization {
    Int8Operand q, k;
    at::Tensor k_mean;     // (rows, d) fp32: K's mean over its tokens, subtracted before quantizing
    at::Tensor q_dot_mean; // (rows, Sq) fp32: scale q_i.mean, the constant smoothing took from row i's scores
    float scale = 1;       // the softmax scale, in fp32 as the kernel takes it
};

// The kernel's two preparing passes on q (rows, Sq, d) and k (rows, Sk, d), read as fp32 as the kernel
// reads its fp16/bf16 inputs. Equal to the kernel's int8 tensors and steps up to the order in which K's
// mean is summed. Throws std::invalid_argument for shapes that do not belong together or non-float inputs.
Int8Quantization quantize_like_int8(const at::Tensor& q, const at::Tensor& k, double scale);

// The logits the kernel's softmax works with for queries [first, first + count) of one row, with the
// smoothing constant added back so they compare with scale q_i.k_j: scale (q8_i.k8_j) step_q step_k +
// q_dot_mean_i, (count, Sk) fp64 on the tensors' device.
at::Tensor int8_scores(const Int8Quantization& quant, int64_t row, int64_t first, int64_t count);

// Each token's step: its block's step repeated over the block's tokens, (rows, S) fp32.
at::Tensor token_steps(const Int8Operand& op);

} // namespace attnscope
