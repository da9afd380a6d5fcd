#include "fused_group_norm.h"

#include "../attention/kernel_bridge.h"

#ifdef ATTNSCOPE_HAVE_CUDA
#include "group_norm.h"

#include <c10/core/DeviceGuard.h>
#endif

namespace attnscope {

#ifdef ATTNSCOPE_HAVE_CUDA
at::Tensor fused_group_norm_nhwc(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta,
                                 int64_t groups, double eps, bool silu, const at::Tensor& shift) {
    const auto type = x.scalar_type();
    if (!x.is_cuda() || x.dim() != 4 || !is_kernel_element_type(type) ||
        !x.is_contiguous(at::MemoryFormat::ChannelsLast) || gamma.scalar_type() != type ||
        beta.scalar_type() != type || !gamma.is_cuda() ||
        !kernels::group_norm_nhwc_supported(static_cast<int>(x.size(1)), static_cast<int>(groups)))
        return {};
    if (shift.defined() && (shift.scalar_type() != type || shift.device() != x.device() || shift.dim() != 2 ||
                            shift.size(0) != x.size(0) || shift.size(1) != x.size(1)))
        return {};
    const c10::DeviceGuard guard(x.device());
    auto y = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    const auto g = gamma.contiguous(), b = beta.contiguous();
    const auto s = shift.defined() ? shift.contiguous() : shift;
    kernels::GroupNormArgs a;
    a.dtype = kernel_element_type(type);
    a.x = x.data_ptr();
    a.y = y.data_ptr();
    a.gamma = g.data_ptr();
    a.beta = b.data_ptr();
    a.shift = s.defined() ? s.data_ptr() : nullptr;
    a.batch = x.size(0);
    a.pixels = x.size(2) * x.size(3);
    a.channels = static_cast<int>(x.size(1));
    a.groups = static_cast<int>(groups);
    a.eps = static_cast<float>(eps);
    a.silu = silu;
    a.stream = torch_cuda_stream(x.device());
    const auto workspace = at::empty({static_cast<int64_t>(kernels::group_norm_nhwc_workspace_bytes(a))},
                                     x.options().dtype(at::kByte));
    a.workspace = workspace.data_ptr();
    kernels::group_norm_nhwc_forward(a);
    return y;
}
#else
at::Tensor fused_group_norm_nhwc(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double,
                                 bool, const at::Tensor&) {
    return {};
}
#endif

} // namespace attnscope
