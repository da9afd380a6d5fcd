#include "cpu_attention.h"

#include "cpu_attention_kernel.h"
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

bool cpu_attention_preferred(const AttentionRequest& r) {
    return r.q.dim() == 4 && r.q.size(3) <= 16;
}

AttentionResult cpu_attention(const AttentionRequest& r, CpuScores scores) {
    const int64_t rows = r.q.size(0) * r.q.size(1), sq = r.q.size(2), sk = r.k.size(2);
    const int d = static_cast<int>(r.q.size(3));
    const int64_t kp = round_up(sk, cpu::kKeyTile);
    const int dp = static_cast<int>(round_up(d, cpu::kDimTile));
    const auto q = r.q.reshape({rows, sq, d}).to(at::kFloat).contiguous();
    const auto k = r.k.reshape({rows, sk, d}).to(at::kFloat);
    const auto v = r.v.reshape({rows, sk, d}).to(at::kFloat);

    cpu::CpuAttentionArgs a;
    at::Tensor q_in = q, k_in = k, q_steps, k_steps, q_offset;
    if (scores == CpuScores::Int8) {
        const auto quant = quantize_like_int8(q, k, r.scale);
        q_in = quant.q.values.to(at::kFloat).contiguous();
        k_in = quant.k.values.to(at::kFloat);
        q_steps = token_steps(quant.q).contiguous();
        k_steps = at::constant_pad_nd(token_steps(quant.k), {0, kp - sk}).contiguous();
        q_offset = quant.q_dot_mean.contiguous();
        a.q_steps = q_steps.data_ptr<float>();
        a.k_steps = k_steps.data_ptr<float>();
        a.q_offset = q_offset.data_ptr<float>();
        a.p_rounding = r.q.scalar_type() == at::kBFloat16 ? cpu::PRounding::BFloat16 : cpu::PRounding::Half;
    }
    const auto kt = at::constant_pad_nd(k_in.transpose(1, 2), {0, kp - sk}).contiguous();
    const auto vp = d <= cpu::kSmallHeadDim
                        ? at::constant_pad_nd(v.transpose(1, 2), {0, kp - sk}).contiguous()
                        : at::constant_pad_nd(v, {0, dp - d}).contiguous();
    auto o = at::empty({rows, sq, d}, q.options());
    auto lse = at::empty({rows, sq}, q.options());
    a.q = q_in.data_ptr<float>();
    a.kt = kt.data_ptr<float>();
    a.v = vp.data_ptr<float>();
    a.o = o.data_ptr<float>();
    a.lse = lse.data_ptr<float>();
    a.rows = rows;
    a.seq_q = sq;
    a.seq_k = sk;
    a.keys_padded = kp;
    a.head_dim = d;
    a.dim_padded = dp;
    a.scale = static_cast<float>(r.scale);

    const int64_t scratch = cpu::cpu_attention_scratch_floats(a);
    at::parallel_for(0, cpu::cpu_attention_tasks(a), 1, [&](int64_t first, int64_t last) {
        std::vector<float> buffer(static_cast<std::size_t>(scratch));
        cpu::cpu_attention_run(a, first, last, buffer.data());
    });
    return {o.view(r.q.sizes()).to(r.q.scalar_type()), {}, lse.view({r.q.size(0), r.q.size(1), sq})};
}

} // namespace attnscope
