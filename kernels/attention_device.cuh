#pragma once
// Device building blocks shared by the flash and int8 attention kernels: PTX wrappers for cp.async,
// ldmatrix and mma.sync, and the part both kernels have in common once the scores exist: the online
// softmax, P.V on tensor cores and the epilogue (O through shared memory, the row LSE).
//
// Fragment layouts are those of mma.sync m16n8k16 / m16n8k32: in a 16x8 accumulator, lane l holds
// rows l/4 and l/4+8, columns 2*(l%4) and 2*(l%4)+1 — which is also the A-operand layout of the next
// m16n8k16 for two adjacent accumulators, so P goes from scores to P.V without shuffles.
#include "attention_kernels.h"

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace attnscope::kernels::device {

inline constexpr int kWarp = 32;
inline constexpr int kKeyBlock = 64; // keys per pipeline stage

// What a flash kernel (mma.sync or wgmma) reads and writes; the scale in log2 units, for exp2.
struct FlashLaunch {
    const void *q, *k, *v;
    void* o;
    float* lse;
    RowStrides qs, ks, vs, os;
    int64_t seq_q, seq_k;
    float scale_log2;
};

inline FlashLaunch flash_launch(const AttentionArgs& a) {
    return {a.q,         a.k,         a.v,         a.o,     a.lse,   a.q_strides,
            a.k_strides, a.v_strides, a.o_strides, a.seq_q, a.seq_k, a.scale * 1.4426950408889634f};
}

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared (at a shared-space address), asynchronously; zero-filled when !valid (rows past
// the end of a sequence).
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
    cp_async_16(smem_u32(dst), src, valid);
}
__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::);
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t (&r)[2], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(smem_u32(p)));
}

template <typename T> struct Mma;
template <> struct Mma<__half> {
    __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                               uint32_t b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
        const __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<const uint32_t*>(&h);
    }
};
template <> struct Mma<__nv_bfloat16> {
    __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                               uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
            "{%8, %9}, {%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
        const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<const uint32_t*>(&h);
    }
};

__device__ __forceinline__ void mma_s8(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

// Shared-memory row pitch in elements for rows of `row_bytes`: an odd number of 16-byte chunks, so the
// eight row addresses of one ldmatrix fall into eight different bank groups.
constexpr int conflict_free_pitch(int row_bytes, int element_bytes) {
    const int chunks = (row_bytes + 15) / 16;
    return (chunks % 2 ? chunks : chunks + 1) * 16 / element_bytes;
}

// Copies `rows` rows of `Chunks` 16-byte chunks from global memory (rows >= limit read as zeros).
template <int Chunks, typename T>
__device__ __forceinline__ void load_rows_async(T* dst, int pitch, const T* src, int64_t row_stride,
                                                int64_t first_row, int rows, int64_t limit) {
    constexpr int per16 = 16 / sizeof(T);
    for (int c = threadIdx.x; c < rows * Chunks; c += blockDim.x) {
        const int r = c / Chunks, ch = c % Chunks;
        const bool valid = first_row + r < limit;
        const T* from = src + (valid ? first_row + r : 0) * row_stride + ch * per16;
        cp_async_16(dst + r * pitch + ch * per16, from, valid);
    }
}

// One warp's 16*MT query rows (MT m16 tiles sharing every K and V fragment it loads, which halves the
// shared-memory traffic per flop at MT = 2): running max, running (lane-partial) sum, the O accumulator.
// D is the value head dim; T the element type of V and O.
template <typename T, int D, int MT> struct SoftmaxPv {
    static constexpr int kOTiles = D / 8;
    static constexpr int kSTiles = kKeyBlock / 8;
    float o[MT][kOTiles][4];
    float m[MT][2]; // raw score units
    float l[MT][2];

    __device__ __forceinline__ SoftmaxPv() {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
            for (int t = 0; t < kOTiles; ++t)
#pragma unroll
                for (int e = 0; e < 4; ++e) o[mt][t][e] = 0.f;
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                m[mt][r] = -INFINITY;
                l[mt][r] = 0.f;
            }
        }
    }

    // s: this warp's (16*MT) x 64 scores of one key block (already masked with -inf), overwritten with P;
    // sv: the block's V rows in shared memory with row pitch `pitch`; scale_log2 = scale * log2(e).
    __device__ __forceinline__ void update(float (&s)[MT][kSTiles][4], const T* sv, int pitch,
                                           float scale_log2) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) softmax(mt, s[mt], scale_log2);

        // O += P V: P's accumulators become A fragments as they are; V fragments come transposed.
        const int lane = threadIdx.x % kWarp;
        const int vrow = (lane % 8) + ((lane / 8) % 2) * 8;
#pragma unroll
        for (int kk = 0; kk < kKeyBlock / 16; ++kk) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                a[mt][0] = Mma<T>::pack(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                a[mt][1] = Mma<T>::pack(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                a[mt][2] = Mma<T>::pack(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                a[mt][3] = Mma<T>::pack(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
            const T* vk = sv + (kk * 16 + vrow) * pitch;
#pragma unroll
            for (int np = 0; np < kOTiles / 2; ++np) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, vk + np * 16 + (lane / 16) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    Mma<T>::run(o[mt][2 * np], a[mt], b[0], b[1]);
                    Mma<T>::run(o[mt][2 * np + 1], a[mt], b[2], b[3]);
                }
            }
            if constexpr (kOTiles % 2 == 1) {
                uint32_t b[2];
                ldmatrix_x2_trans(b, vk + (kOTiles - 1) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) Mma<T>::run(o[mt][kOTiles - 1], a[mt], b[0], b[1]);
            }
        }
    }

    // Writes this warp's rows of O (normalized) and their LSE. `stage` is this warp's 16*MT rows of shared
    // memory (pitch `pitch`, free to overwrite); rows at or past seq_q are not written.
    // lse_offset[mt][r] is added to the LSE of the lane's row r of tile mt (the int8 kernel's smoothing
    // correction; 0 for flash).
    __device__ __forceinline__ void store(T* stage, int pitch, T* o_rows, int64_t o_row_stride,
                                          float* lse_rows, int64_t first_row, int64_t seq_q, float scale_log2,
                                          const float (&lse_offset)[MT][2]) {
        const int lane = threadIdx.x % kWarp;
        const int r0 = lane / 4, c0 = (lane % 4) * 2;
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            float inv[2];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                l[mt][r] += __shfl_xor_sync(0xffffffffu, l[mt][r], 1);
                l[mt][r] += __shfl_xor_sync(0xffffffffu, l[mt][r], 2);
                inv[r] = 1.f / l[mt][r];
            }
            T* tile = stage + mt * 16 * pitch;
#pragma unroll
            for (int t = 0; t < kOTiles; ++t) {
                *reinterpret_cast<uint32_t*>(tile + r0 * pitch + t * 8 + c0) =
                    Mma<T>::pack(o[mt][t][0] * inv[0], o[mt][t][1] * inv[0]);
                *reinterpret_cast<uint32_t*>(tile + (r0 + 8) * pitch + t * 8 + c0) =
                    Mma<T>::pack(o[mt][t][2] * inv[1], o[mt][t][3] * inv[1]);
            }
        }
        __syncwarp();
        constexpr int chunks = D * sizeof(T) / 16, per16 = 16 / sizeof(T);
        for (int c = lane; c < 16 * MT * chunks; c += kWarp) {
            const int r = c / chunks, ch = c % chunks;
            if (first_row + r < seq_q)
                *reinterpret_cast<uint4*>(o_rows + r * o_row_stride + ch * per16) =
                    *reinterpret_cast<const uint4*>(stage + r * pitch + ch * per16);
        }
        if (lane % 4 == 0) {
            constexpr float kLn2 = 0.6931471805599453f;
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int r = 0; r < 2; ++r) {
                    const int row = mt * 16 + r0 + 8 * r;
                    if (first_row + row < seq_q)
                        lse_rows[row] =
                            (m[mt][r] * scale_log2 + __log2f(l[mt][r])) * kLn2 + lse_offset[mt][r];
                }
        }
    }

  private:
    __device__ __forceinline__ void softmax(int mt, float (&s)[kSTiles][4], float scale_log2) {
        float mx[2] = {m[mt][0], m[mt][1]};
#pragma unroll
        for (int t = 0; t < kSTiles; ++t) {
            mx[0] = fmaxf(mx[0], fmaxf(s[t][0], s[t][1]));
            mx[1] = fmaxf(mx[1], fmaxf(s[t][2], s[t][3]));
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        }
        float alpha[2], shift[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            alpha[r] = fast_exp2((m[mt][r] - mx[r]) * scale_log2); // 0 on the first block (m = -inf)
            shift[r] = mx[r] * scale_log2;
            m[mt][r] = mx[r];
        }
        float sum[2] = {0.f, 0.f};
#pragma unroll
        for (int t = 0; t < kSTiles; ++t)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                s[t][e] = fast_exp2(fmaf(s[t][e], scale_log2, -shift[e / 2]));
                sum[e / 2] += s[t][e];
            }
#pragma unroll
        for (int r = 0; r < 2; ++r) l[mt][r] = l[mt][r] * alpha[r] + sum[r];
#pragma unroll
        for (int t = 0; t < kOTiles; ++t)
#pragma unroll
            for (int e = 0; e < 4; ++e) o[mt][t][e] *= alpha[e / 2];
    }
};

} // namespace attnscope::kernels::device
