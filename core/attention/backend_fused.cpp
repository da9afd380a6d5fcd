#ifdef ATTNSCOPE_HAVE_CUDA
// Our CUDA kernels as backends: both take contiguous (B, heads, S, d) fp16/bf16 tensors and return O and the
// row LSE; they differ only in the kernel they launch.
#include "backend.h"
#include "kernel_bridge.h"

#include <c10/core/DeviceGuard.h>
#include <functional>

namespace attnscope {
namespace {

using Launch = std::function<void(const kernels::AttentionArgs&, const at::TensorOptions&)>;

class FusedKernelBackend final : public AttentionBackend {
  public:
    FusedKernelBackend(std::string name, std::string description, Launch launch)
        : name_(std::move(name)), description_(std::move(description)), launch_(std::move(launch)) {}

    std::string name() const override { return name_; }
    std::string description() const override { return description_; }
    std::string unsupported_reason(const AttentionRequest& r) const override {
        return fused_unsupported_reason(r);
    }

    AttentionResult run(const AttentionRequest& r) const override {
        const c10::DeviceGuard guard(r.q.device());
        const auto q = r.q.contiguous(), k = r.k.contiguous(), v = r.v.contiguous();
        auto out = at::empty_like(q, at::MemoryFormat::Contiguous);
        auto lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
        launch_(attention_args(q, k, v, out, lse, r.scale), q.options());
        return {std::move(out), {}, std::move(lse)};
    }

  private:
    std::string name_, description_;
    Launch launch_;
};

} // namespace

std::unique_ptr<AttentionBackend> make_flash_backend() {
    return std::make_unique<FusedKernelBackend>(
        "flash", "attnscope's fused CUDA kernel (fp16/bf16, head dims 40/64/80/160), returns the LSE",
        [](const kernels::AttentionArgs& args, const at::TensorOptions&) {
            kernels::flash_attention_forward(args);
        });
}

std::unique_ptr<AttentionBackend> make_int8_backend() {
    return std::make_unique<FusedKernelBackend>(
        "int8", "attnscope's Sage-style kernel: int8 QK^T (per-block scales, smoothed K), fp16/bf16 P.V",
        [](const kernels::AttentionArgs& args, const at::TensorOptions& options) {
            const auto bytes = kernels::int8_attention_workspace_bytes(args);
            const auto workspace = at::empty({static_cast<int64_t>(bytes)}, options.dtype(at::kByte));
            kernels::int8_attention_forward(args, workspace.data_ptr(), bytes);
        });
}

} // namespace attnscope
#endif
