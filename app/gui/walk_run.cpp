#include "walk_run.h"

#include "teach/walkthrough_json.h"

#include <stdexcept>

namespace attnscope::gui {
namespace {

std::vector<double> values(const at::Tensor& t) {
    if (!t.defined()) return {};
    const auto c = t.contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

bool same_call(const WalkKey& a, const WalkKey& b) {
    return a.capture == b.capture && a.step == b.step && a.index == b.index && a.self == b.self;
}

} // namespace

WalkView WalkRun::walk(const Session& session, const CaptureStore& capture, const WalkKey& key) {
    const auto kind = key.self ? AttentionKind::Self : AttentionKind::Cross;
    const auto* kept = capture.find(key.step, key.index, kind);
    if (!kept)
        throw std::runtime_error("walk-through: step " + std::to_string(key.step + 1) + " index " +
                                 std::to_string(key.index) + " " + to_string(kind) +
                                 "-attention is not captured (evicted, or the step has not run)");
    if (!replayed_ || !same_call(replayed_->first, key))
        replayed_.emplace(key, replay_call(session, key.step, key.index, kind));
    auto in = walkthrough_inputs(replayed_->second, session);
    // The numbers are the captured call's; the replay adds what the capture does not keep.
    in.q = kept->q;
    in.k = kept->k;
    in.lse = kept->lse;
    const auto w = walk_query(in, {key.batch, key.head, key.query});

    WalkView v;
    v.key = key;
    v.module = w.site.module;
    v.width = w.site.width;
    v.height = w.site.height;
    v.heads = w.site.heads;
    v.head_dim = w.site.head_dim;
    v.batch_items = static_cast<int>(w.site.batch);
    v.scale = w.scale;
    const bool uncond = w.other_batch >= 0 && w.batch < w.other_batch;
    v.key_labels = key_labels(w.site, (uncond ? session.negative_tokens() : session.prompt_tokens()).display);
    v.q = values(w.q);
    v.hidden = values(w.hidden);
    v.q_from_hidden = values(w.q_from_hidden);
    v.key_norms = values(w.keys.norm(2, 1));
    v.scores = values(w.scores);
    v.exps = values(w.exps);
    v.probs = values(w.probs);
    v.other_probs = values(w.other_probs);
    v.row_max = w.row_max;
    v.exp_sum = w.exp_sum;
    v.lse = w.lse;
    v.captured_lse = w.captured_lse;
    v.contributions = values(w.contributions);
    v.out = values(w.out);
    v.joined = values(w.head_outputs);
    v.projected = values(w.projected);
    v.guidance_scale = w.guidance_scale;
    v.latent_x = w.latent_x;
    v.latent_y = w.latent_y;
    v.eps_uncond = values(w.eps_uncond);
    v.eps_cond = values(w.eps_cond);
    v.eps_guided = values(w.eps_guided);
    return v;
}

} // namespace attnscope::gui
