#pragma once
// softmax(QK^T / sqrt(d)) V with explicit loops in float64: the reference the attention tests compare with.
// q, k, v: (B, heads, S, d). Optionally the last batch item's (the prompt half's) probabilities of the
// `scaled` key columns are multiplied by `factor`, then divided by the new row sum if `renormalize` (what
// attention edits do).
#include <ATen/ATen.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace attnscope::test {

inline at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                      const std::vector<int64_t>& scaled = {}, double factor = 1,
                                      bool renormalize = false) {
    const auto Q = q.to(at::kDouble).contiguous(), K = k.to(at::kDouble).contiguous(),
               V = v.to(at::kDouble).contiguous();
    const int64_t B = Q.size(0), H = Q.size(1), S = Q.size(2), T = K.size(2), D = Q.size(3), E = V.size(3);
    auto out = at::zeros({B, H, S, E}, at::kDouble);
    auto q_ = Q.accessor<double, 4>(), k_ = K.accessor<double, 4>(), v_ = V.accessor<double, 4>();
    auto o_ = out.accessor<double, 4>();
    std::vector<double> p(T);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < S; ++i) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < T; ++j) {
                    double dot = 0;
                    for (int64_t d = 0; d < D; ++d) dot += q_[b][h][i][d] * k_[b][h][j][d];
                    p[j] = dot / std::sqrt(static_cast<double>(D));
                    mx = std::max(mx, p[j]);
                }
                for (int64_t j = 0; j < T; ++j) sum += (p[j] = std::exp(p[j] - mx));
                for (auto& x : p) x /= sum;
                double kept = 1;
                if (b == B - 1)
                    for (const auto t : scaled) {
                        kept += (factor - 1) * p[t];
                        p[t] *= factor;
                    }
                for (int64_t j = 0; j < T; ++j)
                    for (int64_t e = 0; e < E; ++e)
                        o_[b][h][i][e] += p[j] / (renormalize ? kept : 1) * v_[b][h][j][e];
            }
    return out;
}

} // namespace attnscope::test
