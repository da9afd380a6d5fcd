#include "cpu_attention_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace attnscope::cpu {
namespace {

// W lanes of fp32: 16 (one AVX-512 register) or 8 (one AVX register, or two SSE registers in the baseline
// build). Only always-inline functions touch them, so every use is compiled into one of the entry points
// below, for its instruction set.
template <int W> struct Lanes {
    typedef float F __attribute__((vector_size(4 * W)));
    typedef int32_t I __attribute__((vector_size(4 * W)));
    typedef uint32_t U __attribute__((vector_size(4 * W)));
    typedef float Mem __attribute__((vector_size(4 * W), aligned(4), may_alias));
};
template <int W> using vf = typename Lanes<W>::F;
template <int W> using vi = typename Lanes<W>::I;
template <int W> using vu = typename Lanes<W>::U;
typedef vf<8> v8f;

#define ATTNSCOPE_INLINE inline __attribute__((always_inline))

constexpr float kLog2e = 1.4426950408889634f;

template <typename To, typename From> ATTNSCOPE_INLINE To bits(const From& x) {
    static_assert(sizeof(To) == sizeof(From));
    To r;
    std::memcpy(&r, &x, sizeof r);
    return r;
}

template <int W> ATTNSCOPE_INLINE vf<W> load(const float* p) {
    return *reinterpret_cast<const typename Lanes<W>::Mem*>(p);
}
template <int W> ATTNSCOPE_INLINE void store(float* p, vf<W> x) {
    *reinterpret_cast<typename Lanes<W>::Mem*>(p) = x;
}
// x in every lane: one vbroadcastss. GCC 12 compiles the float one as a shuffle of lane 0 (x - vf<16>{}, in
// the kernel's loops, became sixteen masked broadcasts, one per lane, and the AVX-512 build half as fast as
// the AVX2 one) and the integer constants as x - V{} (the shuffle makes those the masked broadcasts).
template <int W> ATTNSCOPE_INLINE vf<W> splat(float x) {
#ifdef __clang__
    return x - vf<W>{}; // clang (the sanitized build) has no __builtin_shuffle
#else
    return __builtin_shuffle(vf<W>{x}, vi<W>{});
#endif
}
template <typename V, typename Scalar> ATTNSCOPE_INLINE V broadcast(Scalar x) {
    return x - V{};
}
// 0, 1, ..., W - 1: one constant load.
template <int W> ATTNSCOPE_INLINE vf<W> lane_index() {
    vf<W> x{};
    for (int i = 0; i < W; ++i) x[i] = static_cast<float>(i);
    return x;
}
// The two halves of x, for reductions that add or compare half a vector at a time (a lane-by-lane loop
// over sixteen lanes made AVX-512 slower than AVX2 at the 77-key cross-attention sites).
template <int W> ATTNSCOPE_INLINE void halves(vf<W> x, vf<W / 2>& lo, vf<W / 2>& hi) {
    std::memcpy(&lo, &x, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&x) + sizeof lo, sizeof hi);
}
// combine(x[0], ..., x[W - 1]), half a vector against the other half down to four lanes, then pairwise.
template <int W, typename Combine> ATTNSCOPE_INLINE float lane_reduce(vf<W> x, Combine combine) {
    if constexpr (W > 4) {
        vf<W / 2> lo, hi;
        halves<W>(x, lo, hi);
        return lane_reduce<W / 2>(combine(lo, hi), combine);
    } else {
        return combine(combine(x[0], x[1]), combine(x[2], x[3]));
    }
}
template <int W> ATTNSCOPE_INLINE float lane_max(vf<W> x) {
    return lane_reduce<W>(x, [](auto a, auto b) { return a > b ? a : b; });
}
template <int W> ATTNSCOPE_INLINE float lane_sum(vf<W> x) {
    return lane_reduce<W>(x, [](auto a, auto b) { return a + b; });
}

// 2^x: x = n + f with n an integer and |f| <= 1/2, 2^f by a degree-5 polynomial fitted (iteratively
// reweighted least squares) for relative error on [-1/2, 1/2]: below 3e-7 in fp32 arithmetic, a few ulps;
// 2^n put straight into the exponent bits. x is raised to -127 first, one max instead of two
// compare-and-selects: there n + 127 = 0 makes the exponent bits those of 0, so everything below about
// 2^-126.5 (-inf included) comes out as 0.
template <int W> ATTNSCOPE_INLINE vf<W> exp2(vf<W> x) {
    const vf<W> lo = splat<W>(-127.f);
    const vf<W> xc = x > lo ? x : lo;
    const vf<W> magic = splat<W>(12582912.f); // 1.5 * 2^23: adding and subtracting it rounds to an integer
    const vf<W> n = (xc + magic) - magic;
    const vf<W> f = xc - n;
    vf<W> p = splat<W>(1.327645223e-03f);
    p = p * f + splat<W>(9.675541907e-03f);
    p = p * f + splat<W>(5.550713341e-02f);
    p = p * f + splat<W>(2.402211971e-01f);
    p = p * f + splat<W>(6.931469670e-01f);
    p = p * f + splat<W>(1.000000072e+00f);
    const vi<W> e = (__builtin_convertvector(n, vi<W>) + broadcast<vi<W>>(127)) << 23;
    return p * bits<vf<W>>(e);
}

// p in [0, 1] rounded to nearest-even fp16 (subnormals below 2^-14 to multiples of 2^-24) or bf16, kept in
// fp32.
template <int W> ATTNSCOPE_INLINE vf<W> round_p(vf<W> p, PRounding rounding) {
    const vu<W> b = bits<vu<W>>(p);
    if (rounding == PRounding::BFloat16) {
        return bits<vf<W>>((b + broadcast<vu<W>>(0x7fff) + ((b >> 16) & broadcast<vu<W>>(1))) &
                           broadcast<vu<W>>(0xffff0000u));
    }
    const vu<W> r =
        (b + broadcast<vu<W>>(0x0fff) + ((b >> 13) & broadcast<vu<W>>(1))) & broadcast<vu<W>>(~0x1fffu);
    const vf<W> subnormal = (p + splat<W>(0.75f)) - splat<W>(0.75f); // 0.75's ulp is 2^-24
    return p < splat<W>(6.103515625e-05f) ? subnormal : bits<vf<W>>(r);
}

struct Task {
    int64_t row, first; // the row and its first query
    int count;          // queries, 1..kQueryBlock
};

// s (kQueryBlock x keys_padded) = each query's scores times log2(e), -inf past seq_k, and each row's largest.
// kQ queries by kKeyTile keys at a time, eight vectors of accumulators: each load of K^T serves kQ queries,
// whose components are first laid out column by column in qt (head_dim x kQueryBlock), so that each
// broadcast reads a fixed offset. A short block repeats its last query rather than read past it.
template <int W>
ATTNSCOPE_INLINE void scores(const CpuAttentionArgs& a, const Task& t, float* s, float* row_max, float* qt) {
    constexpr int kVecs = kKeyTile / W, kQ = 8 / kVecs;
    static_assert(kKeyTile % W == 0 && kQueryBlock % kQ == 0);
    const int64_t kp = a.keys_padded, seq_k = a.seq_k;
    const int d = a.head_dim;
    const float* kt = a.kt + t.row * d * kp;
    const float* k_steps = a.k_steps ? a.k_steps + t.row * kp : nullptr;
    const vf<W> scale = splat<W>(a.scale * kLog2e);
    const vf<W> lane = lane_index<W>();
    const int64_t at = t.row * a.seq_q + t.first;
    const int last = t.count - 1;
    for (int i = 0; i < kQueryBlock; ++i) {
        const float* q = a.q + (at + std::min(i, last)) * d;
        for (int c = 0; c < d; ++c) qt[c * kQueryBlock + i] = q[c];
    }
    for (int i0 = 0; i0 < t.count; i0 += kQ) {
        vf<W> m[kQ];
        float q_step[kQ];
#pragma GCC unroll 8
        for (int r = 0; r < kQ; ++r) {
            m[r] = splat<W>(-INFINITY);
            q_step[r] = a.q_steps ? a.q_steps[at + std::min(i0 + r, last)] : 1.f;
        }
        for (int64_t j0 = 0; j0 < kp; j0 += kKeyTile) {
            vf<W> acc[kQ][kVecs] = {};
            for (int c = 0; c < d; ++c) {
                vf<W> kc[kVecs];
#pragma GCC unroll 2
                for (int h = 0; h < kVecs; ++h) kc[h] = load<W>(kt + c * kp + j0 + W * h);
#pragma GCC unroll 8
                for (int r = 0; r < kQ; ++r) {
                    const vf<W> b = splat<W>(qt[c * kQueryBlock + i0 + r]);
#pragma GCC unroll 2
                    for (int h = 0; h < kVecs; ++h) acc[r][h] += b * kc[h];
                }
            }
#pragma GCC unroll 2
            for (int h = 0; h < kVecs; ++h) {
                const int64_t j = j0 + W * h;
                // The int8 kernel: its exact integer dot times (step_q * step_k), then the softmax's scale.
                const vf<W> k_step = k_steps ? load<W>(k_steps + j) : splat<W>(1.f);
                const auto inside = lane + static_cast<float>(j) < static_cast<float>(seq_k);
#pragma GCC unroll 8
                for (int r = 0; r < kQ; ++r) {
                    const vf<W> dot = k_steps ? acc[r][h] * (q_step[r] * k_step) : acc[r][h];
                    const vf<W> x = inside ? dot * scale : splat<W>(-INFINITY);
                    m[r] = x > m[r] ? x : m[r];
                    store<W>(s + (i0 + r) * kp + j, x);
                }
            }
        }
        for (int r = 0; r < kQ && i0 + r < t.count; ++r) row_max[i0 + r] = lane_max<W>(m[r]);
    }
}

// Each row of s becomes 2^(s - max) (rounded as P.V takes it); the unrounded sum goes to row_sum.
template <int W>
ATTNSCOPE_INLINE void exponentiate(const CpuAttentionArgs& a, const Task& t, float* s, const float* row_max,
                                   float* row_sum) {
    const int64_t kp = a.keys_padded;
    const PRounding rounding = a.p_rounding;
    for (int i = 0; i < t.count; ++i) {
        float* si = s + i * kp;
        const vf<W> m = splat<W>(row_max[i]);
        vf<W> sum = splat<W>(0.f);
        for (int64_t j = 0; j < kp; j += W) {
            const vf<W> p = exp2<W>(load<W>(si + j) - m);
            sum += p;
            store<W>(si + j, rounding == PRounding::None ? p : round_p<W>(p, rounding));
        }
        row_sum[i] = lane_sum<W>(sum);
    }
}

// Head dims up to 8 (V transposed): o_ic = sum_j p_ij vt_cj, W keys a lane, kRows queries sharing each
// load of V^T (as many as the accumulators leave registers for).
template <int W, int kDim>
ATTNSCOPE_INLINE void pv_transposed(const CpuAttentionArgs& a, const Task& t, const float* s,
                                    const float* row_sum) {
    constexpr int kRows = kDim <= 4 ? 4 : 2;
    const int64_t kp = a.keys_padded;
    const float* vt = a.v + t.row * kDim * kp;
    for (int i0 = 0; i0 < t.count; i0 += kRows) {
        const float* p[kRows];
        for (int r = 0; r < kRows; ++r) p[r] = s + std::min(i0 + r, t.count - 1) * kp;
        vf<W> acc[kRows][kDim] = {};
        for (int64_t j = 0; j < kp; j += W) {
            vf<W> x[kRows];
            for (int r = 0; r < kRows; ++r) x[r] = load<W>(p[r] + j);
            for (int c = 0; c < kDim; ++c) {
                const vf<W> vc = load<W>(vt + c * kp + j);
                for (int r = 0; r < kRows; ++r) acc[r][c] += x[r] * vc;
            }
        }
        for (int r = 0; r < kRows && i0 + r < t.count; ++r) {
            float* o = a.o + (t.row * a.seq_q + t.first + i0 + r) * kDim;
            for (int c = 0; c < kDim; ++c) o[c] = lane_sum<W>(acc[r][c]) / row_sum[i0 + r];
        }
    }
}

// pv_transposed for the call's head dim, 1..kDim, chosen at compile time.
template <int W, int kDim = kSmallHeadDim>
ATTNSCOPE_INLINE void pv_small(const CpuAttentionArgs& a, const Task& t, const float* s,
                               const float* row_sum) {
    if constexpr (kDim > 1) {
        if (a.head_dim < kDim) return pv_small<W, kDim - 1>(a, t, s, row_sum);
    }
    pv_transposed<W, kDim>(a, t, s, row_sum);
}

// Wider heads (V as it is, padded to whole vectors of eight, kDimTile): o = (P V) / sum for kVectors x 8
// columns from c0, four queries at a time, each p_ij broadcast over the columns. Eight lanes in every build:
// V's rows are padded for them.
template <int kVectors>
ATTNSCOPE_INLINE void pv_columns(const CpuAttentionArgs& a, const Task& t, const float* s,
                                 const float* row_sum, int c0) {
    const int64_t kp = a.keys_padded, dp = a.dim_padded, seq_k = a.seq_k;
    const float* v = a.v + t.row * seq_k * dp + c0;
    for (int i0 = 0; i0 < t.count; i0 += 4) {
        const int last = t.count - 1;
        const float* p0 = s + std::min(i0, last) * kp;
        const float* p1 = s + std::min(i0 + 1, last) * kp;
        const float* p2 = s + std::min(i0 + 2, last) * kp;
        const float* p3 = s + std::min(i0 + 3, last) * kp;
        v8f acc[4][kVectors] = {};
        for (int64_t j = 0; j < seq_k; ++j) {
            const v8f b0 = splat<8>(p0[j]), b1 = splat<8>(p1[j]), b2 = splat<8>(p2[j]), b3 = splat<8>(p3[j]);
            for (int h = 0; h < kVectors; ++h) {
                const v8f vj = load<8>(v + j * dp + 8 * h);
                acc[0][h] += b0 * vj;
                acc[1][h] += b1 * vj;
                acc[2][h] += b2 * vj;
                acc[3][h] += b3 * vj;
            }
        }
        for (int r = 0; r < 4 && i0 + r < t.count; ++r) {
            float* o = a.o + (t.row * a.seq_q + t.first + i0 + r) * a.head_dim;
            const v8f inv = splat<8>(1.f / row_sum[i0 + r]);
            for (int h = 0; h < kVectors; ++h) {
                const v8f x = acc[r][h] * inv;
                for (int c = 0; c < 8 && c0 + 8 * h + c < a.head_dim; ++c) o[c0 + 8 * h + c] = x[c];
            }
        }
    }
}

// `a` by value: a local copy that no store through the float pointers can change, so its fields stay in
// registers (the vector stores may alias anything).
template <int W>
ATTNSCOPE_INLINE void run_tasks(const CpuAttentionArgs a, int64_t first, int64_t last, float* scratch) {
    const int64_t blocks = (a.seq_q + kQueryBlock - 1) / kQueryBlock;
    float* s = scratch;
    float* row_max = s + kQueryBlock * a.keys_padded;
    float* row_sum = row_max + kQueryBlock;
    float* qt = row_sum + kQueryBlock;
    for (int64_t n = first; n < last; ++n) {
        Task t;
        t.row = n / blocks;
        t.first = (n % blocks) * kQueryBlock;
        t.count = static_cast<int>(std::min<int64_t>(kQueryBlock, a.seq_q - t.first));
        scores<W>(a, t, s, row_max, qt);
        exponentiate<W>(a, t, s, row_max, row_sum);
        if (a.head_dim <= kSmallHeadDim) {
            pv_small<W>(a, t, s, row_sum);
        } else {
            int c0 = 0;
            for (; c0 + 16 <= a.dim_padded; c0 += 16) pv_columns<2>(a, t, s, row_sum, c0);
            if (c0 < a.dim_padded) pv_columns<1>(a, t, s, row_sum, c0);
        }
        for (int i = 0; i < t.count; ++i) {
            const int64_t at = t.row * a.seq_q + t.first + i;
            const double lse = (row_max[i] + std::log2(static_cast<double>(row_sum[i]))) / kLog2e;
            a.lse[at] = static_cast<float>(a.q_offset ? lse + a.q_offset[at] : lse);
        }
    }
}

__attribute__((target("avx512f,avx512dq,avx2,fma"))) void run_avx512(const CpuAttentionArgs& a, int64_t first,
                                                                     int64_t last, float* scratch) {
    run_tasks<16>(a, first, last, scratch);
}

__attribute__((target("avx2,fma"))) void run_avx2(const CpuAttentionArgs& a, int64_t first, int64_t last,
                                                  float* scratch) {
    run_tasks<8>(a, first, last, scratch);
}

void run_baseline(const CpuAttentionArgs& a, int64_t first, int64_t last, float* scratch) {
    run_tasks<8>(a, first, last, scratch);
}

bool has_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}

bool has_avx512() {
    static const bool yes =
        has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    return yes;
}

} // namespace

int64_t cpu_attention_tasks(const CpuAttentionArgs& a) {
    return a.rows * ((a.seq_q + kQueryBlock - 1) / kQueryBlock);
}

// The rows of scores are read and written a whole vector at a time: at a 64-byte boundary (a cache line),
// an AVX-512 access touches one line instead of two. malloc aligns to 16 bytes.
constexpr int kScratchAlign = 16; // floats

int64_t cpu_attention_scratch_floats(const CpuAttentionArgs& a) {
    return kQueryBlock * (a.keys_padded + 2 + a.head_dim) + kScratchAlign - 1;
}

void cpu_attention_run(const CpuAttentionArgs& a, int64_t first, int64_t last, float* scratch, CpuIsa isa) {
    const auto at = reinterpret_cast<std::uintptr_t>(scratch);
    scratch += (-at / sizeof(float)) % kScratchAlign;
    if (isa == CpuIsa::Best && has_avx512())
        run_avx512(a, first, last, scratch);
    else if (isa != CpuIsa::Baseline && has_avx2())
        run_avx2(a, first, last, scratch);
    else
        run_baseline(a, first, last, scratch);
}

bool cpu_attention_runs_avx512() {
    return has_avx512();
}

const char* cpu_attention_isa() {
    return has_avx512() ? "avx512" : has_avx2() ? "avx2+fma" : "x86-64 baseline";
}

} // namespace attnscope::cpu
