#ifdef ATTNSCOPE_HAVE_CUDA
#include "backend.h"
#include "kernel_bridge.h"

#include <c10/core/DeviceGuard.h>

namespace attnscope {
namespace {

class Int8Backend final : public AttentionBackend {
  public:
    std::string name() const override { return "int8"; }
    std::string description() const override {
        return "attnscope's Sage-style kernel: int8 QK^T (per-block scales, smoothed K), fp16/bf16 P.V";
    }
    std::string unsupported_reason(const AttentionRequest& r) const override {
        return fused_unsupported_reason(r);
    }

    AttentionResult run(const AttentionRequest& r) const override {
        const c10::DeviceGuard guard(r.q.device());
        const auto q = r.q.contiguous(), k = r.k.contiguous(), v = r.v.contiguous();
        auto out = at::empty_like(q, at::MemoryFormat::Contiguous);
        auto lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
        const auto args = attention_args(q, k, v, out, lse, r.scale);
        const auto bytes = kernels::int8_attention_workspace_bytes(args);
        auto workspace = at::empty({static_cast<int64_t>(bytes)}, q.options().dtype(at::kByte));
        kernels::int8_attention_forward(args, workspace.data_ptr(), bytes);
        return {std::move(out), {}, std::move(lse)};
    }
};

} // namespace

std::unique_ptr<AttentionBackend> make_int8_backend() {
    return std::make_unique<Int8Backend>();
}

} // namespace attnscope
#endif
