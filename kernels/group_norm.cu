#include "cuda_check.h"
#include "element_convert.cuh"
#include "group_norm.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdexcept>

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 512;

// The block's sum of v, returned to every thread.
__device__ float block_sum(float v, float* scratch) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); // scratch may still be read from the previous sum
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < kThreads / 32 ? scratch[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// One block per (batch item, group). The group's values are runs of per_group contiguous channels, one run a
// pixel, a row of channels apart; thread t reads channel t % per_group of every (kThreads / per_group)-th
// pixel from pixel t / per_group, so a warp reads neighbouring runs.
template <typename T>
__global__ void group_norm_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y,
                                       const T* __restrict__ gamma, const T* __restrict__ beta,
                                       int64_t pixels, int channels, int groups, float eps, bool silu) {
    __shared__ float scratch[kThreads / 32];
    const int b = blockIdx.x / groups, g = blockIdx.x % groups, per_group = channels / groups;
    const int j = threadIdx.x % per_group, stride = kThreads / per_group;
    const int64_t first = threadIdx.x / per_group;
    const bool active = first < stride; // the threads past the last whole run of the block stay idle
    const int64_t base = b * pixels * channels + static_cast<int64_t>(g) * per_group + j;
    const float count = static_cast<float>(pixels * per_group);

    float s = 0.f;
    if (active)
        for (int64_t p = first; p < pixels; p += stride) s += to_float(x[base + p * channels]);
    const float mean = block_sum(s, scratch) / count;
    float d2 = 0.f;
    if (active)
        for (int64_t p = first; p < pixels; p += stride) {
            const float d = to_float(x[base + p * channels]) - mean;
            d2 += d * d;
        }
    const float rstd = rsqrtf(block_sum(d2, scratch) / count + eps);
    if (!active) return;
    const int c = g * per_group + j;
    const float scale = rstd * to_float(gamma[c]), shift = to_float(beta[c]) - mean * scale;
    for (int64_t p = first; p < pixels; p += stride) {
        float v = to_float(x[base + p * channels]) * scale + shift;
        if (silu) v = v / (1.f + __expf(-v));
        y[base + p * channels] = from_float<T>(v);
    }
}

template <typename T> void launch(const GroupNormArgs& a) {
    const auto grid = static_cast<unsigned>(a.batch * a.groups);
    group_norm_nhwc_kernel<T><<<grid, kThreads, 0, static_cast<cudaStream_t>(a.stream)>>>(
        static_cast<const T*>(a.x), static_cast<T*>(a.y), static_cast<const T*>(a.gamma),
        static_cast<const T*>(a.beta), a.pixels, a.channels, a.groups, a.eps, a.silu);
    check_launch("group_norm_nhwc_kernel");
}

} // namespace

bool group_norm_nhwc_supported(int channels, int groups) {
    return groups > 0 && channels % groups == 0 && channels / groups <= kThreads;
}

void group_norm_nhwc_forward(const GroupNormArgs& a) {
    if (!group_norm_nhwc_supported(a.channels, a.groups))
        throw std::invalid_argument("GroupNorm kernel: " + std::to_string(a.channels) + " channels in " +
                                    std::to_string(a.groups) + " groups (a whole number of at most " +
                                    std::to_string(kThreads) + " channels a group)");
    if (a.batch <= 0 || a.pixels <= 0) return;
    if (a.dtype == ElementType::F16)
        launch<__half>(a);
    else
        launch<__nv_bfloat16>(a);
}

} // namespace attnscope::kernels
