#pragma once
// fp16 and bf16 to and from float, one overload set for every kernel that computes in float, and runs of
// eight of them read or written in one 16-byte access.
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

// V consecutive elements of T as floats, read and written in one 16-byte access when V is kVectorElements
// (the address vector_aligned), else one element.
template <typename T, int V> struct Elements {
    float v[V];
    __device__ void load(const T* p) {
        if constexpr (V == kVectorElements) {
            const uint4 raw = *reinterpret_cast<const uint4*>(p);
            const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
            for (int i = 0; i < V; ++i) v[i] = to_float(h[i]);
        } else {
            v[0] = to_float(*p);
        }
    }
    __device__ void store(T* p) const {
        if constexpr (V == kVectorElements) {
            uint4 raw;
            T* h = reinterpret_cast<T*>(&raw);
#pragma unroll
            for (int i = 0; i < V; ++i) h[i] = from_float<T>(v[i]);
            *reinterpret_cast<uint4*>(p) = raw;
        } else {
            *p = from_float<T>(v[0]);
        }
    }
};

} // namespace attnscope::kernels
