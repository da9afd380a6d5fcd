// Sage-style quantized attention. Two small passes prepare int8 copies of Q and K in a workspace:
// K's mean over tokens (per head and dim) is subtracted first — q.(k - mean) differs from q.k by a
// per-row constant, which softmax ignores — and each block of 64 rows gets one scale (max|x| / 127).
// The attention kernel then runs QK^T on int8 tensor cores (mma.sync m16n8k32, int32 accumulation),
// dequantizes with the two block scales and continues exactly as the flash kernel (online softmax,
// fp16/bf16 P.V). The LSE gets the smoothing constant back, so it is the LSE of the quantized q.k.
#include "attention_device.cuh"
#include "attention_kernels.h"
#include "cuda_check.h"
#include "element_convert.cuh"

#include <stdexcept>
#include <string>

namespace attnscope::kernels {
namespace {

using namespace device;

constexpr int kQuantBlock = 64; // rows per quantization scale, for Q and K (= kKeyBlock)

int64_t round_up(int64_t n, int64_t m) {
    return (n + m - 1) / m * m;
}

// Where each part of the workspace lives, in bytes from its start (every part 16-byte aligned).
struct Int8Layout {
    int dpad;       // head dim rounded up to the k32 of the int8 mma
    int64_t sq, sk; // sequence lengths rounded up to whole quantization blocks
    std::size_t q8, k8, q_scale, k_scale, k_mean, q_dot_mean, total;

    explicit Int8Layout(const AttentionArgs& a)
        : dpad(static_cast<int>(round_up(a.head_dim, 32))), sq(round_up(a.seq_q, kQuantBlock)),
          sk(round_up(a.seq_k, kQuantBlock)) {
        const auto bh = static_cast<std::size_t>(a.batch_heads);
        std::size_t at = 0;
        const auto take = [&](std::size_t bytes) {
            const std::size_t start = at;
            at += static_cast<std::size_t>(round_up(static_cast<int64_t>(bytes), 16));
            return start;
        };
        q8 = take(bh * sq * dpad);
        k8 = take(bh * sk * dpad);
        q_scale = take(bh * (sq / kQuantBlock) * sizeof(float));
        k_scale = take(bh * (sk / kQuantBlock) * sizeof(float));
        k_mean = take(bh * a.head_dim * sizeof(float));
        q_dot_mean = take(bh * sq * sizeof(float));
        total = at;
    }
};

// mean over tokens of K, per (batch*head, dim): grid (batch_heads), block (32, 8).
template <typename T>
__global__ void k_mean_kernel(const T* k, RowStrides ks, int64_t seq_k, int head_dim, float* mean) {
    __shared__ float partial[8][33];
    const T* kb = k + blockIdx.x * ks.batch_head;
    for (int d0 = 0; d0 < head_dim; d0 += 32) {
        const int d = d0 + threadIdx.x;
        float sum = 0.f;
        if (d < head_dim)
            for (int64_t r = threadIdx.y; r < seq_k; r += blockDim.y) sum += to_float(kb[r * ks.row + d]);
        partial[threadIdx.y][threadIdx.x] = sum;
        __syncthreads();
        if (threadIdx.y == 0 && d < head_dim) {
            float total = 0.f;
            for (int y = 0; y < 8; ++y) total += partial[y][threadIdx.x];
            mean[blockIdx.x * head_dim + d] = total / static_cast<float>(seq_k);
        }
        __syncthreads();
    }
}

struct QuantizeLaunch {
    const void *q, *k;
    RowStrides qs, ks;
    int64_t seq_q, seq_k;
    int head_dim;
    float scale;
    unsigned char* workspace;
};

__device__ __forceinline__ float block_max(float v, float* scratch) {
    for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x % kWarp == 0) scratch[threadIdx.x / kWarp] = v;
    __syncthreads();
    float m = 0.f;
    for (int w = 0; w < static_cast<int>(blockDim.x / kWarp); ++w) m = fmaxf(m, scratch[w]);
    return m;
}

// One CTA per block of 64 rows of Q (blockIdx.x < Q blocks) or of K: grid (Q blocks + K blocks, bh).
template <typename T>
__global__ void __launch_bounds__(256) quantize_kernel(const QuantizeLaunch p, Int8Layout L) {
    __shared__ float scratch[8];
    const int64_t bh = blockIdx.y;
    const int nq = static_cast<int>(L.sq / kQuantBlock);
    const bool is_q = static_cast<int>(blockIdx.x) < nq;
    const int block = is_q ? blockIdx.x : blockIdx.x - nq;
    const int64_t first = static_cast<int64_t>(block) * kQuantBlock, seq = is_q ? p.seq_q : p.seq_k;
    const RowStrides s = is_q ? p.qs : p.ks;
    const T* x = static_cast<const T*>(is_q ? p.q : p.k) + bh * s.batch_head;
    const float* mean = reinterpret_cast<const float*>(p.workspace + L.k_mean) + bh * p.head_dim;
    const int d = p.head_dim;
    const auto value = [&](int64_t row, int col) {
        const float v = to_float(x[row * s.row + col]);
        return is_q ? v : v - mean[col];
    };

    float local = 0.f;
    for (int e = threadIdx.x; e < kQuantBlock * d; e += blockDim.x) {
        const int64_t row = first + e / d;
        if (row < seq) local = fmaxf(local, fabsf(value(row, e % d)));
    }
    const float amax = block_max(local, scratch);
    const float step = amax > 0.f ? amax / 127.f : 1.f;
    float* scales = reinterpret_cast<float*>(p.workspace + (is_q ? L.q_scale : L.k_scale));
    if (threadIdx.x == 0) scales[bh * ((is_q ? L.sq : L.sk) / kQuantBlock) + block] = step;

    // Four int8 per 32-bit store; head dims are multiples of 8, so a group is all data or all padding.
    signed char* out = reinterpret_cast<signed char*>(p.workspace + (is_q ? L.q8 : L.k8)) +
                       (bh * (is_q ? L.sq : L.sk) + first) * L.dpad;
    const float inv = 1.f / step;
    for (int g = threadIdx.x; g < kQuantBlock * L.dpad / 4; g += blockDim.x) {
        const int row = g / (L.dpad / 4), col = (g % (L.dpad / 4)) * 4;
        uint32_t packed = 0;
        if (first + row < seq && col < d)
            for (int i = 0; i < 4; ++i) {
                const int qv = __float2int_rn(value(first + row, col + i) * inv);
                packed |= (static_cast<uint32_t>(qv) & 0xffu) << (8 * i);
            }
        *reinterpret_cast<uint32_t*>(out + static_cast<int64_t>(row) * L.dpad + col) = packed;
    }

    if (is_q) {
        // scale * q.mean per query row: what smoothing removed from this row's scores, for the LSE.
        float* dots = reinterpret_cast<float*>(p.workspace + L.q_dot_mean) + bh * L.sq + first;
        const int lane = threadIdx.x % kWarp;
        for (int row = threadIdx.x / kWarp; row < kQuantBlock; row += blockDim.x / kWarp) {
            float dot = 0.f;
            if (first + row < seq)
                for (int c = lane; c < d; c += kWarp) dot += to_float(x[(first + row) * s.row + c]) * mean[c];
            for (int o = 16; o > 0; o /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, o);
            if (lane == 0) dots[row] = dot * p.scale;
        }
    }
}

struct Int8Launch {
    const void* v;
    void* o;
    float* lse;
    RowStrides vs, os;
    int64_t seq_q, seq_k;
    float scale_log2;
    const unsigned char* workspace;
};

template <typename T, int D> struct Int8Tile {
    static constexpr int kDPad = (D + 31) / 32 * 32;
    static constexpr int kQkPitch = conflict_free_pitch(kDPad, 1); // bytes
    static constexpr int kVPitch = conflict_free_pitch(D * 2, 2);  // elements
    static constexpr int kKSteps = kDPad / 32;
    static constexpr int kSTiles = kKeyBlock / 8;

    static std::size_t smem_bytes(int warps) {
        return static_cast<std::size_t>(16 * warps + 2 * kKeyBlock) * kQkPitch +
               static_cast<std::size_t>(2 * kKeyBlock) * kVPitch * sizeof(T);
    }
};

template <typename T, int D>
__global__ void __launch_bounds__(128) int8_attention_kernel(const Int8Launch p, const Int8Layout L) {
    using Tile = Int8Tile<T, D>;
    constexpr int qk_pitch = Tile::kQkPitch, v_pitch = Tile::kVPitch;
    extern __shared__ __align__(16) unsigned char smem[];
    const int warps = blockDim.x / kWarp, warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int rows = 16 * warps;
    signed char* sq = reinterpret_cast<signed char*>(smem);
    signed char* sk = sq + rows * qk_pitch;
    T* sv = reinterpret_cast<T*>(sk + 2 * kKeyBlock * qk_pitch);

    const int64_t bh = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * rows;
    const auto* q8 = reinterpret_cast<const signed char*>(p.workspace + L.q8) + bh * L.sq * Tile::kDPad;
    const auto* k8 = reinterpret_cast<const signed char*>(p.workspace + L.k8) + bh * L.sk * Tile::kDPad;
    const T* v = static_cast<const T*>(p.v) + bh * p.vs.batch_head;
    const float q_step = reinterpret_cast<const float*>(
        p.workspace + L.q_scale)[bh * (L.sq / kQuantBlock) + (q0 + warp * 16) / kQuantBlock];
    const float* k_steps =
        reinterpret_cast<const float*>(p.workspace + L.k_scale) + bh * (L.sk / kQuantBlock);

    // The int8 copies are padded to whole blocks of zeros: only V needs bounds.
    constexpr int qk_chunks = Tile::kDPad / 16, v_chunks = D / 8;
    load_rows_async<qk_chunks>(sq, qk_pitch, q8, Tile::kDPad, q0, rows, L.sq);
    load_rows_async<qk_chunks>(sk, qk_pitch, k8, Tile::kDPad, 0, kKeyBlock, L.sk);
    load_rows_async<v_chunks>(sv, v_pitch, v, p.vs.row, 0, kKeyBlock, p.seq_k);
    cp_async_commit();

    uint32_t qf[Tile::kKSteps][4];
    SoftmaxPv<T, D, 1> acc;
    const int blocks = static_cast<int>(L.sk / kKeyBlock);
    const int krow = (lane % 8) + (lane / 16) * 8, kcol = ((lane / 8) % 2) * 16;
    for (int j = 0; j < blocks; ++j) {
        const int stage = j % 2;
        if (j + 1 < blocks) {
            const int64_t first = static_cast<int64_t>(j + 1) * kKeyBlock;
            load_rows_async<qk_chunks>(sk + (stage ^ 1) * kKeyBlock * qk_pitch, qk_pitch, k8, Tile::kDPad,
                                       first, kKeyBlock, L.sk);
            load_rows_async<v_chunks>(sv + (stage ^ 1) * kKeyBlock * v_pitch, v_pitch, v, p.vs.row, first,
                                      kKeyBlock, p.seq_k);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (j == 0) {
#pragma unroll
            for (int kk = 0; kk < Tile::kKSteps; ++kk)
                ldmatrix_x4(qf[kk], sq + (warp * 16 + lane % 16) * qk_pitch + kk * 32 + (lane / 16) * 16);
        }

        int si[Tile::kSTiles][4];
#pragma unroll
        for (int t = 0; t < Tile::kSTiles; ++t)
#pragma unroll
            for (int e = 0; e < 4; ++e) si[t][e] = 0;
        const signed char* kst = sk + stage * kKeyBlock * qk_pitch;
#pragma unroll
        for (int kk = 0; kk < Tile::kKSteps; ++kk)
#pragma unroll
            for (int np = 0; np < Tile::kSTiles / 2; ++np) {
                uint32_t b[4];
                ldmatrix_x4(b, kst + (np * 16 + krow) * qk_pitch + kk * 32 + kcol);
                mma_s8(si[2 * np], qf[kk], b[0], b[1]);
                mma_s8(si[2 * np + 1], qf[kk], b[2], b[3]);
            }
        const float step = q_step * k_steps[j];
        const int64_t key0 = static_cast<int64_t>(j) * kKeyBlock;
        float s[1][Tile::kSTiles][4];
#pragma unroll
        for (int t = 0; t < Tile::kSTiles; ++t)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                s[0][t][e] = key0 + t * 8 + (lane % 4) * 2 + (e % 2) < p.seq_k
                                 ? static_cast<float>(si[t][e]) * step
                                 : -INFINITY;
        acc.update(s, sv + stage * kKeyBlock * v_pitch, v_pitch, p.scale_log2);
        __syncthreads();
    }

    // After the loop's last barrier the V stages are free: they stage O (2 * 64 rows >= 16 * warps).
    const int64_t first_row = q0 + warp * 16;
    const float* dots = reinterpret_cast<const float*>(p.workspace + L.q_dot_mean) + bh * L.sq + first_row;
    const float offset[1][2] = {{dots[lane / 4], dots[lane / 4 + 8]}};
    acc.store(sv + warp * 16 * v_pitch, v_pitch,
              static_cast<T*>(p.o) + bh * p.os.batch_head + first_row * p.os.row, p.os.row,
              p.lse + bh * p.seq_q + first_row, first_row, p.seq_q, p.scale_log2, offset);
}

int choose_warps(int64_t seq_q, int64_t batch_heads) {
    const int64_t target = 2 * static_cast<int64_t>(multiprocessor_count());
    for (int warps : {4, 2})
        if ((seq_q + 16 * warps - 1) / (16 * warps) * batch_heads >= target) return warps;
    return 1;
}

template <typename T, int D> void launch(const AttentionArgs& a, unsigned char* ws, const Int8Layout& L) {
    const auto stream = static_cast<cudaStream_t>(a.stream);
    const std::string tag = std::string("<") + to_string(a.dtype) + ", d=" + std::to_string(D) + ">";
    k_mean_kernel<T><<<static_cast<unsigned>(a.batch_heads), dim3(32, 8), 0, stream>>>(
        static_cast<const T*>(a.k), a.k_strides, a.seq_k, D, reinterpret_cast<float*>(ws + L.k_mean));
    check_launch(("k_mean_kernel" + tag).c_str());
    const QuantizeLaunch qp{a.q, a.k, a.q_strides, a.k_strides, a.seq_q, a.seq_k, D, a.scale, ws};
    const dim3 qgrid(static_cast<unsigned>((L.sq + L.sk) / kQuantBlock),
                     static_cast<unsigned>(a.batch_heads));
    quantize_kernel<T><<<qgrid, 256, 0, stream>>>(qp, L);
    check_launch(("quantize_kernel" + tag).c_str());

    const auto kernel = int8_attention_kernel<T, D>;
    static const bool configured = [&] {
        check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(Int8Tile<T, D>::smem_bytes(4))),
                   "cudaFuncSetAttribute(int8_attention_kernel)");
        return true;
    }();
    (void)configured;
    const int warps = choose_warps(a.seq_q, a.batch_heads);
    const Int8Launch p{
        a.v, a.o, a.lse, a.v_strides, a.o_strides, a.seq_q, a.seq_k, a.scale * 1.4426950408889634f, ws};
    const dim3 grid(static_cast<unsigned>((a.seq_q + 16 * warps - 1) / (16 * warps)),
                    static_cast<unsigned>(a.batch_heads));
    kernel<<<grid, warps * kWarp, Int8Tile<T, D>::smem_bytes(warps), stream>>>(p, L);
    check_launch(("int8_attention_kernel" + tag).c_str());
}

template <typename T> void dispatch_dim(const AttentionArgs& a, unsigned char* ws, const Int8Layout& L) {
    switch (a.head_dim) {
    case 40:
        return launch<T, 40>(a, ws, L);
    case 64:
        return launch<T, 64>(a, ws, L);
    case 80:
        return launch<T, 80>(a, ws, L);
    case 160:
        return launch<T, 160>(a, ws, L);
    default:
        throw std::invalid_argument("int8 attention: unsupported head dim " + std::to_string(a.head_dim));
    }
}

} // namespace

std::size_t int8_attention_workspace_bytes(const AttentionArgs& a) {
    return Int8Layout(a).total;
}

void int8_attention_forward(const AttentionArgs& a, void* workspace, std::size_t workspace_bytes) {
    if (const auto why = attention_unsupported_reason(a); !why.empty())
        throw std::invalid_argument("int8 attention: " + why);
    const Int8Layout layout(a);
    if (workspace_bytes < layout.total || reinterpret_cast<std::uintptr_t>(workspace) % 16 != 0)
        throw std::invalid_argument("int8 attention: workspace needs " + std::to_string(layout.total) +
                                    " bytes, 16-byte aligned; got " + std::to_string(workspace_bytes));
    auto* ws = static_cast<unsigned char*>(workspace);
    if (a.dtype == ElementType::F16)
        dispatch_dim<__half>(a, ws, layout);
    else
        dispatch_dim<__nv_bfloat16>(a, ws, layout);
}

} // namespace attnscope::kernels
