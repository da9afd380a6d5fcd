// Our fused kernels as backends. On CUDA tensors both take contiguous (B, heads, S, d) fp16/bf16 tensors and
// return O and the row LSE, differing only in the kernel they launch; on CPU tensors both run our CPU kernel,
// with exact or int8 scores.
#include "backend.h"
#include "cpu_attention.h"
#include "kernel_bridge.h"

#include <c10/core/DeviceGuard.h>

namespace attnscope {
namespace {

// Queues one of our CUDA kernels; null where this build has none.
using CudaLaunch = void (*)(const kernels::AttentionArgs&, const at::TensorOptions&);

class FusedKernelBackend final : public AttentionBackend {
  public:
    FusedKernelBackend(std::string name, std::string description, CpuScores cpu_scores, CudaLaunch cuda)
        : name_(std::move(name)), description_(std::move(description)), cpu_scores_(cpu_scores), cuda_(cuda) {
    }

    std::string name() const override { return name_; }
    std::string description() const override { return description_; }
    std::string unsupported_reason(const AttentionRequest& r) const override {
        if (r.q.is_cpu()) return cpu_attention_unsupported_reason(r);
        if (!cuda_) return "this build has no CUDA kernels (nvcc was not found when it was configured)";
        return fused_unsupported_reason(r);
    }

    AttentionResult run(const AttentionRequest& r) const override {
        if (r.q.is_cpu()) return cpu_attention(r, cpu_scores_);
        const c10::DeviceGuard guard(r.q.device());
        const auto q = r.q.contiguous(), k = r.k.contiguous(), v = r.v.contiguous();
        auto out = at::empty_like(q, at::MemoryFormat::Contiguous);
        auto lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
        cuda_(attention_args(q, k, v, out, lse, r.scale), q.options());
        return {std::move(out), {}, std::move(lse)};
    }

  private:
    std::string name_, description_;
    CpuScores cpu_scores_;
    CudaLaunch cuda_;
};

#ifdef ATTNSCOPE_HAVE_CUDA
void launch_flash(const kernels::AttentionArgs& args, const at::TensorOptions&) {
    kernels::flash_attention_forward(args);
}

void launch_int8(const kernels::AttentionArgs& args, const at::TensorOptions& options) {
    const auto bytes = kernels::int8_attention_workspace_bytes(args);
    const auto workspace = at::empty({static_cast<int64_t>(bytes)}, options.dtype(at::kByte));
    kernels::int8_attention_forward(args, workspace.data_ptr(), bytes);
}
#else
constexpr CudaLaunch launch_flash = nullptr, launch_int8 = nullptr;
#endif

} // namespace

std::unique_ptr<AttentionBackend> make_flash_backend() {
    return std::make_unique<FusedKernelBackend>(
        "flash",
        "attnscope's fused kernel, returns the LSE: CUDA (tensor cores; fp16/bf16, head dims 40/64/80/160) "
        "or CPU (fp32 SIMD, any head dim)",
        CpuScores::Exact, launch_flash);
}

std::unique_ptr<AttentionBackend> make_int8_backend() {
    return std::make_unique<FusedKernelBackend>(
        "int8",
        "attnscope's Sage-style kernel: int8 QK^T (per-block steps, smoothed K), fp16/bf16 P.V; on the CPU "
        "the same arithmetic in fp32",
        CpuScores::Int8, launch_int8);
}

} // namespace attnscope
