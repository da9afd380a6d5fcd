#include "backend.h"

namespace attnscope {
namespace {

class MathBackend final : public AttentionBackend {
  public:
    std::string name() const override { return "math"; }
    std::string description() const override { return "materialized softmax(QK^T/sqrt(d))V, the reference"; }
    std::string unsupported_reason(const AttentionRequest&) const override { return {}; }
    bool materializes_probs() const override { return true; }

    AttentionResult run(const AttentionRequest& r) const override {
        // Upcasting lifts half precision to fp32; it must never lower fp64.
        const bool half = r.q.scalar_type() == at::kHalf || r.q.scalar_type() == at::kBFloat16;
        const auto qk_type = r.upcast && half ? at::kFloat : r.q.scalar_type();
        const auto scores = at::matmul(r.q.to(qk_type), r.k.to(qk_type).transpose(-1, -2)).mul_(r.scale);
        // Softmax in at least fp32 whatever the storage type: half-precision rows of 4096 keys lose mass.
        const auto softmax_type = scores.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
        const auto probs_wide = at::softmax(scores, -1, softmax_type);
        // LSE from two row maxima instead of a logsumexp (which would need an fp32 copy of half scores):
        // at each row's largest score s, p = exp(s - lse), and that p is at least 1/Sk, so its logarithm
        // is well conditioned.
        auto lse = (at::amax(scores, -1).to(softmax_type) - at::amax(probs_wide, -1).log()).to(at::kFloat);
        auto probs = probs_wide.to(r.v.scalar_type());
        AttentionResult out{at::matmul(probs, r.v), {}, std::move(lse)};
        if (r.want_probs) out.probs = std::move(probs);
        return out;
    }
};

} // namespace

std::unique_ptr<AttentionBackend> make_math_backend() {
    return std::make_unique<MathBackend>();
}

} // namespace attnscope
