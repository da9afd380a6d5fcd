#include "cuda_check.h"
#include "element_convert.cuh"
#include "geglu.h"

#include <algorithm>
#include <cstdint>

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float gelu(float g) {
    return 0.5f * g * (1.f + erff(g * 0.70710678118654752f));
}

// Grid-stride over the output in V-wide pieces; piece i of row r reads a at (r, i) and g at (r, width + i).
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    geglu_kernel(const T* __restrict__ proj, T* __restrict__ out, int64_t rows, int64_t width) {
    const int64_t pieces_a_row = width / V, pieces = rows * pieces_a_row;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < pieces;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / pieces_a_row, col = (i % pieces_a_row) * V;
        Elements<T, V> a, g;
        a.load(proj + row * 2 * width + col);
        g.load(proj + row * 2 * width + width + col);
#pragma unroll
        for (int k = 0; k < V; ++k) a.v[k] *= gelu(g.v[k]);
        a.store(out + row * width + col);
    }
}

template <typename T, int V> void launch(const GegluArgs& a) {
    const int64_t pieces = a.rows * (a.width / V);
    const int64_t blocks =
        std::min<int64_t>((pieces + kThreads - 1) / kThreads, 8LL * multiprocessor_count());
    geglu_kernel<T, V><<<static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(a.stream)>>>(
        static_cast<const T*>(a.proj), static_cast<T*>(a.out), a.rows, a.width);
    check_launch("geglu_kernel");
}

template <typename T> void dispatch(const GegluArgs& a) {
    if (a.width % kVectorElements == 0 && vector_aligned(a.proj) && vector_aligned(a.out))
        launch<T, kVectorElements>(a);
    else
        launch<T, 1>(a);
}

} // namespace

void geglu_forward(const GegluArgs& a) {
    if (a.rows <= 0 || a.width <= 0) return;
    if (a.dtype == ElementType::F16)
        dispatch<__half>(a);
    else
        dispatch<__nv_bfloat16>(a);
}

} // namespace attnscope::kernels
