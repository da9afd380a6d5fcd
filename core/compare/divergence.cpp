#include "divergence.h"

#include "util/shape_string.h"

#include <limits>
#include <stdexcept>

namespace attnscope {

Divergence divergence(const at::Tensor& a, const at::Tensor& b) {
    if (!a.sizes().equals(b.sizes()))
        throw std::invalid_argument("cannot compare tensors of shapes " + shape_string(a.sizes()) + " and " +
                                    shape_string(b.sizes()));
    const auto x = a.to(at::kDouble), d = b.to(a.device(), at::kDouble) - x;
    const auto abs = d.abs();
    const double norm_a = x.norm().item<double>(), norm_d = d.norm().item<double>();
    Divergence out;
    out.max_abs = abs.numel() ? abs.max().item<double>() : 0.0;
    out.mean_abs = abs.numel() ? abs.mean().item<double>() : 0.0;
    out.rel_l2 = norm_a > 0 ? norm_d / norm_a : norm_d > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    return out;
}

} // namespace attnscope
