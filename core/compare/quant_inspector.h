#pragma once
// What our int8 attention kernel (kernels/int8_attention.cu) does to one call's scores, emulated in ATen on
// any device. The kernel subtracts K's mean over tokens (per row and dim; a per-query constant, which the
// softmax ignores), then quantizes Q and the smoothed K in blocks of 64 tokens, one step per block:
// step = max|x| / 127 (1 for an all-zero block), x8 = round(x * (1 / step)) to nearest, ties to even, no
// clamp (the block's largest value lands on +-127). Its logits are scale (q8.k8) step_q step_k, plus the
// scale q.mean smoothing took away when it reports the LSE. The inspector measures that against the exact
// scores scale q.k: histograms of both, per-block steps and saturation, and the error in P per row and key.
#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

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

struct AbsError {
    double max_abs = 0, mean_abs = 0;
};

// Counts of scores in `bins` bins of equal width over [lo, hi]: bin b holds lo + b w <= s < lo + (b + 1) w,
// the last one s == hi too. One range for both, the smallest and largest score of either.
struct ScoreHistogram {
    double lo = 0, hi = 0;
    std::vector<int64_t> exact, quantized;
    double edge(std::size_t b) const { return lo + (hi - lo) * static_cast<double>(b) / exact.size(); }
};

struct Int8Inspection {
    Int8Quantization quant;
    ScoreHistogram histogram;
    AbsError score_error;                 // |int8 score - exact score| over every (row, query, key)
    AbsError lse_error;                   // over every (row, query)
    AbsError p_error;                     // |P_int8 - P| over every entry
    std::vector<AbsError> p_error_by_row; // per row (batch * heads + head): over its queries and keys
    std::vector<AbsError> p_error_by_key; // per key token: over every row and query
    at::Tensor lse_exact, lse_int8;       // (rows, Sq) fp64: ln sum_j exp(score_ij) of either
};

// Exact scores, P and LSE in fp64 from q and k as given, the int8 ones from quantize_like_int8 and
// int8_scores, a block of queries at a time so no full P of a large site is held (the scores are made twice:
// once for the histogram's range, once for everything else). Throws std::invalid_argument for bad shapes or
// bins < 1.
Int8Inspection inspect_int8(const at::Tensor& q, const at::Tensor& k, double scale, int bins = 100);

} // namespace attnscope
