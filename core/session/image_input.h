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
#include <utility>

namespace attnscope {

// The size a run from `image` takes when none is asked for: the picture's aspect at the model's native pixel
// count (native_width x native_height), each side rounded to the nearest multiple of 64, at least 64. A
// 4000x3000 photo on SD v1.5 (512x512) runs at 576x448.
std::pair<int, int> size_for_picture(const Image8& image, int native_width, int native_height);

// (1, 3, height, width) float32 in [-1, 1] on the CPU. Throws std::invalid_argument for an empty image or
// a size that is not positive.
at::Tensor fit_image(const Image8& image, int width, int height);

} // namespace attnscope
