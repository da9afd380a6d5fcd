#include "call_tape.h"

#include <map>
#include <tuple>

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
    // wait do not read, are left out. Each replay overwrites them, so they are shown as transient.
    auto kept = t;
    kept.out = at::Tensor();
    kept.hidden = at::Tensor();
    kept.transient = true;
    calls_.emplace_back(site, std::move(kept));
}

void CallTape::pack() {
    // A buffer holds what an observer keeps or leaves as a whole: Q and K together, V only where asked for.
    enum Role { QK, Lse, V, Probs };
    std::map<std::tuple<AttentionKind, Role, at::ScalarType>, std::vector<at::Tensor*>> groups;
    for (auto& [site, t] : calls_)
        for (const auto& [tensor, role] :
             {std::pair{&t.q, QK}, {&t.k, QK}, {&t.lse, Lse}, {&t.v, V}, {&t.probs, Probs}})
            if (tensor->defined()) groups[{site.kind, role, tensor->scalar_type()}].push_back(tensor);
    for (auto& [group, members] : groups) {
        std::vector<at::Tensor> flat;
        for (const auto* t : members) flat.push_back(t->reshape(-1));
        const auto buffer = at::cat(flat);
        int64_t offset = 0;
        for (auto* t : members) {
            const auto n = t->numel();
            *t = buffer.narrow(0, offset, n).view(t->sizes());
            offset += n;
        }
    }
}

void CallTape::play(const std::vector<AttentionObserver*>& observers) const {
    for (auto* o : observers) o->on_calls_after_the_pass(calls_);
}

} // namespace attnscope
