#include "call_tape.h"

namespace attnscope {

std::string CallTape::cannot_wait(const std::vector<AttentionObserver*>& observers) {
    for (const auto* o : observers) {
        // P exists only in the eager pass, where the math backend materializes it for this observer.
        if (o->wants_probs()) return "an observer wants P, which only the eager pass materializes";
        if (!o->sees_calls_after_the_pass())
            return "an observer (a comparison, a recorder) acts on each call as it runs";
    }
    return {};
}

void CallTape::on_attention(const AttentionSite& site, const AttentionTensors& t) {
    // Kept tensors stay allocated as long as the graph: the output and the hidden state, which observers that
    // wait do not read, are left out.
    auto kept = t;
    kept.out = at::Tensor();
    kept.hidden = at::Tensor();
    calls_.emplace_back(site, std::move(kept));
}

void CallTape::play(const std::vector<AttentionObserver*>& observers) const {
    for (const auto& [site, tensors] : calls_) {
        auto shown = tensors;
        shown.transient = true;
        for (auto* o : observers) o->on_attention(site, shown);
    }
}

} // namespace attnscope
