#pragma once
// How a user's picture becomes what a generation of width x height starts from.
//
// The rule: the picture is scaled, keeping its aspect, to the smallest size that covers width x height
// (area-averaged when it shrinks, bilinear when it grows), and the middle width x height is cut out; a
// picture of exactly that size is taken pixel for pixel. Gray is repeated into RGB and alpha is dropped, as
// diffusers' PIL .convert("RGB") does. Values go from 8 bits to [-1, 1] as diffusers' VaeImageProcessor
// maps them (x / 255 * 2 - 1 in float32).
#include "io/image8.h"

#include <ATen/ATen.h>

namespace attnscope {

// (1, 3, height, width) float32 in [-1, 1] on the CPU. Throws std::invalid_argument for an empty image or
// a size that is not positive.
at::Tensor fit_image(const Image8& image, int width, int height);

} // namespace attnscope
