// The probe: one slice of P recomputed from Q, K and the forward kernel's LSE, p_ij = exp(scale q_i.k_j -
// lse_i). One thread per element of the map; the fixed row (k_j for a key column, q_i for a query row)
// of every head involved sits in shared memory as fp32. Dots accumulate in fp32 like the tensor cores'.
#include "attention_device.cuh"
#include "attention_kernels.h"
#include "cuda_check.h"
#include "element_convert.cuh"

#include <stdexcept>
#include <string>

namespace attnscope::kernels {
namespace {

struct ProbeLaunch {
    const void* fixed; // the tensor whose row `index` is fixed (K for a key column, Q for a query row)
    const void* many;  // the tensor whose rows make the map
    RowStrides fs, ms;
    const float* lse;
    int64_t lse_bh_stride;
    bool lse_per_element; // key column: each query n has its own lse; query row: one lse for the map
    int64_t first_bh, index, length;
    int head_count, head_dim;
    float scale;
    HeadReduction reduction;
    float* out;
    ProbeSurface surface;
};

template <typename T> __device__ __forceinline__ void unpack8(const uint4& raw, float (&f)[8]) {
    const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < 8; ++i) f[i] = to_float(h[i]);
}

template <typename T> __global__ void __launch_bounds__(128) probe_kernel(const ProbeLaunch p) {
    extern __shared__ float fixed_rows[]; // head_count x head_dim
    const T* fixed = static_cast<const T*>(p.fixed);
    for (int e = threadIdx.x; e < p.head_count * p.head_dim; e += blockDim.x) {
        const int h = e / p.head_dim, c = e % p.head_dim;
        fixed_rows[e] = to_float(fixed[(p.first_bh + h) * p.fs.batch_head + p.index * p.fs.row + c]);
    }
    __syncthreads();
    const int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (n >= p.length) return;

    float sum = 0.f, mx = 0.f;
    for (int h = 0; h < p.head_count; ++h) {
        const T* row = static_cast<const T*>(p.many) + (p.first_bh + h) * p.ms.batch_head + n * p.ms.row;
        const float* f = fixed_rows + h * p.head_dim;
        float dot = 0.f;
        for (int c = 0; c < p.head_dim; c += 8) {
            float x[8];
            unpack8<T>(*reinterpret_cast<const uint4*>(row + c), x);
#pragma unroll
            for (int i = 0; i < 8; ++i) dot = fmaf(x[i], f[c + i], dot);
        }
        const float lse = p.lse[(p.first_bh + h) * p.lse_bh_stride + (p.lse_per_element ? n : p.index)];
        const float prob = expf(fmaf(dot, p.scale, -lse));
        sum += prob;
        mx = fmaxf(mx, prob);
    }
    const float value = p.reduction == HeadReduction::Max ? mx : sum / static_cast<float>(p.head_count);
    if (p.out) p.out[n] = value;
    if (p.surface.format != SurfaceFormat::None) {
        const int x = static_cast<int>(n % p.surface.width), y = static_cast<int>(n / p.surface.width);
        if (p.surface.format == SurfaceFormat::R32F) {
            surf2Dwrite(value, p.surface.handle, x * static_cast<int>(sizeof(float)), y);
        } else {
            const auto g =
                static_cast<unsigned char>(__float2int_rn(__saturatef(value * p.surface.gain) * 255.f));
            surf2Dwrite(make_uchar4(g, g, g, 255), p.surface.handle, x * static_cast<int>(sizeof(uchar4)), y);
        }
    }
}

void check(const ProbeArgs& a) {
    const auto fail = [](const std::string& why) { throw std::invalid_argument("attention probe: " + why); };
    if (a.head_dim % 8 != 0 || a.head_dim <= 0) fail("head dim must be a positive multiple of 8");
    if (a.heads < 1 || a.seq_q < 1 || a.seq_k < 1) fail("empty attention");
    if (a.batch_index < 0 || (a.reduction == HeadReduction::Single && (a.head < 0 || a.head >= a.heads)))
        fail("batch item or head out of range");
    const int64_t fixed_len = a.axis == ProbeAxis::KeyColumn ? a.seq_k : a.seq_q;
    if (a.index < 0 || a.index >= fixed_len)
        fail((a.axis == ProbeAxis::KeyColumn ? "key " : "query ") + std::to_string(a.index) +
             " out of range 0.." + std::to_string(fixed_len - 1));
    for (const auto& s : {a.q_strides, a.k_strides})
        if (s.row % 8 != 0 || s.batch_head % 8 != 0) fail("row strides must be multiples of 8 elements");
    if (!a.out && a.surface.format == SurfaceFormat::None) fail("neither an output buffer nor a surface");
    if (a.surface.format != SurfaceFormat::None &&
        static_cast<int64_t>(a.surface.width) * a.surface.height != probe_map_length(a))
        fail("surface " + std::to_string(a.surface.width) + "x" + std::to_string(a.surface.height) +
             " does not hold a map of " + std::to_string(probe_map_length(a)) + " values");
}

} // namespace

void attention_probe(const ProbeArgs& a) {
    check(a);
    const bool column = a.axis == ProbeAxis::KeyColumn;
    const bool single = a.reduction == HeadReduction::Single;
    ProbeLaunch p{};
    p.fixed = column ? a.k : a.q;
    p.many = column ? a.q : a.k;
    p.fs = column ? a.k_strides : a.q_strides;
    p.ms = column ? a.q_strides : a.k_strides;
    p.lse = a.lse;
    p.lse_bh_stride = a.lse_batch_head_stride;
    p.lse_per_element = column;
    p.first_bh = a.batch_index * a.heads + (single ? a.head : 0);
    p.index = a.index;
    p.length = probe_map_length(a);
    p.head_count = single ? 1 : a.heads;
    p.head_dim = a.head_dim;
    p.scale = a.scale;
    p.reduction = a.reduction;
    p.out = a.out;
    p.surface = a.surface;
    const auto blocks = static_cast<unsigned>((p.length + 127) / 128);
    const auto smem = static_cast<std::size_t>(p.head_count) * a.head_dim * sizeof(float);
    const auto stream = static_cast<cudaStream_t>(a.stream);
    if (a.dtype == ElementType::F16)
        probe_kernel<__half><<<blocks, 128, smem, stream>>>(p);
    else
        probe_kernel<__nv_bfloat16><<<blocks, 128, smem, stream>>>(p);
    check_launch((std::string("probe_kernel<") + to_string(a.dtype) + ">").c_str());
}

} // namespace attnscope::kernels
