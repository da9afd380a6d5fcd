#pragma once
// One attention map of two compared runs and their difference: P_A, P_B and |P_A - P_B| for the same
// site(s), head, token or pixel and step(s), each from its run's own capture.
#include "capture/attention_maps.h"

#include <ATen/ATen.h>

namespace attnscope {

struct MapComparison {
    at::Tensor a, b, abs_diff; // (out_height, out_width) fp32, on A's capture's device
};

// Throws what attention_map() throws, for either capture.
MapComparison compare_maps(const CaptureStore& a, const CaptureStore& b, const MapRequest& request);

} // namespace attnscope
