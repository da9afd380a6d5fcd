#include "cross_attention_maps.h"

#include <stdexcept>

namespace attnscope::tiny {

void CrossAttentionCollector::on_attention(const AttentionSite& site, const AttentionTensors& t) {
    if (site.kind != AttentionKind::Cross) return;
    if (!t.probs.defined())
        throw std::runtime_error(site.label() +
                                 ": the attention backend did not materialize P; use 'math' for "
                                 "cross-attention sites");
    const auto p = t.probs.view({site.batch, site.heads, site.seq_q, site.seq_k});
    maps_.push_back({site, p.mean(1)});
}

at::Tensor aggregate_maps(const std::vector<SiteMap>& maps, int size) {
    if (maps.empty()) throw std::invalid_argument("no cross-attention maps were recorded");
    at::Tensor sum;
    for (const auto& m : maps) {
        const auto& s = m.site;
        const auto grid = m.map.to(at::kFloat).transpose(1, 2).reshape({s.batch, s.seq_k, s.height, s.width});
        const auto up = at::upsample_bilinear2d(grid, {size, size}, false);
        sum = sum.defined() ? sum + up : up;
    }
    return sum;
}

at::Tensor attention_localization_loss(const std::vector<SiteMap>& maps, const at::Tensor& token_labels,
                                       const at::Tensor& coverage, const at::Tensor& weight,
                                       LocalizationLoss kind) {
    if (maps.empty()) throw std::invalid_argument("no cross-attention maps were recorded");
    const int64_t labels = coverage.size(1);
    // (B, T, labels): which label each token must attend to, zero rows for unlabelled tokens.
    const auto labelled = token_labels.ge(0);
    const auto onehot = at::one_hot(token_labels.clamp_min(0), labels).to(at::kFloat) *
                        labelled.unsqueeze(-1).to(at::kFloat) * weight.view({-1, 1, 1}).to(at::kFloat);
    const auto count = onehot.sum();
    at::Tensor total = at::zeros({}, coverage.options());
    for (const auto& m : maps) {
        const auto& s = m.site;
        const auto a = m.map.to(at::kFloat);                    // (B, HW, T)
        const auto share = a / a.sum(1, true).clamp_min(1e-12); // each token's map sums to 1
        const auto pooled = at::adaptive_avg_pool2d(coverage, {s.height, s.width}).flatten(2); // (B, L, HW)
        at::Tensor agreement;                                                                  // (B, T, L)
        if (kind == LocalizationLoss::Inside) {
            agreement = at::bmm(share.transpose(1, 2), pooled.transpose(1, 2));
        } else {
            // The floor keeps sqrt's gradient finite where a token gives a pixel no attention at all.
            const auto target = pooled / pooled.sum(2, true).clamp_min(1e-12);
            agreement = at::bmm(share.clamp_min(1e-8).sqrt().transpose(1, 2), target.sqrt().transpose(1, 2));
        }
        total = total + ((1 - agreement) * onehot).sum();
    }
    return total / (count * static_cast<double>(maps.size())).clamp_min(1);
}

} // namespace attnscope::tiny
