#include "probe.h"

#include "kernel_bridge.h"

#include <c10/core/DeviceGuard.h>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

bool single(const ProbeSelection& s) {
    return s.reduction == HeadReduction::Single;
}

void check(const ProbeInputs& in, const ProbeSelection& s) {
    const auto fail = [](const std::string& why) { throw std::invalid_argument("attention probe: " + why); };
    if (in.q.dim() != 3 || in.k.dim() != 3 || in.lse.dim() != 2)
        fail("needs q (B*heads, Sq, d), k (B*heads, Sk, d) and lse (B*heads, Sq)");
    if (in.heads < 1 || in.q.size(0) % in.heads != 0) fail("B*heads is not a multiple of heads");
    if (in.k.size(0) != in.q.size(0) || in.k.size(2) != in.q.size(2) || in.lse.size(0) != in.q.size(0) ||
        in.lse.size(1) != in.q.size(1))
        fail("q, k and lse do not belong together");
    if (in.lse.scalar_type() != at::kFloat) fail("lse must be fp32");
    if (s.batch < 0 || s.batch >= in.q.size(0) / in.heads)
        fail("batch item " + std::to_string(s.batch) + " out of range");
    if (single(s) && (s.head < 0 || s.head >= in.heads))
        fail("head " + std::to_string(s.head) + " out of range");
    const bool column = s.axis == ProbeAxis::KeyColumn;
    const int64_t n = column ? in.k.size(1) : in.q.size(1);
    if (s.index < 0 || s.index >= n)
        fail(std::string(column ? "key " : "query ") + std::to_string(s.index) + " out of range (" +
             std::to_string(n) + ")");
}

bool use_kernel(const ProbeInputs& in) {
#ifdef ATTNSCOPE_HAVE_CUDA
    return in.q.is_cuda() && is_kernel_element_type(in.q.scalar_type()) && in.q.size(2) % 8 == 0;
#else
    (void)in;
    return false;
#endif
}

at::Tensor probe_aten(const ProbeInputs& in, const ProbeSelection& s) {
    const auto wide = in.q.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const int64_t first = s.batch * in.heads + (single(s) ? s.head : 0), count = single(s) ? 1 : in.heads;
    const auto q = in.q.narrow(0, first, count).to(wide), k = in.k.narrow(0, first, count).to(wide);
    const auto lse = in.lse.narrow(0, first, count).to(wide);
    at::Tensor p; // (count, map length)
    if (s.axis == ProbeAxis::KeyColumn)
        p = at::exp(at::matmul(q, k.select(1, s.index).unsqueeze(-1)).squeeze(-1) * in.scale - lse);
    else
        p = at::exp(at::matmul(k, q.select(1, s.index).unsqueeze(-1)).squeeze(-1) * in.scale -
                    lse.select(1, s.index).unsqueeze(-1));
    return (s.reduction == HeadReduction::Max ? at::amax(p, 0) : p.mean(0)).to(at::kFloat);
}

#ifdef ATTNSCOPE_HAVE_CUDA
void probe_kernel(const ProbeInputs& in, const ProbeSelection& s, float* out, const ProbeSurface& surface) {
    const c10::DeviceGuard guard(in.q.device());
    const auto q = in.q.contiguous(), k = in.k.contiguous(), lse = in.lse.contiguous();
    kernels::ProbeArgs a;
    a.dtype = kernel_element_type(q.scalar_type());
    a.q = q.data_ptr();
    a.k = k.data_ptr();
    a.lse = lse.data_ptr<float>();
    a.q_strides = row_strides(q);
    a.k_strides = row_strides(k);
    a.lse_batch_head_stride = lse.stride(0);
    a.heads = in.heads;
    a.seq_q = q.size(1);
    a.seq_k = k.size(1);
    a.head_dim = static_cast<int>(q.size(2));
    a.scale = static_cast<float>(in.scale);
    a.batch_index = s.batch;
    a.head = s.head;
    a.reduction = s.reduction;
    a.axis = s.axis;
    a.index = s.index;
    a.out = out;
    a.surface = surface;
    a.stream = torch_cuda_stream(q.device());
    kernels::attention_probe(a);
}
#endif

} // namespace

at::Tensor probe_map(const ProbeInputs& in, const ProbeSelection& sel) {
    check(in, sel);
#ifdef ATTNSCOPE_HAVE_CUDA
    if (use_kernel(in)) {
        const int64_t n = sel.axis == ProbeAxis::KeyColumn ? in.q.size(1) : in.k.size(1);
        auto out = at::empty({n}, in.q.options().dtype(at::kFloat));
        probe_kernel(in, sel, out.data_ptr<float>(), {});
        return out;
    }
#endif
    return probe_aten(in, sel);
}

// Only the CUDA kernel writes `surface`: a build without the kernels never uses a kernel and refuses.
void probe_map_to_surface(const ProbeInputs& in, const ProbeSelection& sel,
                          [[maybe_unused]] const ProbeSurface& surface) {
    check(in, sel);
    if (!use_kernel(in))
        throw std::invalid_argument("attention probe: writing a surface needs CUDA fp16/bf16 inputs (got " +
                                    in.q.device().str() + ", " + c10::toString(in.q.scalar_type()) + ")");
#ifdef ATTNSCOPE_HAVE_CUDA
    probe_kernel(in, sel, nullptr, surface);
#endif
}

} // namespace attnscope
