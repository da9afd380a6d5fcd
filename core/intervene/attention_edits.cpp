#include "attention_edits.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace attnscope {
namespace {

// "1-4,7"; "all" for an empty set.
std::string ranges(const std::set<int>& values) {
    if (values.empty()) return "all";
    std::ostringstream out;
    for (auto it = values.begin(); it != values.end();) {
        const int first = *it;
        int last = first;
        while (++it != values.end() && *it == last + 1) ++last;
        out << (out.tellp() > 0 ? "," : "") << first;
        if (last != first) out << "-" << last;
    }
    return out.str();
}

void check(const AttentionEditSpec& edit) {
    if (const auto* s = std::get_if<TokenScale>(&edit.change)) {
        if (!std::isfinite(s->factor) || s->factor < 0)
            throw std::invalid_argument("a token's attention scale must be a finite number >= 0");
        if (s->tokens.empty()) throw std::invalid_argument("a token scale needs at least one token");
        for (const auto t : s->tokens)
            if (t < 0 || t >= ClipTokenizer::kContextLength)
                throw std::invalid_argument("token position " + std::to_string(t) + " is outside 0.." +
                                            std::to_string(ClipTokenizer::kContextLength - 1));
        if (edit.scope.kind == AttentionKind::Self)
            throw std::invalid_argument("a token scale acts on cross-attention, not self-attention");
    } else if (const auto* h = std::get_if<HeadZero>(&edit.change); h && h->head < 0) {
        throw std::invalid_argument("head " + std::to_string(h->head) +
                                    " does not exist: heads count from 0");
    }
}

// The math backend's P with the scaled token columns, and O = P V from it.
AttentionResult scale_tokens(const AttentionBackend& math, AttentionRequest request,
                             const AttentionSite& site, const std::vector<const TokenScale*>& scales) {
    const bool want_probs = request.want_probs;
    request.want_probs = true;
    auto result = math.run(request);
    const int64_t batch = result.probs.size(0), keys = result.probs.size(3);
    // Edited in at least fp32, as the math backend's softmax ran.
    auto p = result.probs.to(result.probs.scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
    for (const auto* s : scales) {
        for (const auto t : s->tokens)
            if (t >= keys)
                throw std::invalid_argument("token position " + std::to_string(t) + " is outside the " +
                                            std::to_string(keys) + "-token context of " + site.label());
        // (B, 1, 1, Sk): the factor at the prompt half's scaled columns, 1 everywhere else.
        auto f = at::ones({batch, 1, 1, keys}, p.options());
        f.select(0, batch - 1).index_fill_(-1, at::tensor(s->tokens, at::kLong).to(p.device()), s->factor);
        const auto scaled = p * f;
        // Rows of P sum to 1, so scaled they sum to 1 + sum_j (f_j - 1) p_ij (exactly 1 where f is 1).
        p = s->renormalize ? scaled / (p * (f - 1)).sum(-1, true).add_(1) : scaled;
    }
    const auto edited = p.to(request.v.scalar_type());
    result.out = at::matmul(edited, request.v);
    // The LSE stays the unedited softmax's; observers that want P get the edited one.
    result.probs = want_probs ? edited : at::Tensor();
    return result;
}

} // namespace

bool EditScope::covers(int step, const AttentionSite& site) const {
    return (sites.empty() || sites.count(site.index)) && (steps.empty() || steps.count(step)) &&
           (!kind || *kind == site.kind);
}

std::string describe(const AttentionEditSpec& edit) {
    std::ostringstream out;
    if (const auto* s = std::get_if<TokenScale>(&edit.change)) {
        out << "token" << (s->tokens.size() > 1 ? "s " : " ");
        for (std::size_t i = 0; i < s->tokens.size(); ++i) out << (i ? "," : "") << s->tokens[i];
        out << " x" << s->factor << (s->renormalize ? " renormalized" : "");
    } else if (const auto* h = std::get_if<HeadZero>(&edit.change)) {
        out << "head " << h->head << " zeroed";
    } else {
        out << "backend " << std::get<BackendSwap>(edit.change).backend;
    }
    out << " at sites " << ranges(edit.scope.sites) << ", steps " << ranges(edit.scope.steps);
    if (edit.scope.kind) out << ", " << to_string(*edit.scope.kind) << "-attention";
    return out.str();
}

std::vector<int64_t> word_positions(const ClipEncoding& prompt, const ClipTokenizer& tokenizer,
                                    const std::string& word) {
    const auto wanted = tokenizer.split_words(word);
    std::vector<int64_t> positions;
    for (int i = 0; i < prompt.length; ++i) {
        const int w = prompt.word_index[i];
        if (w >= 0 && std::find(wanted.begin(), wanted.end(), prompt.words[w]) != wanted.end())
            positions.push_back(i);
    }
    if (positions.empty()) {
        std::string words;
        for (const auto& w : prompt.words) words += (words.empty() ? "" : ", ") + w;
        throw std::invalid_argument("'" + word + "' is not a word of the prompt (its words: " + words + ")");
    }
    return positions;
}

EditPlan::EditPlan(std::vector<AttentionEditSpec> edits, const AttentionRouter& router)
    : edits_(std::move(edits)), math_(router.backend("math")) {
    for (auto& e : edits_) {
        check(e);
        if (std::holds_alternative<TokenScale>(e.change)) e.scope.kind = AttentionKind::Cross;
        const auto* swap = std::get_if<BackendSwap>(&e.change);
        swaps_.push_back(swap ? &router.backend(swap->backend) : nullptr);
    }
}

AttentionResult EditPlan::run(const AttentionSite& site, const AttentionRequest& request,
                              const AttentionBackend& routed) const {
    std::vector<const TokenScale*> scales;
    std::vector<int> heads;
    const AttentionBackend* backend = &routed;
    for (std::size_t i = 0; i < edits_.size(); ++i) {
        const auto& e = edits_[i];
        if (!e.scope.covers(step_, site)) continue;
        if (const auto* s = std::get_if<TokenScale>(&e.change))
            scales.push_back(s);
        else if (const auto* h = std::get_if<HeadZero>(&e.change))
            heads.push_back(h->head);
        else
            backend = swaps_[i];
    }
    auto result = scales.empty() ? backend->run(request) : scale_tokens(math_, request, site, scales);
    for (const int h : heads) {
        if (h >= site.heads)
            throw std::invalid_argument("head " + std::to_string(h) + " does not exist at " + site.label() +
                                        " (heads 0.." + std::to_string(site.heads - 1) + ")");
        result.out.select(1, h).zero_();
    }
    return result;
}

} // namespace attnscope
