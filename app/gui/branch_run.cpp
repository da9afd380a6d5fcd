#include "branch_run.h"

#include "cli/edit_spec.h"
#include "compare/divergence.h"
#include "comparison_run.h"
#include "tensor_views.h"

namespace attnscope::gui {

std::vector<AttentionEditSpec> parse_edits(const std::vector<std::string>& texts, const Session& session) {
    std::vector<AttentionEditSpec> edits;
    for (const auto& text : texts) {
        auto parsed = cli::parse_edit(text, session.total_steps());
        cli::fit_to_model(parsed, session);
        edits.push_back(std::move(parsed.edit));
    }
    // The plan's own checks (token positions, factors, which attention a token scale acts on, backends),
    // now rather than when the branch is built after the original has run to its end.
    const EditPlan checked(edits, session.router());
    return edits;
}

BranchRun::BranchRun(int id, const Session& original, int from_step, std::vector<AttentionEditSpec> edits,
                     std::vector<std::string> texts)
    : branch_(original, from_step, std::move(edits)) {
    branch_.session().router().add_observer(&capture_);
    summary_.id = id;
    summary_.from_step = from_step;
    summary_.edits = std::move(texts);
    for (const auto& e : branch_.plan().edits()) summary_.applied.push_back(describe(e));
}

void BranchRun::step() {
    capture_.begin_step(branch_.session().current_step());
    branch_.step();
}

void BranchRun::finish(const Session& original) {
    const auto& s = branch_.session();
    summary_.latents_rel_l2.clear();
    for (int k = branch_.from_step(); k < s.current_step(); ++k)
        summary_.latents_rel_l2.push_back(
            divergence(original.latents_before(k + 1), s.latents_before(k + 1)).rel_l2);
    images_ = image_pair(original.image(Decoder::Full), s.image(Decoder::Full));
    summary_.psnr_db = images_.psnr_db;
}

MapPair BranchRun::maps(const CaptureStore& original, const MapRequest& request, bool on_device) const {
    if (auto shared =
            before_divergence(request, branch_.from_step(), "the branch", "its maps are the original's"))
        return *shared;
    return map_pair(original, capture_, request, on_device);
}

} // namespace attnscope::gui
