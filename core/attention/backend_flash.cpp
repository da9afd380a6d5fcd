#ifdef ATTNSCOPE_HAVE_CUDA
#include "backend.h"
#include "kernel_bridge.h"

#include <c10/core/DeviceGuard.h>

namespace attnscope {
namespace {

class FlashBackend final : public AttentionBackend {
  public:
    std::string name() const override { return "flash"; }
    std::string description() const override {
        return "attnscope's fused CUDA kernel (fp16/bf16, head dims 40/64/80/160), returns the LSE";
    }
    std::string unsupported_reason(const AttentionRequest& r) const override {
        return fused_unsupported_reason(r);
    }

    AttentionResult run(const AttentionRequest& r) const override {
        const c10::DeviceGuard guard(r.q.device());
        const auto q = r.q.contiguous(), k = r.k.contiguous(), v = r.v.contiguous();
        auto out = at::empty_like(q, at::MemoryFormat::Contiguous);
        auto lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
        kernels::flash_attention_forward(attention_args(q, k, v, out, lse, r.scale));
        return {std::move(out), {}, std::move(lse)};
    }
};

} // namespace

std::unique_ptr<AttentionBackend> make_flash_backend() {
    return std::make_unique<FlashBackend>();
}

} // namespace attnscope
#endif
