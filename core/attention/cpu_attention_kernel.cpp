#include "cpu_attention_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace attnscope::cpu {
namespace {

// Eight lanes: one AVX register, or two SSE registers in the baseline build. Only always-inline functions
// touch them, so every use is compiled into one of the two entry points below, for its instruction set.
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef float v8f_mem __attribute__((vector_size(32), aligned(4), may_alias));

#define ATTNSCOPE_INLINE inline __attribute__((always_inline))

constexpr float kLog2e = 1.4426950408889634f;

template <typename To, typename From> ATTNSCOPE_INLINE To bits(const From& x) {
    static_assert(sizeof(To) == sizeof(From));
    To r;
    std::memcpy(&r, &x, sizeof r);
    return r;
}

ATTNSCOPE_INLINE v8f load(const float* p) {
    return *reinterpret_cast<const v8f_mem*>(p);
}
ATTNSCOPE_INLINE void store(float* p, v8f x) {
    *reinterpret_cast<v8f_mem*>(p) = x;
}
// A scalar operand of a vector operation is broadcast: one vbroadcastss. (Eight copies in an initializer
// list become a chain of inserts; x + 0 a scalar addition first, as -0 + 0 is +0, while x - 0 is x.)
ATTNSCOPE_INLINE v8f splat(float x) {
    return x - v8f{};
}
ATTNSCOPE_INLINE v8u splat_u(uint32_t x) {
    return x - v8u{};
}
ATTNSCOPE_INLINE float lane_max(v8f x) {
    float m = x[0];
    for (int i = 1; i < 8; ++i) m = m > x[i] ? m : x[i];
    return m;
}
ATTNSCOPE_INLINE float lane_sum(v8f x) {
    return ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
}

// 2^x: x = n + f with n an integer and |f| <= 1/2, 2^f by a degree-5 polynomial fitted (iteratively
// reweighted least squares) for relative error on [-1/2, 1/2]: below 3e-7 in fp32 arithmetic, a few ulps;
// 2^n put straight into the exponent bits. x is raised to -127 first, one max instead of two
// compare-and-selects: there n + 127 = 0 makes the exponent bits those of 0, so everything below about
// 2^-126.5 (-inf included) comes out as 0.
ATTNSCOPE_INLINE v8f exp2(v8f x) {
    const v8f lo = splat(-127.f);
    const v8f xc = x > lo ? x : lo;
    const v8f magic = splat(12582912.f); // 1.5 * 2^23: adding and subtracting it rounds to an integer
    const v8f n = (xc + magic) - magic;
    const v8f f = xc - n;
    v8f p = splat(1.327645223e-03f);
    p = p * f + splat(9.675541907e-03f);
    p = p * f + splat(5.550713341e-02f);
    p = p * f + splat(2.402211971e-01f);
    p = p * f + splat(6.931469670e-01f);
    p = p * f + splat(1.000000072e+00f);
    const v8i e = (__builtin_convertvector(n, v8i) + v8i{127, 127, 127, 127, 127, 127, 127, 127}) << 23;
    return p * bits<v8f>(e);
}

// p in [0, 1] rounded to nearest-even fp16 (subnormals below 2^-14 to multiples of 2^-24) or bf16, kept in
// fp32.
ATTNSCOPE_INLINE v8f round_p(v8f p, PRounding rounding) {
    const v8u b = bits<v8u>(p);
    if (rounding == PRounding::BFloat16) {
        return bits<v8f>((b + splat_u(0x7fff) + ((b >> 16) & splat_u(1))) & splat_u(0xffff0000u));
    }
    const v8u r = (b + splat_u(0x0fff) + ((b >> 13) & splat_u(1))) & splat_u(~0x1fffu);
    const v8f subnormal = (p + splat(0.75f)) - splat(0.75f); // 0.75's ulp is 2^-24
    return p < splat(6.103515625e-05f) ? subnormal : bits<v8f>(r);
}

struct Task {
    int64_t row, first; // the row and its first query
    int count;          // queries, 1..kQueryBlock
};

// s (kQueryBlock x keys_padded) = each query's scores times log2(e), -inf past seq_k, and each row's largest.
// Four queries by kKeyTile keys at a time: each load of K^T serves four queries. A short block repeats its
// last query rather than read past it.
ATTNSCOPE_INLINE void scores(const CpuAttentionArgs& a, const Task& t, float* s, float* row_max) {
    const int64_t kp = a.keys_padded, seq_k = a.seq_k;
    const int d = a.head_dim;
    const float* kt = a.kt + t.row * d * kp;
    const float* k_steps = a.k_steps ? a.k_steps + t.row * kp : nullptr;
    const v8f scale = splat(a.scale * kLog2e);
    const v8f lane = v8f{0, 1, 2, 3, 4, 5, 6, 7};
    for (int i0 = 0; i0 < t.count; i0 += 4) {
        const int64_t at = t.row * a.seq_q + t.first;
        const int last = t.count - 1;
        const float* q0 = a.q + (at + std::min(i0, last)) * d;
        const float* q1 = a.q + (at + std::min(i0 + 1, last)) * d;
        const float* q2 = a.q + (at + std::min(i0 + 2, last)) * d;
        const float* q3 = a.q + (at + std::min(i0 + 3, last)) * d;
        v8f q_step[4];
        for (int r = 0; r < 4; ++r)
            q_step[r] = splat(a.q_steps ? a.q_steps[at + std::min(i0 + r, last)] : 1.f);
        v8f m[4] = {splat(-INFINITY), splat(-INFINITY), splat(-INFINITY), splat(-INFINITY)};
        for (int64_t j0 = 0; j0 < kp; j0 += kKeyTile) {
            v8f acc[4][2] = {};
            for (int c = 0; c < d; ++c) {
                const v8f k0 = load(kt + c * kp + j0), k1 = load(kt + c * kp + j0 + 8);
                const v8f b0 = splat(q0[c]), b1 = splat(q1[c]), b2 = splat(q2[c]), b3 = splat(q3[c]);
                acc[0][0] += b0 * k0;
                acc[0][1] += b0 * k1;
                acc[1][0] += b1 * k0;
                acc[1][1] += b1 * k1;
                acc[2][0] += b2 * k0;
                acc[2][1] += b2 * k1;
                acc[3][0] += b3 * k0;
                acc[3][1] += b3 * k1;
            }
            for (int h = 0; h < 2; ++h) {
                const int64_t j = j0 + 8 * h;
                // The int8 kernel: its exact integer dot times (step_q * step_k), then the softmax's scale.
                const v8f k_step = k_steps ? load(k_steps + j) : splat(1.f);
                const auto inside = lane + static_cast<float>(j) < static_cast<float>(seq_k);
                for (int r = 0; r < 4; ++r) {
                    const v8f dot = k_steps ? acc[r][h] * (q_step[r] * k_step) : acc[r][h];
                    const v8f x = inside ? dot * scale : splat(-INFINITY);
                    m[r] = x > m[r] ? x : m[r];
                    store(s + (i0 + r) * kp + j, x);
                }
            }
        }
        for (int r = 0; r < 4 && i0 + r < t.count; ++r) row_max[i0 + r] = lane_max(m[r]);
    }
}

// Each row of s becomes 2^(s - max) (rounded as P.V takes it); the unrounded sum goes to row_sum.
ATTNSCOPE_INLINE void exponentiate(const CpuAttentionArgs& a, const Task& t, float* s, const float* row_max,
                                   float* row_sum) {
    const int64_t kp = a.keys_padded;
    const PRounding rounding = a.p_rounding;
    for (int i = 0; i < t.count; ++i) {
        float* si = s + i * kp;
        const v8f m = splat(row_max[i]);
        v8f sum = splat(0.f);
        for (int64_t j = 0; j < kp; j += 8) {
            const v8f p = exp2(load(si + j) - m);
            sum += p;
            store(si + j, rounding == PRounding::None ? p : round_p(p, rounding));
        }
        row_sum[i] = lane_sum(sum);
    }
}

// Head dims up to 8 (V transposed): o_ic = sum_j p_ij vt_cj, eight keys a lane, kRows queries sharing each
// load of V^T (as many as the accumulators leave registers for).
template <int kDim>
ATTNSCOPE_INLINE void pv_transposed(const CpuAttentionArgs& a, const Task& t, const float* s,
                                    const float* row_sum) {
    constexpr int kRows = kDim <= 4 ? 4 : 2;
    const int64_t kp = a.keys_padded;
    const float* vt = a.v + t.row * kDim * kp;
    for (int i0 = 0; i0 < t.count; i0 += kRows) {
        const float* p[kRows];
        for (int r = 0; r < kRows; ++r) p[r] = s + std::min(i0 + r, t.count - 1) * kp;
        v8f acc[kRows][kDim] = {};
        for (int64_t j = 0; j < kp; j += 8) {
            v8f x[kRows];
            for (int r = 0; r < kRows; ++r) x[r] = load(p[r] + j);
            for (int c = 0; c < kDim; ++c) {
                const v8f vc = load(vt + c * kp + j);
                for (int r = 0; r < kRows; ++r) acc[r][c] += x[r] * vc;
            }
        }
        for (int r = 0; r < kRows && i0 + r < t.count; ++r) {
            float* o = a.o + (t.row * a.seq_q + t.first + i0 + r) * kDim;
            for (int c = 0; c < kDim; ++c) o[c] = lane_sum(acc[r][c]) / row_sum[i0 + r];
        }
    }
}

// pv_transposed for the call's head dim, 1..kDim, chosen at compile time.
template <int kDim = kSmallHeadDim>
ATTNSCOPE_INLINE void pv_small(const CpuAttentionArgs& a, const Task& t, const float* s,
                               const float* row_sum) {
    if constexpr (kDim > 1) {
        if (a.head_dim < kDim) return pv_small<kDim - 1>(a, t, s, row_sum);
    }
    pv_transposed<kDim>(a, t, s, row_sum);
}

// Wider heads (V as it is, padded to whole vectors): o = (P V) / sum for kVectors x 8 columns from c0, four
// queries at a time, each p_ij broadcast over the columns.
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
            const v8f b0 = splat(p0[j]), b1 = splat(p1[j]), b2 = splat(p2[j]), b3 = splat(p3[j]);
            for (int h = 0; h < kVectors; ++h) {
                const v8f vj = load(v + j * dp + 8 * h);
                acc[0][h] += b0 * vj;
                acc[1][h] += b1 * vj;
                acc[2][h] += b2 * vj;
                acc[3][h] += b3 * vj;
            }
        }
        for (int r = 0; r < 4 && i0 + r < t.count; ++r) {
            float* o = a.o + (t.row * a.seq_q + t.first + i0 + r) * a.head_dim;
            const v8f inv = splat(1.f / row_sum[i0 + r]);
            for (int h = 0; h < kVectors; ++h) {
                const v8f x = acc[r][h] * inv;
                for (int c = 0; c < 8 && c0 + 8 * h + c < a.head_dim; ++c) o[c0 + 8 * h + c] = x[c];
            }
        }
    }
}

// `a` by value: a local copy that no store through the float pointers can change, so its fields stay in
// registers (the vector stores may alias anything).
ATTNSCOPE_INLINE void run_tasks(const CpuAttentionArgs a, int64_t first, int64_t last, float* scratch) {
    const int64_t blocks = (a.seq_q + kQueryBlock - 1) / kQueryBlock;
    float* s = scratch;
    float* row_max = s + kQueryBlock * a.keys_padded;
    float* row_sum = row_max + kQueryBlock;
    for (int64_t n = first; n < last; ++n) {
        Task t;
        t.row = n / blocks;
        t.first = (n % blocks) * kQueryBlock;
        t.count = static_cast<int>(std::min<int64_t>(kQueryBlock, a.seq_q - t.first));
        scores(a, t, s, row_max);
        exponentiate(a, t, s, row_max, row_sum);
        if (a.head_dim <= kSmallHeadDim) {
            pv_small(a, t, s, row_sum);
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

__attribute__((target("avx2,fma"))) void run_avx2(const CpuAttentionArgs& a, int64_t first, int64_t last,
                                                  float* scratch) {
    run_tasks(a, first, last, scratch);
}

void run_baseline(const CpuAttentionArgs& a, int64_t first, int64_t last, float* scratch) {
    run_tasks(a, first, last, scratch);
}

bool has_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}

} // namespace

int64_t cpu_attention_tasks(const CpuAttentionArgs& a) {
    return a.rows * ((a.seq_q + kQueryBlock - 1) / kQueryBlock);
}

int64_t cpu_attention_scratch_floats(const CpuAttentionArgs& a) {
    return kQueryBlock * a.keys_padded + 2 * kQueryBlock;
}

void cpu_attention_run(const CpuAttentionArgs& a, int64_t first, int64_t last, float* scratch, CpuIsa isa) {
    if (isa == CpuIsa::Best && has_avx2())
        run_avx2(a, first, last, scratch);
    else
        run_baseline(a, first, last, scratch);
}

const char* cpu_attention_isa() {
    return has_avx2() ? "avx2+fma" : "x86-64 baseline";
}

} // namespace attnscope::cpu
