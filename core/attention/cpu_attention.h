#pragma once
// Our CPU kernel (cpu_attention_kernel.h) as the flash and int8 backends compute on CPU tensors: the
// layouts it takes made once a call, the int8 kernel's operands from int8_quantization.h, the tasks spread
// over LibTorch's threads.
#include "backend.h"
#include "cpu_attention_kernel.h"

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
// One call's operands in the layouts the kernel takes, and its outputs: `args` points into the tensors this
// object holds, so it must outlive every run of them. out (rows, Sq, d) and lse (rows, Sq) are fp32 and
// unwritten until the kernel runs.
class CpuAttentionCall {
  public:
    CpuAttentionCall(const AttentionRequest& r, CpuScores scores);
    CpuAttentionCall(const CpuAttentionCall&) = delete;
    CpuAttentionCall& operator=(const CpuAttentionCall&) = delete;

    cpu::CpuAttentionArgs args;
    at::Tensor out, lse;

  private:
    at::Tensor q_, kt_, v_, q_steps_, k_steps_, q_offset_;
};

// O in r.q's dtype and the LSE (fp32), the kernel's tasks spread over LibTorch's threads. bf16 inputs are
// computed in fp32.
AttentionResult cpu_attention(const AttentionRequest& r, CpuScores scores);

} // namespace attnscope
