#pragma once
// Hopper warpgroup MMA (wgmma, sm_90a only) and the pieces around it: shared-memory matrix descriptors for
// the 128-byte swizzled layout, the async-proxy fence, and the fence/commit/wait of wgmma groups.
// Only device code compiled for sm_90a may call these (guard with __CUDA_ARCH_FEAT_SM90_ALL).
//
// Shared-memory tiles use one layout everywhere: rows of 128 bytes (64 16-bit elements; wider rows are
// split into column blocks of 64 elements stored one after another), 16-byte chunk c of row r stored at
// chunk position c ^ (r % 8), tiles 1024-byte aligned. That is the 128B swizzle the descriptors below
// name, and it keeps cp.async writes and the tensor cores' reads free of bank conflicts.
//
// Accumulator fragments (m64nN, fp32): warp w of the warpgroup holds rows 16w..16w+15; within a warp the
// layout is that of mma.sync m16n8 repeated over N/8 tiles: d[4t+e] is row lane/4 + 8*(e/2), column
// 8t + 2*(lane%4) + e%2. The register A operand (m64k16) is mma.sync's m16n8k16 A fragment per warp, so
// two adjacent score tiles pack into one A fragment of P without shuffles.
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <type_traits>

namespace attnscope::kernels::device::sm90 {

// Swizzled byte offset of 16-byte chunk `chunk` (0..7 within its column block) of row `row`.
__device__ __forceinline__ uint32_t swizzled(int row, int chunk) {
    return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4));
}

// Descriptor of a 128B-swizzled operand at shared address `addr` (1024-byte aligned atom base, plus the
// 32-byte steps that select a k16 slice inside a row). `sbo`: bytes between groups of 8 rows (1024 here);
// `lbo`: bytes between 64-element column blocks, used by MN-major operands only (K-major ignores it).
__device__ __forceinline__ uint64_t make_desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
    constexpr uint64_t kSwizzle128 = uint64_t{1} << 62; // layout type 1
    return static_cast<uint64_t>((addr >> 4) & 0x3FFF) | static_cast<uint64_t>((lbo >> 4) & 0x3FFF) << 16 |
           static_cast<uint64_t>((sbo >> 4) & 0x3FFF) << 32 | kSwizzle128;
}

// Generic-proxy writes (cp.async, st.shared) become visible to the async proxy (wgmma) and vice versa.
__device__ __forceinline__ void fence_proxy_async() {
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_fence() {
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Keeps the compiler from moving reads or writes of an accumulator across an issue or a wait: the
// registers of an in-flight wgmma belong to the tensor cores until the wait.
template <int N> __device__ __forceinline__ void fence_regs(float (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}

// Barrier over `threads` threads (a multiple of 32) under hardware barrier `id` (0 is __syncthreads').
__device__ __forceinline__ void named_barrier(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// The operands of one wgmma: an accumulator register per element (so the lists are long), named %0..%K-1 in
// the instruction, then the A and B operands. The macros spell each list once for every shape and both
// element types.
#define ATTNSCOPE_WG_NAMES_16 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
#define ATTNSCOPE_WG_NAMES_20 ATTNSCOPE_WG_NAMES_16 ", %16, %17, %18, %19"
#define ATTNSCOPE_WG_NAMES_32                                                                                \
    ATTNSCOPE_WG_NAMES_16 ", %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define ATTNSCOPE_WG_NAMES_40 ATTNSCOPE_WG_NAMES_32 ", %32, %33, %34, %35, %36, %37, %38, %39"
#define ATTNSCOPE_WG_NAMES_48 ATTNSCOPE_WG_NAMES_40 ", %40, %41, %42, %43, %44, %45, %46, %47"
#define ATTNSCOPE_WG_NAMES_64                                                                                \
    ATTNSCOPE_WG_NAMES_48 ", %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define ATTNSCOPE_WG_D4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define ATTNSCOPE_WG_D8(i) ATTNSCOPE_WG_D4(i), ATTNSCOPE_WG_D4(i + 4)
#define ATTNSCOPE_WG_D16(i) ATTNSCOPE_WG_D8(i), ATTNSCOPE_WG_D8(i + 8)
#define ATTNSCOPE_WG_D20 ATTNSCOPE_WG_D16(0), ATTNSCOPE_WG_D4(16)
#define ATTNSCOPE_WG_D32 ATTNSCOPE_WG_D16(0), ATTNSCOPE_WG_D16(16)
#define ATTNSCOPE_WG_D40 ATTNSCOPE_WG_D32, ATTNSCOPE_WG_D8(32)
#define ATTNSCOPE_WG_D48 ATTNSCOPE_WG_D32, ATTNSCOPE_WG_D16(32)
#define ATTNSCOPE_WG_D64 ATTNSCOPE_WG_D48, ATTNSCOPE_WG_D16(48)

// Both operands from shared memory; the predicate (operand P) says whether D accumulates.
#define ATTNSCOPE_WGMMA_SS(TYPE, SHAPE, NAMES, A, B, P, ...)                                                 \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " P ", 0;\n"                                              \
                 "wgmma.mma_async.sync.aligned." SHAPE ".f32." TYPE "." TYPE "\n"                            \
                 "{" NAMES "}, " A ", " B ", p, 1, 1, 0, 0;\n}\n"                                            \
                 : __VA_ARGS__                                                                               \
                 : "l"(a), "l"(b), "r"(accumulate))
// A from four registers, B N-major (transposed) from shared memory; always accumulates.
#define ATTNSCOPE_WGMMA_RS(TYPE, SHAPE, NAMES, A, B, P, ...)                                                 \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " P ", 0;\n"                                              \
                 "wgmma.mma_async.sync.aligned." SHAPE ".f32." TYPE "." TYPE "\n"                            \
                 "{" NAMES "}, {" A "}, " B ", p, 1, 1, 1;\n}\n"                                             \
                 : __VA_ARGS__                                                                               \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1))
// The instruction for T (fp16 or bf16): the type is part of its name.
#define ATTNSCOPE_WGMMA_FOR_TYPE(WGMMA, ...)                                                                 \
    {                                                                                                        \
        if constexpr (std::is_same_v<T, __half>)                                                             \
            WGMMA("f16", __VA_ARGS__);                                                                       \
        else                                                                                                 \
            WGMMA("bf16", __VA_ARGS__);                                                                      \
    }

// D(64xN) = A(64x16) B(16xN) (+ D when accumulate != 0); A and B K-major in shared memory.
template <typename T, int N> struct WgmmaSS {
    static_assert(N == 64 || N == 96 || N == 128, "wgmma m64nNk16 from shared memory: N of 64, 96 or 128");
    __device__ __forceinline__ static void run(float (&d)[N / 2], uint64_t a, uint64_t b, int accumulate) {
        if constexpr (N == 64)
            ATTNSCOPE_WGMMA_FOR_TYPE(ATTNSCOPE_WGMMA_SS, "m64n64k16", ATTNSCOPE_WG_NAMES_32, "%32", "%33",
                                     "%34", ATTNSCOPE_WG_D32)
        else if constexpr (N == 96)
            ATTNSCOPE_WGMMA_FOR_TYPE(ATTNSCOPE_WGMMA_SS, "m64n96k16", ATTNSCOPE_WG_NAMES_48, "%48", "%49",
                                     "%50", ATTNSCOPE_WG_D48)
        else
            ATTNSCOPE_WGMMA_FOR_TYPE(ATTNSCOPE_WGMMA_SS, "m64n128k16", ATTNSCOPE_WG_NAMES_64, "%64", "%65",
                                     "%66", ATTNSCOPE_WG_D64)
    }
};

// D(64xN) += A(64x16) B(16xN); A from registers, B N-major (rows of N contiguous elements) in shared memory.
template <typename T, int N> struct WgmmaRS {
    static_assert(N == 40 || N == 64 || N == 80, "wgmma m64nNk16 with A in registers: N of 40, 64 or 80");
    __device__ __forceinline__ static void run(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t b) {
        if constexpr (N == 40)
            ATTNSCOPE_WGMMA_FOR_TYPE(ATTNSCOPE_WGMMA_RS, "m64n40k16", ATTNSCOPE_WG_NAMES_20,
                                     "%20, %21, %22, %23", "%24", "%25", ATTNSCOPE_WG_D20)
        else if constexpr (N == 64)
            ATTNSCOPE_WGMMA_FOR_TYPE(ATTNSCOPE_WGMMA_RS, "m64n64k16", ATTNSCOPE_WG_NAMES_32,
                                     "%32, %33, %34, %35", "%36", "%37", ATTNSCOPE_WG_D32)
        else
            ATTNSCOPE_WGMMA_FOR_TYPE(ATTNSCOPE_WGMMA_RS, "m64n80k16", ATTNSCOPE_WG_NAMES_40,
                                     "%40, %41, %42, %43", "%44", "%45", ATTNSCOPE_WG_D40)
    }
};

} // namespace attnscope::kernels::device::sm90
