#include "backend.h"

#include <cmath>
#include <torch/version.h>

namespace attnscope {
namespace {

class SdpaBackend final : public AttentionBackend {
  public:
    std::string name() const override { return "sdpa"; }
    bool returns_lse() const override { return false; }
    std::string description() const override {
        return "LibTorch scaled_dot_product_attention (" TORCH_VERSION ")";
    }
    std::string unsupported_reason(const AttentionRequest& r) const override {
        if (r.q.is_cpu() && r.q.scalar_type() == at::kHalf)
            return "fp16 attention is not implemented on the CPU";
        return {};
    }

    AttentionResult run(const AttentionRequest& r) const override {
#if TORCH_VERSION_MAJOR >= 2
        return {at::scaled_dot_product_attention(r.q, r.k, r.v, {}, 0.0, false, r.scale), {}, {}};
#else
        // LibTorch 1.13 has only the private entry point, with the scale fixed at 1/sqrt(d).
        const auto scaled_q = r.q * (r.scale * std::sqrt(static_cast<double>(r.q.size(-1))));
        return {std::get<0>(at::_scaled_dot_product_attention(scaled_q, r.k, r.v, {}, 0.0, false, false)),
                {},
                {}};
#endif
    }
};

} // namespace

std::unique_ptr<AttentionBackend> make_sdpa_backend() {
    return std::make_unique<SdpaBackend>();
}

} // namespace attnscope
