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
// Why automatic choice takes our kernel over math on the CPU for `r`, or empty where math is the faster:
// head dims up to 16 in every build (2.3-6.6x math at the tiny model's 4-8 with AVX2, more with AVX-512),
// and every head dim in the AVX-512 build (1.1-1.6x math at SD v1's 40-160, where the AVX2 build only about
// matches OpenBLAS's matrix products: 0.9-1.4x). Measured on 2 cores, docs/benchmarks.md.
std::string cpu_attention_preferred_because(const AttentionRequest& r);
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
