#include "int8_quantization.h"

#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

void check(const at::Tensor& q, const at::Tensor& k) {
    if (q.dim() != 3 || k.dim() != 3 || q.size(0) != k.size(0) || q.size(2) != k.size(2))
        throw std::invalid_argument(
            "int8 inspector: needs q (rows, Sq, d) and k (rows, Sk, d) of the same rows "
            "and head dim; got q " +
            std::string(c10::str(q.sizes())) + ", k " + c10::str(k.sizes()));
    if (!at::isFloatingType(q.scalar_type()) || !at::isFloatingType(k.scalar_type()))
        throw std::invalid_argument("int8 inspector: q and k must be floating point");
    if (q.size(1) < 1 || k.size(1) < 1 || q.size(2) < 1)
        throw std::invalid_argument("int8 inspector: q and k have no tokens");
}

// Divisions as tensor by tensor: ATen turns a division by a scalar into a multiplication by its reciprocal
// on CUDA, which rounds differently from the kernel's true division.
at::Tensor divide(const at::Tensor& a, double b) {
    return at::div(a, at::full_like(a, b));
}

Int8Operand quantize_blocks(const at::Tensor& x) { // (rows, S, d) fp32
    const int64_t rows = x.size(0), s = x.size(1), d = x.size(2);
    const int64_t blocks = (s + kInt8QuantBlock - 1) / kInt8QuantBlock;
    // Zero rows past the end change no block's max|x| and are dropped again below.
    const auto padded = at::constant_pad_nd(x, {0, 0, 0, blocks * kInt8QuantBlock - s})
                            .reshape({rows, blocks, kInt8QuantBlock * d});
    const auto amax = padded.abs().amax(-1);
    const auto steps = at::where(amax > 0, divide(amax, 127), at::ones_like(amax));
    const auto inverse = at::div(at::ones_like(steps), steps); // the kernel multiplies by 1 / step
    const auto q = at::round(padded * inverse.unsqueeze(-1));
    return {q.reshape({rows, blocks * kInt8QuantBlock, d}).narrow(1, 0, s).to(at::kChar), steps,
            (q.abs() == 127).sum(-1)};
}

} // namespace

Int8Quantization quantize_like_int8(const at::Tensor& q, const at::Tensor& k, double scale) {
    check(q, k);
    const auto qf = q.to(at::kFloat), kf = k.to(at::kFloat);
    Int8Quantization r;
    r.scale = static_cast<float>(scale);
    r.k_mean = divide(kf.sum(1), static_cast<double>(k.size(1)));
    r.q = quantize_blocks(qf);
    r.k = quantize_blocks(kf - r.k_mean.unsqueeze(1));
    r.q_dot_mean = at::matmul(qf, r.k_mean.unsqueeze(-1)).squeeze(-1) * r.scale;
    return r;
}

at::Tensor int8_scores(const Int8Quantization& quant, int64_t row, int64_t first, int64_t count) {
    // Integer dot products are exact in fp64 (and the kernel's int32 ones never overflow: 127^2 d << 2^31).
    const auto q8 = quant.q.values[row].narrow(0, first, count).to(at::kDouble);
    const auto dots = at::matmul(q8, quant.k.values[row].to(at::kDouble).t());
    // The kernel's fp32 arithmetic: step = step_q * step_k, then the int32 dot as float times it.
    const auto steps = token_steps(quant.q)[row].narrow(0, first, count).unsqueeze(1) *
                       token_steps(quant.k)[row].unsqueeze(0);
    const auto offset = quant.q_dot_mean[row].narrow(0, first, count).to(at::kDouble).unsqueeze(1);
    return (dots.to(at::kFloat) * steps).to(at::kDouble) * static_cast<double>(quant.scale) + offset;
}

at::Tensor token_steps(const Int8Operand& op) {
    return op.steps.repeat_interleave(kInt8QuantBlock, 1).narrow(1, 0, op.values.size(1));
}

} // namespace attnscope
