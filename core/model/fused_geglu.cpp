#include "fused_geglu.h"

#include "../attention/kernel_bridge.h"

#ifdef ATTNSCOPE_HAVE_CUDA
#include "geglu.h"

#include <c10/core/DeviceGuard.h>
#include <c10/core/GradMode.h>
#endif

namespace attnscope {

#ifdef ATTNSCOPE_HAVE_CUDA
at::Tensor fused_geglu(const at::Tensor& proj) {
    // The kernel has no backward: a pass that trains (the tiny model's trainer) keeps LibTorch's operations.
    if (!proj.is_cuda() || proj.dim() < 1 || !is_kernel_element_type(proj.scalar_type()) ||
        !proj.is_contiguous() || proj.size(-1) % 2 != 0 ||
        (at::GradMode::is_enabled() && proj.requires_grad()))
        return {};
    const c10::DeviceGuard guard(proj.device());
    auto sizes = proj.sizes().vec();
    sizes.back() /= 2;
    auto out = at::empty(sizes, proj.options());
    kernels::GegluArgs a;
    a.dtype = kernel_element_type(proj.scalar_type());
    a.proj = proj.data_ptr();
    a.out = out.data_ptr();
    a.width = sizes.back();
    a.rows = a.width > 0 ? out.numel() / a.width : 0;
    a.stream = torch_cuda_stream(proj.device());
    kernels::geglu_forward(a);
    return out;
}
#else
at::Tensor fused_geglu(const at::Tensor&) {
    return {};
}
#endif

} // namespace attnscope
