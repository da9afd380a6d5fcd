#include "quant_inspector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

// Running max and sum of |error| over many blocks.
struct ErrorSum {
    double max = 0, sum = 0;
    int64_t count = 0;
    void add(const at::Tensor& abs_error) {
        max = std::max(max, abs_error.max().item<double>());
        sum += abs_error.sum().item<double>();
        count += abs_error.numel();
    }
    AbsError result() const { return {max, count > 0 ? sum / static_cast<double>(count) : 0.0}; }
};

// Walks every row's queries in blocks of whole key rows: f(row, first, exact scores, int8 scores).
template <typename F>
void for_each_score_block(const at::Tensor& q64, const at::Tensor& k64, const Int8Quantization& quant,
                          double scale, F&& f) {
    const int64_t sq = q64.size(1), sk = k64.size(1);
    const int64_t block = std::max<int64_t>(1, (int64_t{1} << 22) / sk); // 4 Mi scores
    for (int64_t row = 0; row < q64.size(0); ++row) {
        const auto kt = k64[row].t();
        for (int64_t first = 0; first < sq; first += block) {
            const int64_t n = std::min(block, sq - first);
            f(row, first, at::matmul(q64[row].narrow(0, first, n), kt) * scale,
              int8_scores(quant, row, first, n));
        }
    }
}

} // namespace

Int8Inspection inspect_int8(const at::Tensor& q, const at::Tensor& k, double scale, int bins) {
    if (bins < 1) throw std::invalid_argument("int8 inspector: needs at least one histogram bin");
    Int8Inspection r;
    r.quant = quantize_like_int8(q, k, scale);
    const auto q64 = q.to(at::kDouble), k64 = k.to(at::kDouble);
    const int64_t rows = q.size(0), sk = k.size(1);

    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for_each_score_block(q64, k64, r.quant, scale,
                         [&](int64_t, int64_t, const at::Tensor& s, const at::Tensor& s8) {
                             lo = std::min({lo, s.min().item<double>(), s8.min().item<double>()});
                             hi = std::max({hi, s.max().item<double>(), s8.max().item<double>()});
                         });
    if (!std::isfinite(lo) || !std::isfinite(hi))
        throw std::invalid_argument(
            "int8 inspector: the captured Q or K hold NaN or infinity (the run diverged: "
            "a guidance scale this large overflows), so there are no scores to histogram");
    if (lo == hi) { // one value everywhere: a unit-wide range around it rather than an empty one
        lo -= 0.5;
        hi += 0.5;
    }

    const auto opts = q64.options();
    auto counts = at::zeros({bins}, opts), counts8 = at::zeros({bins}, opts);
    auto key_max = at::zeros({sk}, opts), key_sum = at::zeros({sk}, opts);
    r.lse_exact = at::empty({rows, q.size(1)}, opts);
    r.lse_int8 = at::empty_like(r.lse_exact);
    ErrorSum scores, lses, probs;
    std::vector<ErrorSum> by_row(rows);
    for_each_score_block(q64, k64, r.quant, scale,
                         [&](int64_t row, int64_t first, const at::Tensor& s, const at::Tensor& s8) {
                             counts += at::histc(s, bins, lo, hi);
                             counts8 += at::histc(s8, bins, lo, hi);
                             const auto lse = at::logsumexp(s, 1, true), lse8 = at::logsumexp(s8, 1, true);
                             r.lse_exact[row].narrow(0, first, s.size(0)).copy_(lse.squeeze(1));
                             r.lse_int8[row].narrow(0, first, s.size(0)).copy_(lse8.squeeze(1));
                             const auto p_error = (at::exp(s8 - lse8) - at::exp(s - lse)).abs();
                             scores.add((s8 - s).abs());
                             lses.add((lse8 - lse).abs());
                             probs.add(p_error);
                             by_row[row].add(p_error);
                             key_max = at::maximum(key_max, p_error.amax(0));
                             key_sum += p_error.sum(0);
                         });

    const auto as_counts = [](const at::Tensor& t) {
        const auto c = t.to(at::kCPU, at::kLong).contiguous();
        return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    };
    r.histogram = {lo, hi, as_counts(counts), as_counts(counts8)};
    r.score_error = scores.result();
    r.lse_error = lses.result();
    r.p_error = probs.result();
    for (const auto& e : by_row) r.p_error_by_row.push_back(e.result());
    const auto key_mean = (key_sum / static_cast<double>(rows * q.size(1))).to(at::kCPU).contiguous();
    const auto key_top = key_max.to(at::kCPU).contiguous();
    for (int64_t j = 0; j < sk; ++j)
        r.p_error_by_key.push_back({key_top.data_ptr<double>()[j], key_mean.data_ptr<double>()[j]});
    return r;
}

} // namespace attnscope
