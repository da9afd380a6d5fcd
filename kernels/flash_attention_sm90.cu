// Fused attention forward for Hopper: wgmma (sm_90a) in place of mma.sync. One CTA per 128 queries of one
// batch*head row, as two warpgroups of 64 query rows each; K and V stream through shared memory in blocks
// of 96 or 128 keys, several stages deep, loaded with cp.async by all threads into the 128B-swizzled layout
// that wgmma descriptors read (wgmma_sm90.cuh). Per key block and warpgroup: S = Q K^T (both operands from
// shared memory), online softmax in registers, P packed to 16 bits as the register A operand of
// O += P V (V read N-major through its descriptor, so it needs no transpose). The scores of the next block
// are issued before the softmax of this one, so the tensor cores work while the exponentials run.
#include "attention_device.cuh"
#include "cuda_check.h"
#include "flash_attention_sm90.h"
#include "wgmma_sm90.cuh"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <type_traits>

// wgmma exists only in the sm_90a device pass; every other pass compiles the kernels as empty stubs.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ATTNSCOPE_SM90A_IMAGE 1
#else
#define ATTNSCOPE_SM90A_IMAGE 0
#endif

namespace attnscope::kernels {
namespace {

using namespace device;
using namespace device::sm90;

constexpr int kThreads = 256; // two warpgroups
constexpr int kRows = 128;    // queries per CTA, 64 per warpgroup

template <int D> struct Sm90Tile {
    static constexpr int kDk = (D + 15) / 16 * 16;     // QK^T runs over k16 steps: 40 pads to 48 (zeros)
    static constexpr int kColBlocks = (kDk + 63) / 64; // 128-byte rows per tile row
    // Keys per stage, the N of S = Q K^T: two score buffers of kKeys/2 registers each, the O accumulator
    // and P must fit 255 registers; wider O leaves room for fewer keys.
    static constexpr int kKeys = D <= 40 ? 128 : 96;
    // Deep enough that a block's loads are issued two blocks before use, within shared memory.
    static constexpr int kStages = kColBlocks == 1 ? 4 : 3;
    static constexpr uint32_t kQBlock = kRows * 128, kKvBlock = kKeys * 128; // bytes per column block
    static constexpr uint32_t kQBytes = kColBlocks * kQBlock, kKvBytes = kColBlocks * kKvBlock;
    static constexpr uint32_t kSmemBytes = kQBytes + 2 * kStages * kKvBytes + 1024; // + 1024-byte alignment
};

#if ATTNSCOPE_SM90A_IMAGE
// Rows [first, first + Rows) of a (rows, D) matrix into a swizzled tile at `dst`; rows at or past `limit`
// read as zeros. Consecutive threads take consecutive chunks of a row: coalesced global reads, and the
// swizzle spreads each row's chunks over all banks.
template <int D, int Rows, typename T>
__device__ __forceinline__ void load_tile(uint32_t dst, const T* src, int64_t row_stride, int64_t first,
                                          int64_t limit) {
    constexpr int chunks = D / 8, total = Rows * chunks; // 16-byte chunks
#pragma unroll
    for (int it = 0; it < (total + kThreads - 1) / kThreads; ++it) {
        const int i = static_cast<int>(threadIdx.x) + it * kThreads;
        if (total % kThreads == 0 || i < total) {
            const int r = i / chunks, c = i % chunks;
            const bool valid = first + r < limit;
            const T* from = src + (valid ? first + r : 0) * row_stride + c * 8;
            cp_async_16(dst + (c / 8) * (Rows * 128) + swizzled(r, c % 8), from, valid);
        }
    }
}

#endif

template <typename T, int D>
__global__ void __launch_bounds__(kThreads, 1) flash_sm90_kernel(const FlashLaunch p) {
#if ATTNSCOPE_SM90A_IMAGE
    using Tile = Sm90Tile<D>;
    constexpr int stages = Tile::kStages, ksteps = Tile::kDk / 16, otiles = D / 8, kKeys = Tile::kKeys;
    extern __shared__ unsigned char smem_raw[];
    const uint32_t raw = smem_u32(smem_raw), base = (raw + 1023) & ~1023u;
    unsigned char* const smem = smem_raw + (base - raw);
    const uint32_t sq = base, sk = sq + Tile::kQBytes, sv = sk + stages * Tile::kKvBytes;

    const int tid = threadIdx.x, wg = tid / 128, warp = (tid % 128) / 32, lane = tid % 32;
    const int64_t bh = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * kRows;
    const T* q = static_cast<const T*>(p.q) + bh * p.qs.batch_head;
    const T* k = static_cast<const T*>(p.k) + bh * p.ks.batch_head;
    const T* v = static_cast<const T*>(p.v) + bh * p.vs.batch_head;
    const int blocks = static_cast<int>((p.seq_k + kKeys - 1) / kKeys);

    if constexpr (Tile::kDk > D) {
        static_assert(Tile::kColBlocks == 1, "padding rows assume one column block");
        // The padding columns of Q and K meet in QK^T, so they must hold zeros; cp.async never writes them.
        constexpr int pad = (Tile::kDk - D) / 8;
        for (int i = tid; i < (kRows + stages * kKeys) * pad; i += kThreads) {
            const int row = i / pad, c = D / 8 + i % pad; // rows of Q, then those of the K stages
            // Swizzle phases repeat every 8 rows and both tiles are 8-row multiples: one formula for both.
            *reinterpret_cast<uint4*>(smem + swizzled(row, c)) = uint4{0, 0, 0, 0};
        }
    }
    load_tile<D, kRows>(sq, q, p.qs.row, q0, p.seq_q);
    load_tile<D, kKeys>(sk, k, p.ks.row, 0, p.seq_k);
    load_tile<D, kKeys>(sv, v, p.vs.row, 0, p.seq_k);
    cp_async_commit();
#pragma unroll
    for (int s = 1; s < stages - 1; ++s) {
        if (s < blocks) {
            load_tile<D, kKeys>(sk + s * Tile::kKvBytes, k, p.ks.row, int64_t{s} * kKeys, p.seq_k);
            load_tile<D, kKeys>(sv + s * Tile::kKvBytes, v, p.vs.row, int64_t{s} * kKeys, p.seq_k);
        }
        cp_async_commit(); // empty groups too: block b is always group b
    }

    // K-major operands (Q, K): 8-row groups 1024 bytes apart, k16 slice kk at column block kk / 4, byte
    // 32 * (kk % 4) of the row. V is N-major: 16 keys per k16 step (2048 bytes), column blocks one tile
    // block apart.
    const uint64_t qdesc = make_desc(sq + wg * 64 * 128, 16, 1024);
    const uint64_t kdesc0 = make_desc(sk, 16, 1024), vdesc0 = make_desc(sv, Tile::kKvBlock, 1024);
    const auto issue_scores = [&](float(&s)[kKeys / 2], int block) {
        const uint64_t kdesc = kdesc0 + ((block % stages) * Tile::kKvBytes >> 4);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < ksteps; ++kk) {
            const uint32_t in_row = (kk % 4) * 32;
            WgmmaSS<T, kKeys>::run(s, qdesc + (((kk / 4) * Tile::kQBlock + in_row) >> 4),
                                   kdesc + (((kk / 4) * Tile::kKvBlock + in_row) >> 4), kk > 0);
        }
        wgmma_commit();
    };

    float o[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) o[i] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    float s[2][kKeys / 2];
    const float sl2 = p.scale_log2;

    cp_async_wait<stages - 2>();
    fence_proxy_async();
    __syncthreads();
    issue_scores(s[0], 0);
    wgmma_wait<0>();
    fence_regs(s[0]);

    // One key block; `cur` holds its scores, complete. Written for a compile-time buffer index so that the
    // two score buffers stay in registers.
    const auto step = [&](auto cur_c, int j) {
        constexpr int cur = decltype(cur_c)::value, nxt = cur ^ 1;
        // Block j+1 has landed (block b is cp.async group b) and every thread is done with block j-1, whose
        // stage the loads of block j+stages-1 now reuse.
        cp_async_wait<stages - 3>();
        fence_proxy_async();
        __syncthreads();
        if (j + stages - 1 < blocks) {
            const int b = j + stages - 1;
            const uint32_t at = (b % stages) * Tile::kKvBytes;
            load_tile<D, kKeys>(sk + at, k, p.ks.row, int64_t{b} * kKeys, p.seq_k);
            load_tile<D, kKeys>(sv + at, v, p.vs.row, int64_t{b} * kKeys, p.seq_k);
        }
        cp_async_commit();
        if (j + 1 < blocks) issue_scores(s[nxt], j + 1);

        float(&x)[kKeys / 2] = s[cur];
        const int64_t valid = p.seq_k - static_cast<int64_t>(j) * kKeys;
        if (valid < kKeys) {
#pragma unroll
            for (int t = 0; t < kKeys / 8; ++t)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    if (t * 8 + (lane % 4) * 2 + (e % 2) >= valid) x[4 * t + e] = -INFINITY;
        }
        float mx[2] = {m[0], m[1]};
#pragma unroll
        for (int t = 0; t < kKeys / 8; ++t) {
            mx[0] = fmaxf(mx[0], fmaxf(x[4 * t], x[4 * t + 1]));
            mx[1] = fmaxf(mx[1], fmaxf(x[4 * t + 2], x[4 * t + 3]));
        }
        float alpha[2], shift[2], sum[2] = {0.f, 0.f};
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            alpha[r] = fast_exp2((m[r] - mx[r]) * sl2); // 0 on the first block (m = -inf)
            shift[r] = mx[r] * sl2;
            m[r] = mx[r];
        }
        uint32_t a[kKeys / 16][4];
#pragma unroll
        for (int t = 0; t < kKeys / 8; ++t) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                x[4 * t + e] = fast_exp2(fmaf(x[4 * t + e], sl2, -shift[e / 2]));
                sum[e / 2] += x[4 * t + e];
            }
            a[t / 2][(t % 2) * 2] = Mma<T>::pack(x[4 * t], x[4 * t + 1]);
            a[t / 2][(t % 2) * 2 + 1] = Mma<T>::pack(x[4 * t + 2], x[4 * t + 3]);
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) l[r] = l[r] * alpha[r] + sum[r];
#pragma unroll
        for (int t = 0; t < otiles; ++t)
#pragma unroll
            for (int e = 0; e < 4; ++e) o[4 * t + e] *= alpha[e / 2];

        const uint64_t vdesc = vdesc0 + ((j % stages) * Tile::kKvBytes >> 4);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < kKeys / 16; ++kk) WgmmaRS<T, D>::run(o, a[kk], vdesc + (kk * 2048 >> 4));
        wgmma_commit();
        wgmma_wait<0>();
        fence_regs(o);
        fence_regs(s[nxt]);
    };
    int j = 0;
    for (; j + 1 < blocks; j += 2) {
        step(std::integral_constant<int, 0>{}, j);
        step(std::integral_constant<int, 1>{}, j + 1);
    }
    if (j < blocks) step(std::integral_constant<int, 0>{}, j);
    cp_async_wait<0>();

    // Epilogue: normalized O through this warpgroup's own Q rows (its last wgmma has completed), then out
    // in 16-byte rows; the LSE from the lanes that own each row.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
    const float inv[2] = {1.f / l[0], 1.f / l[1]};
    unsigned char* const stage_o = smem + wg * 64 * 128;
    const int row0 = warp * 16 + lane / 4;
#pragma unroll
    for (int t = 0; t < otiles; ++t)
#pragma unroll
        for (int r = 0; r < 2; ++r)
            *reinterpret_cast<uint32_t*>(stage_o + (t / 8) * Tile::kQBlock + swizzled(row0 + 8 * r, t % 8) +
                                         (lane % 4) * 4) =
                Mma<T>::pack(o[4 * t + 2 * r] * inv[r], o[4 * t + 2 * r + 1] * inv[r]);
    named_barrier(1 + wg, 128);
    const int64_t first = q0 + wg * 64;
    T* out = static_cast<T*>(p.o) + bh * p.os.batch_head;
    constexpr int chunks = D / 8;
    for (int i = tid % 128; i < 64 * chunks; i += 128) {
        const int r = i / chunks, c = i % chunks;
        if (first + r < p.seq_q)
            *reinterpret_cast<uint4*>(out + (first + r) * p.os.row + c * 8) =
                *reinterpret_cast<const uint4*>(stage_o + (c / 8) * Tile::kQBlock + swizzled(r, c % 8));
    }
    if (lane % 4 == 0) {
        constexpr float kLn2 = 0.6931471805599453f;
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            const int64_t row = first + row0 + 8 * r;
            if (row < p.seq_q) p.lse[bh * p.seq_q + row] = (m[r] * sl2 + __log2f(l[r])) * kLn2;
        }
    }
#else
    (void)p; // never launched: the host launches only when the loaded image is the sm_90a one
#endif
}

enum class Policy { Off, Auto, Force };

// Auto unless asked otherwise: "off" pins flash to mma.sync, "force" takes wgmma for every shape it covers
// (the tests run every flash test on it that way).
Policy policy() {
    const char* env = std::getenv("ATTNSCOPE_FLASH_SM90");
    if (!env || !std::strcmp(env, "auto")) return Policy::Auto;
    if (!std::strcmp(env, "force") || !std::strcmp(env, "on") || !std::strcmp(env, "1")) return Policy::Force;
    return Policy::Off;
}

// Why the wgmma kernels cannot run on `device`, or empty.
std::string probe_device(int device) {
    int major = 0, minor = 0;
    check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
               "cudaDeviceGetAttribute");
    check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device),
               "cudaDeviceGetAttribute");
    if (major != 9 || minor != 0)
        return "the GPU is sm_" + std::to_string(major * 10 + minor) + ", the wgmma kernels need sm_90";
    // Compiled for any target but sm_90a the kernel is an empty stub of a few registers; the attributes
    // are those of the image the driver loads for this GPU.
    cudaFuncAttributes attr{};
    if (const cudaError_t err = cudaFuncGetAttributes(&attr, flash_sm90_kernel<__half, 64>);
        err != cudaSuccess) {
        cudaGetLastError(); // not sticky: clear it so that the fallback's launch check does not see it
        return std::string("no device code of this binary loads on this GPU (") + cudaGetErrorString(err) +
               ")";
    }
    if (attr.numRegs < 64)
        return "this binary has no sm_90a code (the kernel loaded for sm_" +
               std::to_string(attr.binaryVersion) + " has " + std::to_string(attr.numRegs) +
               " registers; build with CMAKE_CUDA_ARCHITECTURES 90a-real)";
    return {};
}

// Asked once per device, then answered from the cache.
bool usable_here() {
    constexpr int kDevices = 64;
    static std::atomic<int> known[kDevices] = {}; // 0 not asked yet, 1 usable, 2 not
    int device = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    if (device < kDevices && known[device] != 0) return known[device] == 1;
    const bool ok = probe_device(device).empty();
    if (device < kDevices) known[device] = ok ? 1 : 2;
    return ok;
}

// Where mma.sync stays ahead: short key sequences (cross-attention, small sites) are launch- and
// latency-bound, and there the older kernel's smaller CTAs fill the GPU better.
bool worth_it(const AttentionArgs& a) {
    return a.seq_k >= 512;
}

template <typename T, int D> void launch(const AttentionArgs& a) {
    const auto kernel = flash_sm90_kernel<T, D>;
    static const bool configured = [&] {
        check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(Sm90Tile<D>::kSmemBytes)),
                   "cudaFuncSetAttribute(flash_sm90_kernel)");
        return true;
    }();
    (void)configured;
    const auto p = flash_launch(a);
    const dim3 grid(static_cast<unsigned>((a.seq_q + kRows - 1) / kRows),
                    static_cast<unsigned>(a.batch_heads));
    kernel<<<grid, kThreads, Sm90Tile<D>::kSmemBytes, static_cast<cudaStream_t>(a.stream)>>>(p);
    check_launch(
        ("flash_sm90_kernel<" + std::string(to_string(a.dtype)) + ", d=" + std::to_string(D) + ">").c_str());
}

template <typename T> bool dispatch_dim(const AttentionArgs& a) {
    switch (a.head_dim) {
    case 40:
        return launch<T, 40>(a), true;
    case 64:
        return launch<T, 64>(a), true;
    case 80:
        return launch<T, 80>(a), true;
    default: // 160: two 64x160 fp32 accumulators and the scores do not fit a thread's registers
        return false;
    }
}

} // namespace

std::string flash_sm90_unavailable_reason() {
    int device = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    return probe_device(device);
}

bool flash_attention_forward_sm90(const AttentionArgs& a) {
    const Policy mode = policy();
    if (mode == Policy::Off || (mode == Policy::Auto && !worth_it(a))) return false;
    if (a.head_dim != 40 && a.head_dim != 64 && a.head_dim != 80) return false;
    if (!usable_here()) return false;
    return a.dtype == ElementType::F16 ? dispatch_dim<__half>(a) : dispatch_dim<__nv_bfloat16>(a);
}

} // namespace attnscope::kernels
