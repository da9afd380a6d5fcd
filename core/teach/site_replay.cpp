#include "site_replay.h"

#include "capture/capture_store.h"

#include <optional>
#include <stdexcept>

namespace attnscope {
namespace {

class CallRecorder final : public AttentionObserver {
  public:
    CallRecorder(int index, AttentionKind kind) : index_(index), kind_(kind) {}
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override {
        if (site.index != index_ || site.kind != kind_) return;
        ReplayedCall c;
        c.site = site;
        c.q = t.q.clone();
        c.k = t.k.clone();
        c.v = t.v.clone();
        c.out = t.out.clone();
        c.lse = t.lse.defined() ? t.lse.to(at::kFloat) : row_logsumexp(t.q, t.k, site.scale());
        if (t.hidden.defined()) c.hidden = t.hidden.clone();
        call_ = std::move(c);
    }
    bool wants_lse() const override { return true; }
    std::optional<ReplayedCall>& call() { return call_; }

  private:
    int index_;
    AttentionKind kind_;
    std::optional<ReplayedCall> call_;
};

} // namespace

ReplayedCall replay_call(const Session& session, int step, int index, AttentionKind kind) {
    CallRecorder recorder(index, kind);
    const auto output = session.replay(step, recorder);
    auto& call = recorder.call();
    if (!call)
        throw std::out_of_range("the model has no " + std::string(to_string(kind)) + "-attention at index " +
                                std::to_string(index));
    call->unet_output = output;
    return std::move(*call);
}

WalkthroughInputs walkthrough_inputs(const ReplayedCall& call, const Session& session) {
    const auto& weights = session.pipeline().unet.weights();
    WalkthroughInputs in;
    in.site = call.site;
    in.q = call.q;
    in.k = call.k;
    in.v = call.v;
    in.lse = call.lse;
    in.hidden = call.hidden;
    in.w_q = weights[call.site.module + ".to_q.weight"];
    in.w_out = weights[call.site.module + ".to_out.0.weight"];
    in.b_out = weights.optional(call.site.module + ".to_out.0.bias");
    in.unet_output = call.unet_output;
    in.guidance_scale = session.guidance_scale();
    return in;
}

} // namespace attnscope
