#pragma once
// TAESD's residual block, as both its halves use it: relu(conv(relu(conv(relu(conv(x))))) + skip(x)), the
// skip a bias-free 1x1 convolution where the block changes width. Weights by madebyollin's names under `p`.
#include "model/nn.h"

#include <ATen/ATen.h>
#include <string>

namespace attnscope::taesd {

inline at::Tensor block(const Weights& w, const std::string& p, const at::Tensor& x) {
    auto h = at::relu(nn::conv2d(w, p + ".conv.0", x));
    h = nn::conv2d(w, p + ".conv.4", at::relu(nn::conv2d(w, p + ".conv.2", h)));
    return at::relu(h + (w.contains(p + ".skip.weight") ? nn::conv2d(w, p + ".skip", x) : x));
}

} // namespace attnscope::taesd
