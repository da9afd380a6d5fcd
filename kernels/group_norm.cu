#include "cuda_check.h"
#include "element_convert.cuh"
#include "group_norm.h"

#include <algorithm>
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdexcept>

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 512;
// Values one block reads, about 16 KB of fp16: a 64x64x320 map spreads over 114 blocks a batch item (228 for
// CFG's batch of two on 132 SMs; 32 KB chunks gave 138, too few loads in flight to approach the bandwidth),
// where one block a (batch item, group) gave 64 blocks in all. Fixed, not sized to the GPU, so every GPU sums
// in the same order.
constexpr int64_t kChunkElements = 8192;

// How the work is cut: each thread keeps the same `vec` channels (its lane) for every row it reads, so its
// per-channel sums stay in registers; a block reads `chunk_rows` whole rows (pixels) of one batch item.
struct Plan {
    int vec = 1, lanes = 0, rows_per_pass = 0;
    int64_t chunk_rows = 0, chunks = 0;
};

Plan plan(const GroupNormArgs& a) {
    Plan p;
    p.vec =
        a.channels % kVectorElements == 0 && vector_aligned(a.x) && vector_aligned(a.y) ? kVectorElements : 1;
    p.lanes = a.channels / p.vec;
    p.rows_per_pass = kThreads / p.lanes;
    const int64_t rows = (kChunkElements + a.channels - 1) / a.channels;
    p.chunk_rows = std::max<int64_t>(1, (rows + p.rows_per_pass - 1) / p.rows_per_pass) * p.rows_per_pass;
    p.chunks = (a.pixels + p.chunk_rows - 1) / p.chunk_rows;
    return p;
}

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

// The block's per-channel sums `acc` (thread lane's V channels, one slot per row of a pass) summed into
// per-group sums in group_sum[groups]; every thread sees them after it returns. Rows first, one thread a
// channel, then channels, one thread a group: a group's thread alone walking rows x channels serially cost
// a quarter of the kernel.
template <int V>
__device__ void sum_groups(const float (&acc)[V], float* slots, float* group_sum, int lane, int row,
                           bool active, int rows_per_pass, int channels, int groups) {
    if (active)
#pragma unroll
        for (int i = 0; i < V; ++i) slots[row * channels + lane * V + i] = acc[i];
    __syncthreads();
    for (int c = threadIdx.x; c < channels; c += blockDim.x) {
        float s = slots[c];
        for (int r = 1; r < rows_per_pass; ++r) s += slots[r * channels + c];
        slots[c] = s;
    }
    __syncthreads();
    const int per_group = channels / groups;
    for (int g = threadIdx.x; g < groups; g += blockDim.x) {
        float s = 0.f;
        for (int c = g * per_group; c < (g + 1) * per_group; ++c) s += slots[c];
        group_sum[g] = s;
    }
    __syncthreads();
}

// Pass 1, grid (chunks, batch): each chunk's mean and centred sum of squares per group, two passes over the
// chunk (the second from cache), so no cancellation whatever the mean.
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    chunk_stats_kernel(const T* __restrict__ x, const T* __restrict__ shift, float2* __restrict__ part,
                       int64_t pixels, int channels, int groups, int64_t chunk_rows) {
    extern __shared__ float shared[];
    const int lanes = channels / V, rows_per_pass = kThreads / lanes, per_group = channels / groups;
    const int lane = threadIdx.x % lanes, row = threadIdx.x / lanes;
    const bool active = row < rows_per_pass;
    const int64_t first = blockIdx.x * chunk_rows, last = min64(first + chunk_rows, pixels);
    const T* xb = x + blockIdx.y * pixels * channels + lane * V;
    float* slots = shared;
    float* group_sum = shared + rows_per_pass * channels;
    float add[V];
#pragma unroll
    for (int i = 0; i < V; ++i)
        add[i] = shift != nullptr && active ? to_float(shift[blockIdx.y * channels + lane * V + i]) : 0.f;

    float acc[V] = {};
    Elements<T, V> r;
    if (active)
        for (int64_t p = first + row; p < last; p += rows_per_pass) {
            r.load(xb + p * channels);
#pragma unroll
            for (int i = 0; i < V; ++i) acc[i] += r.v[i] + add[i];
        }
    sum_groups<V>(acc, slots, group_sum, lane, row, active, rows_per_pass, channels, groups);
    const float count = static_cast<float>((last - first) * per_group);
    float mean[V];
#pragma unroll
    for (int i = 0; i < V; ++i) mean[i] = group_sum[(lane * V + i) / per_group] / count, acc[i] = 0.f;
    float* part_b = reinterpret_cast<float*>(part + (blockIdx.y * gridDim.x + blockIdx.x) * groups);
    for (int g = threadIdx.x; g < groups; g += blockDim.x) part_b[2 * g] = group_sum[g] / count;
    if (active)
        for (int64_t p = first + row; p < last; p += rows_per_pass) {
            r.load(xb + p * channels);
#pragma unroll
            for (int i = 0; i < V; ++i) {
                const float d = r.v[i] + add[i] - mean[i];
                acc[i] += d * d;
            }
        }
    sum_groups<V>(acc, slots, group_sum, lane, row, active, rows_per_pass, channels, groups);
    for (int g = threadIdx.x; g < groups; g += blockDim.x) part_b[2 * g + 1] = group_sum[g];
}

// Chan et al.'s pairwise update: (n, mean, M2) of a set joined with another's.
struct Moments {
    float n = 0.f, mean = 0.f, m2 = 0.f;
    __device__ void join(float nk, float mean_k, float m2_k) {
        const float total = n + nk;
        if (total == 0.f) return;
        const float delta = mean_k - mean;
        mean += delta * (nk / total);
        m2 += m2_k + delta * delta * (n * nk / total);
        n = total;
    }
};

// Pass 2, one warp a (batch item, group): each lane joins every 32nd chunk, then the lanes' moments join
// pairwise in a fixed tree, written as (mean, 1 / sqrt(var + eps)). One thread a group walking all chunks
// in turn was latency-bound: 20 us a call, more than reading the activations.
__global__ void merge_stats_kernel(const float2* __restrict__ part, float2* __restrict__ stats,
                                   int64_t pixels, int channels, int groups, int64_t chunk_rows,
                                   int64_t chunks, int64_t items, float eps) {
    const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (warp >= items * groups) return;
    const int64_t b = warp / groups;
    const int g = static_cast<int>(warp % groups);
    const int per_group = channels / groups;
    Moments m;
    for (int64_t k = lane; k < chunks; k += 32) {
        const float2 s = part[(b * chunks + k) * groups + g];
        m.join(static_cast<float>((min64(pixels, (k + 1) * chunk_rows) - k * chunk_rows) * per_group), s.x,
               s.y);
    }
    for (int offset = 16; offset > 0; offset /= 2) {
        const float n = __shfl_down_sync(0xffffffffu, m.n, offset);
        const float mean = __shfl_down_sync(0xffffffffu, m.mean, offset);
        const float m2 = __shfl_down_sync(0xffffffffu, m.m2, offset);
        m.join(n, mean, m2);
    }
    if (lane == 0) stats[b * groups + g] = make_float2(m.mean, rsqrtf(m.m2 / m.n + eps));
}

// Pass 3, grid (chunks, batch): y = [silu]((x + shift) * scale + bias), scale and bias per channel from the
// group's statistics, gamma, beta and the shift, computed once per thread for its lane.
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    normalize_kernel(const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ gamma,
                     const T* __restrict__ beta, const T* __restrict__ shift,
                     const float2* __restrict__ stats, int64_t pixels, int channels, int groups,
                     int64_t chunk_rows, bool silu) {
    const int lanes = channels / V, rows_per_pass = kThreads / lanes, per_group = channels / groups;
    const int lane = threadIdx.x % lanes, row = threadIdx.x / lanes;
    if (row >= rows_per_pass) return;
    const int64_t first = blockIdx.x * chunk_rows, last = min64(first + chunk_rows, pixels);
    const int64_t offset = blockIdx.y * pixels * channels + lane * V;
    float scale[V], bias[V];
#pragma unroll
    for (int i = 0; i < V; ++i) {
        const int c = lane * V + i;
        const float2 s = stats[blockIdx.y * groups + c / per_group];
        const float add = shift != nullptr ? to_float(shift[blockIdx.y * channels + c]) : 0.f;
        scale[i] = s.y * to_float(gamma[c]);
        bias[i] = to_float(beta[c]) + (add - s.x) * scale[i];
    }
    Elements<T, V> r;
    for (int64_t p = first + row; p < last; p += rows_per_pass) {
        r.load(x + offset + p * channels);
#pragma unroll
        for (int i = 0; i < V; ++i) {
            float v = r.v[i] * scale[i] + bias[i];
            if (silu) v = v / (1.f + __expf(-v));
            r.v[i] = v;
        }
        r.store(y + offset + p * channels);
    }
}

struct Workspace {
    float2* part;  // (batch, chunks, groups): each chunk's mean and M2
    float2* stats; // (batch, groups): mean and 1 / std
};

size_t part_count(const GroupNormArgs& a, const Plan& p) {
    return static_cast<size_t>(a.batch * p.chunks * a.groups);
}

Workspace workspace_of(const GroupNormArgs& a, const Plan& p) {
    auto* base = static_cast<float2*>(a.workspace);
    return {base, base + part_count(a, p)};
}

template <typename T, int V> void launch(const GroupNormArgs& a, const Plan& p) {
    const auto stream = static_cast<cudaStream_t>(a.stream);
    const auto w = workspace_of(a, p);
    const dim3 grid(static_cast<unsigned>(p.chunks), static_cast<unsigned>(a.batch));
    const auto x = static_cast<const T*>(a.x);
    const auto shift = static_cast<const T*>(a.shift);
    const size_t shared = (static_cast<size_t>(p.rows_per_pass) * a.channels + a.groups) * sizeof(float);
    chunk_stats_kernel<T, V>
        <<<grid, kThreads, shared, stream>>>(x, shift, w.part, a.pixels, a.channels, a.groups, p.chunk_rows);
    check_launch("group_norm chunk_stats_kernel");
    constexpr int kMergeThreads = 256; // 8 warps, 8 groups
    const int64_t merge_threads = a.batch * a.groups * 32;
    merge_stats_kernel<<<static_cast<unsigned>((merge_threads + kMergeThreads - 1) / kMergeThreads),
                         kMergeThreads, 0, stream>>>(w.part, w.stats, a.pixels, a.channels, a.groups,
                                                     p.chunk_rows, p.chunks, a.batch, a.eps);
    check_launch("group_norm merge_stats_kernel");
    normalize_kernel<T, V><<<grid, kThreads, 0, stream>>>(
        x, static_cast<T*>(a.y), static_cast<const T*>(a.gamma), static_cast<const T*>(a.beta), shift,
        w.stats, a.pixels, a.channels, a.groups, p.chunk_rows, a.silu);
    check_launch("group_norm normalize_kernel");
}

template <typename T> void dispatch(const GroupNormArgs& a, const Plan& p) {
    if (p.vec == kVectorElements)
        launch<T, kVectorElements>(a, p);
    else
        launch<T, 1>(a, p);
}

} // namespace

bool group_norm_nhwc_supported(int channels, int groups) {
    if (groups <= 0 || channels <= 0 || channels % groups != 0) return false;
    return (channels % kVectorElements == 0 ? channels / kVectorElements : channels) <= kThreads;
}

size_t group_norm_nhwc_workspace_bytes(const GroupNormArgs& a) {
    if (!group_norm_nhwc_supported(a.channels, a.groups) || a.batch <= 0 || a.pixels <= 0) return 0;
    const auto p = plan(a);
    return (part_count(a, p) + static_cast<size_t>(a.batch * a.groups)) * sizeof(float2);
}

void group_norm_nhwc_forward(const GroupNormArgs& a) {
    if (!group_norm_nhwc_supported(a.channels, a.groups))
        throw std::invalid_argument("GroupNorm kernel: " + std::to_string(a.channels) + " channels in " +
                                    std::to_string(a.groups) + " groups (whole groups, at most " +
                                    std::to_string(kThreads * kVectorElements) + " channels, or " +
                                    std::to_string(kThreads) + " where they are not a multiple of 8)");
    if (a.batch <= 0 || a.pixels <= 0) return;
    if (a.workspace == nullptr) throw std::invalid_argument("GroupNorm kernel: no workspace");
    const auto p = plan(a);
    if (a.dtype == ElementType::F16)
        dispatch<__half>(a, p);
    else
        dispatch<__nv_bfloat16>(a, p);
}

} // namespace attnscope::kernels
