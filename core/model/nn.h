#pragma once
// The few layers the models are made of, reading their parameters from a Weights store by prefix.
#include "weights.h"

#include <ATen/ATen.h>
#include <string>

namespace attnscope::nn {

inline at::Tensor linear(const Weights& w, const std::string& p, const at::Tensor& x) {
    auto y = at::linear(x, w[p + ".weight"], w.optional(p + ".bias"));
    if (const auto* adapters = w.adapters(p))
        for (const auto& a : *adapters)
            y = y + at::linear(at::linear(x, a.down), a.up) * (a.factor * a.scale->load());
    return y;
}

inline at::Tensor conv2d(const Weights& w, const std::string& p, const at::Tensor& x, int64_t stride = 1) {
    const auto& weight = w[p + ".weight"];
    const int64_t pad = weight.size(-1) / 2;
    auto y = at::conv2d(x, weight, w.optional(p + ".bias"), {stride, stride}, {pad, pad});
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

inline at::Tensor layer_norm(const Weights& w, const std::string& p, const at::Tensor& x, double eps = 1e-5) {
    return at::layer_norm(x, {x.size(-1)}, w[p + ".weight"], w[p + ".bias"], eps);
}

} // namespace attnscope::nn
