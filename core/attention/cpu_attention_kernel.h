#pragma once
// Our fused attention kernel for the CPU: softmax(scale Q K^T) V and each row's log-sum-exp, computed a block
// of queries at a time against every key, so that P only ever exists as one block in cache (the math backend
// materializes all of it: 0.5 GB a call at a 64x64 site with 8 heads, faulted in afresh each time). fp32
// throughout, in explicit SIMD (GCC vector extensions) built three times: 16 lanes for AVX-512 and 8 for AVX2
// with FMA, the best the processor has chosen at run time, and 8 for the x86-64 baseline. No LibTorch:
// cpu_attention.h feeds it tensors.
//
// The same kernel computes our int8 kernel's scores (kernels/int8_attention.cu) when given its quantized Q
// and K (core/attention/int8_quantization.h), so quantization error can be seen without a GPU.
#include <cstdint>

namespace attnscope::cpu {

inline constexpr int kKeyTile = 16;     // keys per micro-tile; K's transposed rows are padded to a multiple
inline constexpr int kDimTile = 8;      // V's rows are padded to a multiple of this many columns
inline constexpr int kQueryBlock = 16;  // queries per task
inline constexpr int kSmallHeadDim = 8; // up to this head dim V comes transposed

// What P is rounded to before P.V: the GPU kernels multiply P in their storage type.
enum class PRounding { None, Half, BFloat16 };

struct CpuAttentionArgs {
    // All fp32 and contiguous. q: (rows, seq_q, head_dim). kt: (rows, head_dim, keys_padded), K transposed,
    // zero from seq_k on. v: up to kSmallHeadDim (rows,
    // head_dim, keys_padded), V transposed, zero from seq_k on; else (rows, seq_k, dim_padded), zero from
    // head_dim on. o: (rows, seq_q, head_dim). lse: (rows, seq_q), ln sum_j exp(score_ij).
    const float* q = nullptr;
    const float* kt = nullptr;
    const float* v = nullptr;
    float* o = nullptr;
    float* lse = nullptr;
    int64_t rows = 0, seq_q = 0, seq_k = 0, keys_padded = 0;
    int head_dim = 0, dim_padded = 0;
    float scale = 1;
    // Quantized scores when set: q and kt hold int8 values, score_ij = (q8_i.k8_j * (q_step_i * k_step_j))
    // * scale as the int8 kernel computes it, and lse_i gets q_offset_i back (what smoothing K took away).
    const float* q_steps = nullptr;  // (rows, seq_q): each query's block step
    const float* k_steps = nullptr;  // (rows, keys_padded): each key's block step
    const float* q_offset = nullptr; // (rows, seq_q)
    PRounding p_rounding = PRounding::None;
};

// Tasks are a block of up to kQueryBlock queries of one row each, independent of each other.
int64_t cpu_attention_tasks(const CpuAttentionArgs& a);
// Floats of scratch one thread needs to run tasks.
int64_t cpu_attention_scratch_floats(const CpuAttentionArgs& a);
// The kernel's builds: the best this processor runs (AVX-512 where it has AVX-512F and DQ, else AVX2 with FMA
// where it has them), at most AVX2 with FMA, or the x86-64 baseline's (SSE2), which every x86-64 processor
// runs. A build the processor lacks falls to the next one down.
enum class CpuIsa { Best, Avx2, Baseline };

// Runs tasks [first, last) with `scratch` (cpu_attention_scratch_floats floats, this thread's own).
void cpu_attention_run(const CpuAttentionArgs& a, int64_t first, int64_t last, float* scratch,
                       CpuIsa isa = CpuIsa::Best);
// Whether CpuIsa::Best is the AVX-512 build here.
bool cpu_attention_runs_avx512();
// Which build CpuIsa::Best is here: "avx512", "avx2+fma" or "x86-64 baseline".
const char* cpu_attention_isa();

} // namespace attnscope::cpu
