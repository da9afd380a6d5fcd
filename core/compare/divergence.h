#pragma once
// How far one tensor is from another of the same shape, in float64: what the comparison views and the
// divergence grid show for attention outputs, latents and images.
#include <ATen/ATen.h>

namespace attnscope {

struct Divergence {
    double max_abs = 0, mean_abs = 0;
    double rel_l2 = 0; // ||b - a|| / ||a||; infinite when a is zero and b is not
};

// `b` measured against the reference `a`, on a's device. Throws std::invalid_argument when the shapes
// differ.
Divergence divergence(const at::Tensor& a, const at::Tensor& b);

} // namespace attnscope
