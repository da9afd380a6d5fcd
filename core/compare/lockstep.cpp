#include "lockstep.h"

#include <algorithm>
#include <stdexcept>

namespace attnscope {

const char* to_string(CompareMode mode) {
    return mode == CompareMode::SameInputs ? "same-inputs" : "free";
}

// Inside A's forward pass: B's backend on A's q, k, v, its O measured against A's.
class LockstepComparison::SameInputsProbe final : public AttentionObserver {
  public:
    SameInputsProbe(const AttentionRouter& b_router, const UNet& b_unet,
                    std::map<CaptureKey, Divergence>& errors)
        : router_(b_router), dtype_(b_unet.dtype()), device_(b_unet.device()), errors_(errors) {}
    void begin_step(int step) { step_ = step; }

    void on_attention(const AttentionSite& site, const AttentionTensors& t) override {
        // Back to (B, heads, S, d) in B's dtype and device, as B's forward pass hands them to its backend.
        const auto as_b = [&](const at::Tensor& x) {
            return x.to(device_, dtype_).reshape({-1, site.heads, x.size(1), x.size(2)});
        };
        const AttentionRequest request{as_b(t.q),   as_b(t.k), as_b(t.v), site.scale(),
                                       site.upcast, false,     false};
        const auto out = router_.resolve(site, request).backend->run(request).out;
        errors_[{step_, site.index, site.kind}] = divergence(t.out, out.flatten(0, 1));
    }

  private:
    const AttentionRouter& router_;
    at::ScalarType dtype_;
    at::Device device_;
    std::map<CaptureKey, Divergence>& errors_;
    int step_ = 0;
};

// One step's attention outputs of one session, by site.
class LockstepComparison::OutputRecorder final : public AttentionObserver {
  public:
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override {
        outputs[{site.index, site.kind}] = t.out;
    }
    std::map<std::pair<int, AttentionKind>, at::Tensor> outputs;
};

namespace {

// B must have A's attention sites for the per-site errors to pair up.
const CompareSide& same_layout(const Session& a, const CompareSide& b) {
    if (!b.pipeline) return b;
    const auto h = a.latents().size(2), w = a.latents().size(3);
    const auto sa = a.pipeline().unet.sites(1, h, w, ClipTokenizer::kContextLength);
    const auto sb = b.pipeline->unet.sites(1, h, w, ClipTokenizer::kContextLength);
    const auto about = [](const char* who, const AttentionSite& s) {
        return std::string(who) + s.label() + " with " + std::to_string(s.heads) + " heads of " +
               std::to_string(s.head_dim);
    };
    const auto differs = [](const AttentionSite& x, const AttentionSite& y) {
        return x.kind != y.kind || x.heads != y.heads || x.head_dim != y.head_dim || x.seq_q != y.seq_q ||
               x.seq_k != y.seq_k;
    };
    for (size_t i = 0; i < std::max(sa.size(), sb.size()); ++i)
        if (i >= sa.size() || i >= sb.size() || differs(sa[i], sb[i]))
            throw std::invalid_argument(
                "B's model " + b.pipeline->source + " has another U-Net layout than A's (" +
                (i < sa.size() ? about("A's ", sa[i]) : "A has " + std::to_string(sa.size()) + " sites") +
                ", " +
                (i < sb.size() ? about("B's ", sb[i]) : "B has " + std::to_string(sb.size()) + " sites") +
                "): compare checkpoints of one topology");
    return b;
}

} // namespace

LockstepComparison::LockstepComparison(Session& a, const CompareSide& b, CompareMode mode)
    : a_(a), b_(a.branch(a.current_step(), same_layout(a, b).pipeline)), mode_(mode),
      from_step_(a.current_step()) {
    // B runs its backend everywhere, whatever per-site choices A made.
    b_.router().clear_site_backends();
    b_.router().set_default_backend(b.backend);
    if (mode_ == CompareMode::SameInputs) {
        probe_ = std::make_unique<SameInputsProbe>(b_.router(), b_.pipeline().unet, output_errors_);
        a_.router().add_observer(probe_.get());
    } else {
        recorder_a_ = std::make_unique<OutputRecorder>();
        recorder_b_ = std::make_unique<OutputRecorder>();
        a_.router().add_observer(recorder_a_.get());
        b_.router().add_observer(recorder_b_.get());
    }
}

LockstepComparison::~LockstepComparison() {
    a_.router().remove_observer(probe_.get());
    a_.router().remove_observer(recorder_a_.get());
}

std::pair<StepInfo, StepInfo> LockstepComparison::step() {
    const int k = a_.current_step();
    if (b_.current_step() != k)
        throw std::logic_error("the compared sessions are at steps " + std::to_string(k) + " and " +
                               std::to_string(b_.current_step()) + ": step them through the comparison only");
    if (probe_) probe_->begin_step(k);
    const auto info_a = a_.step();
    const auto info_b = b_.step();
    if (mode_ == CompareMode::FreeRunning) {
        for (const auto& [site, out_a] : recorder_a_->outputs)
            if (const auto it = recorder_b_->outputs.find(site); it != recorder_b_->outputs.end())
                output_errors_[{k, site.first, site.second}] = divergence(out_a, it->second);
        recorder_a_->outputs.clear();
        recorder_b_->outputs.clear();
    }
    latents_[k] = divergence(a_.latents(), b_.latents());
    return {info_a, info_b};
}

} // namespace attnscope
