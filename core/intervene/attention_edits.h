#pragma once
// Attention surgery: changes to what chosen sites compute at chosen steps, applied by the router in place of
// the backend it routed to (AttentionRouter::set_edit). Scaling a token's cross-attention needs P, so sites
// with such an edit run the math backend: P materialized, edited, renormalized if asked, O = P V.
#include "attention/router.h"
#include "text/clip_tokenizer.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace attnscope {

// Token positions' column of cross-attention P times `factor` (0 removes them). Renormalized, every row is
// divided by its new sum, which is the softmax with those tokens' logits shifted by ln(factor); otherwise
// the rows keep the mass taken away (or get the mass added). Only the prompt's half of a guided batch: the
// negative prompt's positions hold other words.
struct TokenScale {
    std::vector<int64_t> tokens;
    double factor = 1.0;
    bool renormalize = false;
};

// One head's output set to zero, in every batch item.
struct HeadZero {
    int head = 0;
};

// Another backend computes the call (a token scale at the same call takes precedence: it needs P).
struct BackendSwap {
    std::string backend;
};

// Where an edit acts. Empty sets mean every site or step; `kind` empty means both self- and
// cross-attention (token scales act on cross-attention only).
struct EditScope {
    std::set<int> sites; // the model's indices (1..16 for SD)
    std::set<int> steps; // 0-based denoising steps
    std::optional<AttentionKind> kind;
    bool covers(int step, const AttentionSite& site) const;
};

struct AttentionEditSpec {
    std::variant<TokenScale, HeadZero, BackendSwap> change;
    EditScope scope;
};

std::string describe(const AttentionEditSpec& edit); // "token 2 x0 renormalized at sites 1-16, steps 0-19"

// The positions (into the 77) of the prompt's tokens that belong to `word` (several for a word BPE splits),
// normalized as the tokenizer normalizes prompts. Throws std::invalid_argument listing the prompt's words.
std::vector<int64_t> word_positions(const ClipEncoding& prompt, const ClipTokenizer& tokenizer,
                                    const std::string& word);

// The edits of one session, in the order given; the caller says which step the next calls belong to.
class EditPlan final : public AttentionEdit {
  public:
    // Backend names are looked up in `router` (the one this plan will be set on). Throws
    // std::invalid_argument for an unknown backend, a negative or non-finite factor, a token outside the
    // context or a negative head.
    EditPlan(std::vector<AttentionEditSpec> edits, const AttentionRouter& router);

    void begin_step(int step) { step_ = step; }
    const std::vector<AttentionEditSpec>& edits() const { return edits_; }

    // Throws std::invalid_argument when a head or token an edit names does not exist at `site`.
    AttentionResult run(const AttentionSite& site, const AttentionRequest& request,
                        const AttentionBackend& routed) const override;

  private:
    std::vector<AttentionEditSpec> edits_;
    std::vector<const AttentionBackend*> swaps_; // per edit: the BackendSwap's backend, else null
    const AttentionBackend& math_;
    int step_ = 0;
};

} // namespace attnscope
