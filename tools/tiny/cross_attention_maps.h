#pragma once
// Every cross-attention site's probabilities of a forward pass as head-averaged token maps, and what the
// tiny model makes of them: DAAM-style aggregation (each site's map upsampled to the image and summed)
// and the training loss that keeps each object word's attention on its object.
#include "attention/attention_site.h"

#include <ATen/ATen.h>
#include <vector>

namespace attnscope::tiny {

struct SiteMap {
    AttentionSite site;
    at::Tensor map; // (B, H*W, tokens): P averaged over heads, row-major pixels; keeps autograd history
};

class CrossAttentionCollector final : public AttentionObserver {
  public:
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override;
    bool wants_probs() const override { return true; }
    const std::vector<SiteMap>& maps() const { return maps_; }
    void clear() { maps_.clear(); }

  private:
    std::vector<SiteMap> maps_;
};

// Sum over sites of each site's map, bilinearly upsampled to size x size: (B, tokens, size, size).
at::Tensor aggregate_maps(const std::vector<SiteMap>& maps, int size);

enum class LocalizationLoss {
    // 1 - the share of the token's attention that falls on its object. Satisfied by a peak anywhere
    // inside the object, so maps shrink to a few pixels (recipe r1).
    Inside,
    // 1 - the Bhattacharyya coefficient between the token's attention distribution and the uniform
    // distribution over its object: zero only when the attention covers the whole object evenly (r2).
    Match,
};

// Mean over sites and labelled tokens of the chosen loss, each site's map normalised over pixels per token
// and compared with the label's coverage pooled to that site's resolution. token_labels (B, T) int64 (-1:
// no label), coverage (B, labels, H, W) in [0, 1]; `weight` (B) scales each sample (0 leaves it out).
// Zero when no token is labelled.
at::Tensor attention_localization_loss(const std::vector<SiteMap>& maps, const at::Tensor& token_labels,
                                       const at::Tensor& coverage, const at::Tensor& weight,
                                       LocalizationLoss kind = LocalizationLoss::Inside);

} // namespace attnscope::tiny
