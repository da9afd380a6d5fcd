#include "token_mass_view.h"

#include "capture/attention_maps.h"

namespace attnscope::gui {

namespace {

TokenShares shares(const TokenMass& m) {
    return {m.start, m.prompt, m.end, m.padding};
}

} // namespace

std::vector<TokenMassSite> TokenMassCache::update(const CaptureStore& capture, int prompt_length,
                                                  int negative_length) {
    for (const auto& [key, c] : capture.entries()) {
        if (key.kind != AttentionKind::Cross || known_.count({key.step, key.index})) continue;
        // The guidance batch is (uncond, cond): the prompt's half is the last item.
        const int batches = static_cast<int>(c.q.size(0) / c.site.heads);
        TokenMassSite site{key.step, key.index, shares(token_mass(c, batches - 1, prompt_length)), {}};
        if (batches > 1) site.uncond = shares(token_mass(c, 0, negative_length));
        known_.emplace(std::pair{key.step, key.index}, site);
    }
    std::vector<TokenMassSite> rows;
    for (const auto& [key, site] : known_) rows.push_back(site);
    return rows;
}

void TokenMassCache::drop_from(int step) {
    known_.erase(known_.lower_bound({step, 0}), known_.end());
}

void TokenMassCache::clear() {
    known_.clear();
}

} // namespace attnscope::gui
