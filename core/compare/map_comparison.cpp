#include "map_comparison.h"

namespace attnscope {

MapComparison compare_maps(const CaptureStore& a, const CaptureStore& b, const MapRequest& request) {
    auto map_a = attention_map(a, request);
    auto map_b = attention_map(b, request).to(map_a.device(), at::kFloat);
    auto diff = (map_a - map_b).abs();
    return {std::move(map_a), std::move(map_b), std::move(diff)};
}

} // namespace attnscope
