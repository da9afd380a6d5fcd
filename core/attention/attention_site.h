#pragma once
// What one attention call is: where it sits in the U-Net (site.h) and the tensors it saw.
#include "site.h"

#include <ATen/ATen.h>
#include <utility>
#include <vector>

namespace attnscope {

// Tensors of one call in diffusers' batch-major layout: row b*heads+h is batch b, head h.
struct AttentionTensors {
    at::Tensor q, k, v;     // (B*heads, S, d)
    at::Tensor probs;       // (B*heads, Sq, Sk) where the backend materialized P, else undefined
    at::Tensor out;         // (B*heads, Sq, d), before the heads are merged
    at::Tensor lse;         // (B*heads, Sq) fp32, ln sum_j exp(scale q.k_j), where the backend computed it
    at::Tensor hidden;      // (B, Sq, channels): the normalized hidden state Q was projected from, where the
                            // model passes it (the walk-through shows where a query comes from)
    bool transient = false; // the memory is a replayed CUDA graph's, which its next replay overwrites: an
                            // observer copies what it keeps
};

using ObservedCall = std::pair<AttentionSite, AttentionTensors>;

// Callers observe attention per site through this; it runs synchronously inside the forward pass.
class AttentionObserver {
  public:
    virtual ~AttentionObserver() = default;
    virtual void on_attention(const AttentionSite& site, const AttentionTensors& tensors) = 0;
    // Whether this observer wants P; backends that can produce it then do so.
    virtual bool wants_probs() const { return false; }
    // Whether it keeps the row log-sum-exp: `auto` then prefers backends that return it over ones after which
    // the observer computes it again.
    virtual bool wants_lse() const { return false; }
    // Whether it reads V and the output: where no observer does, the router leaves them out of what it shows
    // (laying out their heads is a copy of each, which a recorded graph would repeat every step).
    virtual bool wants_values() const { return true; }
    virtual bool wants_outputs() const { return true; }
    // Whether it may see a forward pass's calls after the whole pass has run (a replayed CUDA graph,
    // model/unet_graph.h), in transient tensors, with q, k, v, probs and lse but not out and hidden.
    // Observers that act while the pass runs (a lockstep comparison hands one model's inputs to the other)
    // must not.
    virtual bool sees_calls_after_the_pass() const { return false; }
    // A replayed pass's calls at once (CallTape::play), so that an observer that copies them can copy a
    // few buffers instead of every tensor; one on_attention per call by default.
    virtual void on_calls_after_the_pass(const std::vector<ObservedCall>& calls) {
        for (const auto& [site, tensors] : calls) on_attention(site, tensors);
    }
};

} // namespace attnscope
