#pragma once
// The int8 inspector: what our int8 attention kernel's quantization (core/attention/int8_quantization.h) does
// to one call's scores, measured against the exact scores scale q.k: histograms of both, per-block steps and
// saturation, and the error in P per row and key.
#include "attention/int8_quantization.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

namespace attnscope {

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
