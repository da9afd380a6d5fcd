#pragma once
// Our CPU kernel (cpu_attention_kernel.h) as the flash and int8 backends compute on CPU tensors: the
// layouts it takes made once a call, the int8 kernel's operands from int8_quantization.h, the tasks spread
// over LibTorch's threads.
#include "backend.h"

#include <string>

namespace attnscope {

enum class CpuScores {
    Exact, // scale q.k in fp32
    Int8,  // our int8 kernel's: Q and smoothed K quantized per 64-token block, P rounded to fp16 (bf16 for
           // bf16 inputs) before P.V
};

// Why the CPU kernel cannot run `r` (not CPU tensors, fp16 or fp64, shapes), or empty.
std::string cpu_attention_unsupported_reason(const AttentionRequest& r);
// Whether automatic choice takes our kernel over math on the CPU: for head dims up to 16, where it is
// faster (1.5-2.8x at the tiny model's 4-8, 1.1x at 16); from 24 on OpenBLAS's matrix products win (SD's
// 40-160: math 1.3-1.8x faster). Measured on 2 cores, docs/benchmarks.md.
bool cpu_attention_preferred(const AttentionRequest& r);
// O in r.q's dtype and the LSE (fp32). bf16 inputs are computed in fp32.
AttentionResult cpu_attention(const AttentionRequest& r, CpuScores scores);

} // namespace attnscope
