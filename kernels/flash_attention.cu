// Fused attention forward (FlashAttention-2 style): one CTA per block of 16*warps queries of one
// batch*head row, each warp owning 16 query rows; K and V stream through shared memory in blocks of 64
// keys, double-buffered with cp.async; QK^T and P.V on mma.sync m16n8k16 with fp32 accumulation.
#include "attention_device.cuh"
#include "attention_kernels.h"
#include "cuda_check.h"
#include "flash_attention_sm90.h"

#include <stdexcept>
#include <string>

namespace attnscope::kernels {
namespace {

using namespace device;

template <typename T, int D> struct FlashTile {
    // QK^T runs over k16 steps: head dims 40 and 80 are zero-padded to 48 and 96 in shared memory.
    static constexpr int kDPad = (D + 15) / 16 * 16;
    static constexpr int kPitch = conflict_free_pitch(kDPad * 2, 2);
    static constexpr int kChunks = D / 8; // 16-byte chunks per global row
    static constexpr int kKSteps = kDPad / 16;
    static constexpr int kSTiles = kKeyBlock / 8;

    static std::size_t smem_bytes(int rows) {
        return static_cast<std::size_t>(rows + 4 * kKeyBlock) * kPitch * sizeof(T);
    }
};

// MT m16 tiles (16*MT query rows) per warp, blockDim.x / 32 warps per CTA. At head dim 40 two m-tiles fit
// in 168 registers, which lets three CTAs share a multiprocessor.
template <typename T, int D, int MT>
__global__ void __launch_bounds__(128, MT == 2 && D <= 40 ? 3 : 1) flash_forward_kernel(const FlashLaunch p) {
    using Tile = FlashTile<T, D>;
    constexpr int pitch = Tile::kPitch, warp_rows = 16 * MT;
    extern __shared__ __align__(16) unsigned char smem[];
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int rows = warp_rows * (blockDim.x / kWarp);
    T* sq = reinterpret_cast<T*>(smem);
    T* sk = sq + rows * pitch;          // two stages of kKeyBlock rows
    T* sv = sk + 2 * kKeyBlock * pitch; // two stages

    const int64_t bh = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * rows;
    const T* q = static_cast<const T*>(p.q) + bh * p.qs.batch_head;
    const T* k = static_cast<const T*>(p.k) + bh * p.ks.batch_head;
    const T* v = static_cast<const T*>(p.v) + bh * p.vs.batch_head;

    if constexpr (Tile::kDPad > D) {
        // The padding columns of Q and K meet in QK^T: they must be zeros, and cp.async never writes them.
        constexpr int pad_chunks = (Tile::kDPad - D) / 8;
        for (int c = threadIdx.x; c < (rows + 2 * kKeyBlock) * pad_chunks; c += blockDim.x)
            *reinterpret_cast<uint4*>(sq + (c / pad_chunks) * pitch + D + (c % pad_chunks) * 8) =
                uint4{0, 0, 0, 0};
    }
    load_rows_async<Tile::kChunks>(sq, pitch, q, p.qs.row, q0, rows, p.seq_q);
    load_rows_async<Tile::kChunks>(sk, pitch, k, p.ks.row, 0, kKeyBlock, p.seq_k);
    load_rows_async<Tile::kChunks>(sv, pitch, v, p.vs.row, 0, kKeyBlock, p.seq_k);
    cp_async_commit();

    uint32_t qf[MT][Tile::kKSteps][4];
    SoftmaxPv<T, D, MT> acc;
    const int blocks = static_cast<int>((p.seq_k + kKeyBlock - 1) / kKeyBlock);
    const int krow = (lane % 8) + (lane / 16) * 8, kcol = ((lane / 8) % 2) * 8;
    for (int j = 0; j < blocks; ++j) {
        const int stage = j % 2;
        if (j + 1 < blocks) {
            const int next = (stage ^ 1) * kKeyBlock * pitch;
            const int64_t first = static_cast<int64_t>(j + 1) * kKeyBlock;
            load_rows_async<Tile::kChunks>(sk + next, pitch, k, p.ks.row, first, kKeyBlock, p.seq_k);
            load_rows_async<Tile::kChunks>(sv + next, pitch, v, p.vs.row, first, kKeyBlock, p.seq_k);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (j == 0) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int kk = 0; kk < Tile::kKSteps; ++kk)
                    ldmatrix_x4(qf[mt][kk], sq + (warp * warp_rows + mt * 16 + lane % 16) * pitch + kk * 16 +
                                                (lane / 16) * 8);
        }

        float s[MT][Tile::kSTiles][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int t = 0; t < Tile::kSTiles; ++t)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[mt][t][e] = 0.f;
        const T* kst = sk + stage * kKeyBlock * pitch;
#pragma unroll
        for (int kk = 0; kk < Tile::kKSteps; ++kk)
#pragma unroll
            for (int np = 0; np < Tile::kSTiles / 2; ++np) {
                uint32_t b[4];
                ldmatrix_x4(b, kst + (np * 16 + krow) * pitch + kk * 16 + kcol);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    Mma<T>::run(s[mt][2 * np], qf[mt][kk], b[0], b[1]);
                    Mma<T>::run(s[mt][2 * np + 1], qf[mt][kk], b[2], b[3]);
                }
            }
        const int64_t key0 = static_cast<int64_t>(j) * kKeyBlock;
        if (key0 + kKeyBlock > p.seq_k) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int t = 0; t < Tile::kSTiles; ++t)
#pragma unroll
                    for (int e = 0; e < 4; ++e)
                        if (key0 + t * 8 + (lane % 4) * 2 + (e % 2) >= p.seq_k) s[mt][t][e] = -INFINITY;
        }
        acc.update(s, sv + stage * kKeyBlock * pitch, pitch, p.scale_log2);
        __syncthreads(); // every warp is done with this stage before the next iteration refills it
    }

    const int64_t first_row = q0 + warp * warp_rows;
    const float no_offset[MT][2] = {};
    acc.store(sq + warp * warp_rows * pitch, pitch,
              static_cast<T*>(p.o) + bh * p.os.batch_head + first_row * p.os.row, p.os.row,
              p.lse + bh * p.seq_q + first_row, first_row, p.seq_q, p.scale_log2, no_offset);
}

struct Config {
    int mt, warps;
};

// Two m-tiles per warp and four warps (128 query rows per CTA) where that still gives every
// multiprocessor two CTAs and the registers allow it (head dim <= 64); otherwise one m-tile and as
// many warps as keep two CTAs per multiprocessor (small sites would leave most of the GPU idle).
Config choose_config(int head_dim, int64_t seq_q, int64_t batch_heads) {
    const int64_t target = 2 * static_cast<int64_t>(multiprocessor_count());
    const auto ctas = [&](int rows) { return (seq_q + rows - 1) / rows * batch_heads; };
    if (head_dim <= 64 && ctas(128) >= target) return {2, 4};
    for (int warps : {4, 2})
        if (ctas(16 * warps) >= target) return {1, warps};
    return {1, 1};
}

template <typename T, int D, int MT> void launch(const AttentionArgs& a, int warps) {
    const auto kernel = flash_forward_kernel<T, D, MT>;
    static const bool configured = [&] {
        check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(FlashTile<T, D>::smem_bytes(64 * MT))),
                   "cudaFuncSetAttribute(flash_forward_kernel)");
        return true;
    }();
    (void)configured;
    const auto p = flash_launch(a);
    const int rows = 16 * MT * warps;
    const dim3 grid(static_cast<unsigned>((a.seq_q + rows - 1) / rows), static_cast<unsigned>(a.batch_heads));
    kernel<<<grid, warps * kWarp, FlashTile<T, D>::smem_bytes(rows), static_cast<cudaStream_t>(a.stream)>>>(
        p);
    check_launch(("flash_forward_kernel<" + std::string(to_string(a.dtype)) + ", d=" + std::to_string(D) +
                  ", " + std::to_string(MT) + " m-tiles>")
                     .c_str());
}

template <typename T, int D> void launch(const AttentionArgs& a) {
    const auto c = choose_config(D, a.seq_q, a.batch_heads);
    if constexpr (D <= 64) {
        if (c.mt == 2) return launch<T, D, 2>(a, c.warps);
    }
    launch<T, D, 1>(a, c.warps);
}

template <typename T> void dispatch_dim(const AttentionArgs& a) {
    switch (a.head_dim) {
    case 40:
        return launch<T, 40>(a);
    case 64:
        return launch<T, 64>(a);
    case 80:
        return launch<T, 80>(a);
    case 160:
        return launch<T, 160>(a);
    default:
        throw std::invalid_argument("flash attention: unsupported head dim " + std::to_string(a.head_dim));
    }
}

} // namespace

void flash_attention_forward(const AttentionArgs& a) {
    if (const auto why = attention_unsupported_reason(a); !why.empty())
        throw std::invalid_argument("flash attention: " + why);
    if (flash_attention_forward_sm90(a)) return;
    if (a.dtype == ElementType::F16)
        dispatch_dim<__half>(a);
    else
        dispatch_dim<__nv_bfloat16>(a);
}

} // namespace attnscope::kernels
