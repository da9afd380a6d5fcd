#include "kernel_bridge.h"

#include <sstream>
#include <stdexcept>
#ifdef ATTNSCOPE_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace attnscope {

void* torch_cuda_stream([[maybe_unused]] const at::Device& device) {
#ifdef ATTNSCOPE_TORCH_CUDA
    return c10::cuda::getCurrentCUDAStream(device.index()).stream();
#else
    return nullptr;
#endif
}

bool is_kernel_element_type(at::ScalarType t) {
    return t == at::kHalf || t == at::kBFloat16;
}

kernels::ElementType kernel_element_type(at::ScalarType t) {
    if (!is_kernel_element_type(t))
        throw std::invalid_argument(std::string("our attention kernels take fp16 or bf16, not ") +
                                    c10::toString(t));
    return t == at::kHalf ? kernels::ElementType::F16 : kernels::ElementType::BF16;
}

kernels::RowStrides row_strides(const at::Tensor& t) {
    return {t.stride(0), t.stride(1)};
}

std::string fused_unsupported_reason(const AttentionRequest& r) {
    if (!r.q.is_cuda()) return "needs a CUDA tensor (got " + r.q.device().str() + ")";
    if (!is_kernel_element_type(r.q.scalar_type()))
        return std::string("needs fp16 or bf16 (got ") + c10::toString(r.q.scalar_type()) + ")";
    if (const auto problem = request_shape_problem(r); !problem.empty()) return problem;
    const int64_t d = r.q.size(3);
    kernels::AttentionArgs shape;
    shape.head_dim = static_cast<int>(d);
    shape.batch_heads = r.q.size(0) * r.q.size(1);
    shape.seq_q = r.q.size(2);
    shape.seq_k = r.k.size(2);
    return kernels::attention_unsupported_reason(shape); // strides and pointers are fine once contiguous
}

kernels::AttentionArgs attention_args(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                      at::Tensor& out, at::Tensor& lse, double scale) {
    const auto flat = [](const at::Tensor& t) { return t.flatten(0, 1); };
    kernels::AttentionArgs a;
    a.dtype = kernel_element_type(q.scalar_type());
    a.q = q.data_ptr();
    a.k = k.data_ptr();
    a.v = v.data_ptr();
    a.o = out.data_ptr();
    a.lse = lse.data_ptr<float>();
    a.q_strides = row_strides(flat(q));
    a.k_strides = row_strides(flat(k));
    a.v_strides = row_strides(flat(v));
    a.o_strides = row_strides(flat(out));
    a.batch_heads = q.size(0) * q.size(1);
    a.seq_q = q.size(2);
    a.seq_k = k.size(2);
    a.head_dim = static_cast<int>(q.size(3));
    a.scale = static_cast<float>(scale);
    a.stream = torch_cuda_stream(q.device());
    return a;
}

} // namespace attnscope
