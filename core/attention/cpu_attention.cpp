#include "cpu_attention.h"

#include "int8_quantization.h"

#include <ATen/Parallel.h>
#include <vector>

namespace attnscope {
namespace {

int64_t round_up(int64_t n, int64_t m) {
    return (n + m - 1) / m * m;
}

} // namespace

std::string cpu_attention_unsupported_reason(const AttentionRequest& r) {
    if (!r.q.is_cpu()) return "needs a CPU tensor (got " + r.q.device().str() + ")";
    if (r.q.scalar_type() == at::kHalf) return "fp16 is not computed on the CPU (f32 and bf16 are)";
    if (r.q.scalar_type() == at::kDouble) return "computes in fp32; fp64 runs take math, the exact reference";
    if (r.q.scalar_type() != at::kFloat && r.q.scalar_type() != at::kBFloat16)
        return std::string("needs f32 or bf16 (got ") + c10::toString(r.q.scalar_type()) + ")";
    return request_shape_problem(r);
}

std::string cpu_attention_preferred_because(const AttentionRequest& r) {
    if (r.q.dim() != 4) return {};
    if (r.q.size(3) <= 16) return "on the CPU our kernel beats math at head dims up to 16";
    if (cpu::cpu_attention_runs_avx512())
        return "on the CPU our kernel's AVX-512 build beats math at every head dim";
    return {};
}

CpuAttentionCall::CpuAttentionCall(const AttentionRequest& r, CpuScores scores) {
    const int64_t rows = r.q.size(0) * r.q.size(1), sq = r.q.size(2), sk = r.k.size(2);
    const int d = static_cast<int>(r.q.size(3));
    const int64_t kp = round_up(sk, cpu::kKeyTile);
    const int dp = static_cast<int>(round_up(d, cpu::kDimTile));
    auto q = r.q.reshape({rows, sq, d}).to(at::kFloat).contiguous();
    auto k = r.k.reshape({rows, sk, d}).to(at::kFloat);
    const auto v = r.v.reshape({rows, sk, d}).to(at::kFloat);
    if (scores == CpuScores::Int8) {
        const auto quant = quantize_like_int8(q, k, r.scale);
        q = quant.q.values.to(at::kFloat).contiguous();
        k = quant.k.values.to(at::kFloat);
        q_steps_ = token_steps(quant.q).contiguous();
        k_steps_ = at::constant_pad_nd(token_steps(quant.k), {0, kp - sk}).contiguous();
        q_offset_ = quant.q_dot_mean.contiguous();
        args.q_steps = q_steps_.data_ptr<float>();
        args.k_steps = k_steps_.data_ptr<float>();
        args.q_offset = q_offset_.data_ptr<float>();
        args.p_rounding =
            r.q.scalar_type() == at::kBFloat16 ? cpu::PRounding::BFloat16 : cpu::PRounding::Half;
    }
    q_ = q;
    kt_ = at::constant_pad_nd(k.transpose(1, 2), {0, kp - sk}).contiguous();
    v_ = d <= cpu::kSmallHeadDim ? at::constant_pad_nd(v.transpose(1, 2), {0, kp - sk}).contiguous()
                                 : at::constant_pad_nd(v, {0, dp - d}).contiguous();
    out = at::empty({rows, sq, d}, q.options());
    lse = at::empty({rows, sq}, q.options());
    args.q = q_.data_ptr<float>();
    args.kt = kt_.data_ptr<float>();
    args.v = v_.data_ptr<float>();
    args.o = out.data_ptr<float>();
    args.lse = lse.data_ptr<float>();
    args.rows = rows;
    args.seq_q = sq;
    args.seq_k = sk;
    args.keys_padded = kp;
    args.head_dim = d;
    args.dim_padded = dp;
    args.scale = static_cast<float>(r.scale);
}

AttentionResult cpu_attention(const AttentionRequest& r, CpuScores scores) {
    const CpuAttentionCall call(r, scores);
    const auto& a = call.args;
    const int64_t scratch = cpu::cpu_attention_scratch_floats(a);
    at::parallel_for(0, cpu::cpu_attention_tasks(a), 1, [&](int64_t first, int64_t last) {
        std::vector<float> buffer(static_cast<std::size_t>(scratch));
        cpu::cpu_attention_run(a, first, last, buffer.data());
    });
    return {call.out.view(r.q.sizes()).to(r.q.scalar_type()),
            {},
            call.lse.view({r.q.size(0), r.q.size(1), r.q.size(2)})};
}

} // namespace attnscope
