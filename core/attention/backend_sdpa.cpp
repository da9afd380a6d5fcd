#include "backend.h"

#include <cmath>
#include <torch/version.h>

// From 2.5 LibTorch's fused kernels have entry points of their own that return the row LSE beside O, and
// the function that picks among them as scaled_dot_product_attention does.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define ATTNSCOPE_SDPA_LSE 1
#include <ATen/SDPBackend.h>
#else
#define ATTNSCOPE_SDPA_LSE 0
#endif

namespace attnscope {
namespace {

#if ATTNSCOPE_SDPA_LSE
// The kernel scaled_dot_product_attention would pick, called through its own entry point so that the LSE
// comes back too (the public function drops it); undefined LSE where that kernel has none (math) or wants
// a padded head (head dims off multiples of 8, which the public function pads first).
AttentionResult with_lse(const AttentionRequest& r) {
    const int64_t b = r.q.size(0), h = r.q.size(1), sq = r.q.size(2);
    const auto choice =
        r.q.size(3) % 8 == 0
            ? static_cast<at::SDPBackend>(at::_fused_sdp_choice(r.q, r.k, r.v, {}, 0.0, false, r.scale))
            : at::SDPBackend::math;
    switch (choice) {
    case at::SDPBackend::cudnn_attention: {
        const auto o =
            at::_scaled_dot_product_cudnn_attention(r.q, r.k, r.v, {}, true, 0.0, false, false, r.scale);
        return {std::get<0>(o), {}, std::get<1>(o).reshape({b, h, sq})};
    }
    case at::SDPBackend::flash_attention: {
        const auto o = at::_scaled_dot_product_flash_attention(r.q, r.k, r.v, 0.0, false, false, r.scale);
        return {std::get<0>(o), {}, std::get<1>(o)};
    }
    case at::SDPBackend::efficient_attention: {
        // Its LSE rows are padded to a multiple of 32 queries.
        const auto o =
            at::_scaled_dot_product_efficient_attention(r.q, r.k, r.v, {}, true, 0.0, false, r.scale);
        return {std::get<0>(o), {}, std::get<1>(o).narrow(-1, 0, sq)};
    }
    default:
        return {at::scaled_dot_product_attention(r.q, r.k, r.v, {}, 0.0, false, r.scale), {}, {}};
    }
}
#endif

class SdpaBackend final : public AttentionBackend {
  public:
    std::string name() const override { return "sdpa"; }
    bool returns_lse() const override { return ATTNSCOPE_SDPA_LSE; }
    std::string description() const override {
        return "LibTorch scaled_dot_product_attention (" TORCH_VERSION ")";
    }
    std::string unsupported_reason(const AttentionRequest& r) const override {
        if (r.q.is_cpu() && r.q.scalar_type() == at::kHalf)
            return "fp16 attention is not implemented on the CPU";
        return {};
    }

    AttentionResult run(const AttentionRequest& r) const override {
#if ATTNSCOPE_SDPA_LSE
        if (r.want_lse && r.q.is_cuda()) return with_lse(r);
#endif
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
