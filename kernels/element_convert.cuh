#pragma once
// fp16 and bf16 to and from float, one overload set for every kernel that computes in float, and the
// 16-byte loads of eight of them.
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace attnscope::kernels {

__device__ __forceinline__ float to_float(__half v) {
    return __half2float(v);
}
__device__ __forceinline__ float to_float(__nv_bfloat16 v) {
    return __bfloat162float(v);
}

template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ __half from_float<__half>(float v) {
    return __float2half(v);
}
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16(v);
}

// Elements of fp16 or bf16 one 16-byte load carries.
inline constexpr int kVectorElements = 8;

// Whether p may be read or written in 16-byte pieces.
inline bool vector_aligned(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

} // namespace attnscope::kernels
