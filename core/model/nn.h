#pragma once
// The few layers the models are made of, reading their parameters from a Weights store by prefix.
#include "weights.h"

#include <ATen/ATen.h>
#include <string>

namespace attnscope::nn {

// Also a 1x1 convolution, its (out, in, 1, 1) kernel applied to (..., in) tokens as the linear layer it is.
inline at::Tensor linear(const Weights& w, const std::string& p, const at::Tensor& x) {
    const auto matrix = [](const at::Tensor& k) { return k.dim() == 4 ? k.flatten(1) : k; };
    auto y = at::linear(x, matrix(w[p + ".weight"]), w.optional(p + ".bias"));
    if (const auto* adapters = w.adapters(p))
        for (const auto& a : *adapters)
            y = y + at::linear(at::linear(x, matrix(a.down)), matrix(a.up)) * (a.factor * a.scale->load());
    return y;
}

// with_bias false leaves the bias to the caller (who folds it into what follows).
inline at::Tensor conv2d(const Weights& w, const std::string& p, const at::Tensor& x, int64_t stride = 1,
                         bool with_bias = true) {
    const auto& weight = w[p + ".weight"];
    const int64_t pad = weight.size(-1) / 2;
    auto y = at::conv2d(x, weight, with_bias ? w.optional(p + ".bias") : at::Tensor(), {stride, stride},
                        {pad, pad});
    if (const auto* adapters = w.adapters(p))
        for (const auto& a : *adapters)
            y = y + at::conv2d(at::conv2d(x, a.down, {}, {stride, stride}, {pad, pad}), a.up) *
                        (a.factor * a.scale->load());
    return y;
}

inline at::Tensor group_norm(const Weights& w, const std::string& p, const at::Tensor& x, int64_t groups,
                             double eps) {
    return at::group_norm(x, groups, w[p + ".weight"], w[p + ".bias"], eps);
}

// GroupNorm of channels-last x, staying channels-last. LibTorch's kernel hands such input back in NCHW, which
// the next convolution converts again: here the groups' statistics come from an (B, HW, G, C/G) view of the
// NHWC memory, and one scale and shift per batch item and channel normalizes it.
inline at::Tensor group_norm_nhwc(const Weights& w, const std::string& p, const at::Tensor& x, int64_t groups,
                                  double eps) {
    if (!x.is_contiguous(at::MemoryFormat::ChannelsLast)) return group_norm(w, p, x, groups, eps);
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
    const auto grouped = x.permute({0, 2, 3, 1}).view({b, h * wd, groups, c / groups});
    const auto wide = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const auto var_mean = at::var_mean(grouped.to(wide), {1, 3}, /*unbiased=*/false, /*keepdim=*/true);
    const auto rstd = (std::get<0>(var_mean) + eps).rsqrt();
    const auto scale = rstd * w[p + ".weight"].to(wide).view({1, 1, groups, c / groups});
    const auto shift =
        w[p + ".bias"].to(wide).view({1, 1, groups, c / groups}) - std::get<1>(var_mean) * scale;
    return at::addcmul(shift.to(x.scalar_type()), grouped, scale.to(x.scalar_type()))
        .view({b, h, wd, c})
        .permute({0, 3, 1, 2});
}

inline at::Tensor layer_norm(const Weights& w, const std::string& p, const at::Tensor& x, double eps = 1e-5) {
    return at::layer_norm(x, {x.size(-1)}, w[p + ".weight"], w[p + ".bias"], eps);
}

} // namespace attnscope::nn
