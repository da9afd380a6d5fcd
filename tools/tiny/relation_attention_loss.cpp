#include "relation_attention_loss.h"

#include <stdexcept>

namespace attnscope::tiny {

std::pair<double, double> relation_direction(Relation relation) {
    switch (relation) {
    case Relation::LeftOf:
        return {1, 0};
    case Relation::RightOf:
        return {-1, 0};
    case Relation::Above:
        return {0, 1};
    case Relation::Below:
        return {0, -1};
    case Relation::None:
        break;
    }
    return {0, 0};
}

at::Tensor relation_directions(const std::vector<Scene>& scenes) {
    auto d = at::zeros({static_cast<int64_t>(scenes.size()), 2});
    auto a = d.accessor<float, 2>();
    for (std::size_t i = 0; i < scenes.size(); ++i) {
        const auto [x, y] = relation_direction(scenes[i].relation);
        a[i][0] = static_cast<float>(x), a[i][1] = static_cast<float>(y);
    }
    return d;
}

at::Tensor phrase_centroid_step(const SiteMap& map, const at::Tensor& token_labels) {
    const auto& s = map.site;
    const auto a = map.map.to(at::kFloat);
    const auto opts = a.options();
    const auto xs = at::arange(s.width, opts).mul(2).add(1).div(s.width).sub(1);
    const auto ys = at::arange(s.height, opts).mul(2).add(1).div(s.height).sub(1);
    // (HW, 2): each pixel's (x, y), row-major as the map's pixels.
    const auto coords = at::stack({xs.repeat({s.height}), ys.repeat_interleave(s.width)}, 1);
    // (B, T, 2): which tokens make up the first phrase's map and which the second's.
    const auto labels = token_labels.to(a.device());
    const auto phrase_tokens = at::stack({labels.eq(1), labels.eq(2)}, 2).to(at::kFloat);
    const auto phrase_map = at::bmm(a, phrase_tokens);                        // (B, HW, 2)
    const auto share = phrase_map / phrase_map.sum(1, true).clamp_min(1e-12); // each sums to 1
    const auto centroid = at::matmul(share.transpose(1, 2), coords);          // (B, 2 phrases, 2)
    return centroid.select(1, 1) - centroid.select(1, 0);
}

at::Tensor along_beyond_across(const at::Tensor& step, const at::Tensor& direction) {
    const auto dir = direction.to(step.device(), at::kFloat);
    const auto perp = at::stack({-dir.select(1, 1), dir.select(1, 0)}, 1);
    return (step * dir).sum(1) - (step * perp).sum(1).abs();
}

at::Tensor relation_attention_loss(const std::vector<SiteMap>& maps, const at::Tensor& token_labels,
                                   const at::Tensor& direction, const at::Tensor& weight, double margin) {
    if (maps.empty()) throw std::invalid_argument("no cross-attention maps were recorded");
    const auto dir = direction.to(weight.device(), at::kFloat);
    const auto w = weight.to(at::kFloat) * dir.abs().sum(1).gt(0).to(at::kFloat);
    at::Tensor total = at::zeros({}, w.options());
    for (const auto& m : maps) {
        const auto gap = along_beyond_across(phrase_centroid_step(m, token_labels), dir);
        total = total + ((margin - gap).clamp_min(0) * w).sum();
    }
    return total / (w.sum() * static_cast<double>(maps.size())).clamp_min(1);
}

} // namespace attnscope::tiny
