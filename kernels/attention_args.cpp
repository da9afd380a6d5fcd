// Argument checks shared by the launchers and by core's backends (no CUDA needed).
#include "attention_kernels.h"

#include <algorithm>

namespace attnscope::kernels {
namespace {

bool aligned_rows(const RowStrides& s) {
    // 16-byte vector access: both strides a multiple of 8 half-precision elements.
    return s.row % 8 == 0 && s.batch_head % 8 == 0;
}

bool aligned_pointer(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

} // namespace

const char* to_string(ElementType t) {
    return t == ElementType::F16 ? "f16" : "bf16";
}

const std::vector<int>& attention_head_dims() {
    static const std::vector<int> dims{40, 64, 80, 160};
    return dims;
}

std::string attention_unsupported_reason(const AttentionArgs& a) {
    const auto& dims = attention_head_dims();
    if (std::find(dims.begin(), dims.end(), a.head_dim) == dims.end())
        return "head dim " + std::to_string(a.head_dim) + " is not one of 40, 64, 80, 160";
    if (a.batch_heads < 1 || a.seq_q < 1 || a.seq_k < 1) return "empty attention";
    if (a.batch_heads > 65535) return "more than 65535 batch*heads rows";
    if (!aligned_rows(a.q_strides) || !aligned_rows(a.k_strides) || !aligned_rows(a.v_strides) ||
        !aligned_rows(a.o_strides))
        return "row strides must be multiples of 8 elements";
    if (!aligned_pointer(a.q) || !aligned_pointer(a.k) || !aligned_pointer(a.v) || !aligned_pointer(a.o))
        return "tensors must start on a 16-byte boundary";
    return {};
}

int64_t probe_map_length(const ProbeArgs& a) {
    return a.axis == ProbeAxis::KeyColumn ? a.seq_q : a.seq_k;
}

} // namespace attnscope::kernels
