// The int8 kernel's quantization emulated in ATen (core/compare/quant_inspector.h): hand-made blocks give the
// steps, roundings and saturation counts worked out on paper; on random inputs every value is within half a
// step of what it stands for and every int8 score within the sum of its per-element bounds of the exact one;
// the inspection counts every score and measures P as float64 recomputation does. On CUDA, the emulated LSE
// is the int8 kernel's own.
#include "compare/quant_inspector.h"
#include "test_util.h"

#ifdef ATTNSCOPE_HAVE_CUDA
#include "attention/backend.h"
#endif

#include <cmath>
#include <cstdio>
#include <numeric>

namespace attnscope {
namespace {

// Half a step, and the rounding of x * (1 / step) in fp32 (at most 127 * 2^-23 steps each way twice).
constexpr double kHalfStep = 0.5 + 1e-4;

std::vector<int64_t> as_vector(const at::Tensor& t) {
    const auto c = t.to(at::kLong).contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(Int8Quantization, AKnownBlockMaxGivesAKnownStep) {
    // Q: 70 tokens, so two blocks: the first's largest |value| is 2.54 (step 0.02), the second is all zeros
    // (step 1, as the kernel sets it). K: a constant 5 per dim plus +-1 per token: smoothing takes the 5
    // away.
    auto q = at::zeros({1, 70, 8});
    q[0][10][3] = -2.54;
    q[0][20][0] = 1.0;
    auto k = at::full({1, 64, 8}, 5.0);
    k.narrow(1, 0, 32) += 1.0;
    k.narrow(1, 32, 32) -= 1.0;
    const auto r = quantize_like_int8(q, k, 0.5);
    ASSERT_EQ(r.q.steps.sizes(), (at::IntArrayRef{1, 2}));
    EXPECT_FLOAT_EQ(r.q.steps[0][0].item<float>(), 2.54f / 127.f);
    EXPECT_EQ(r.q.steps[0][1].item<float>(), 1.f);
    EXPECT_EQ(r.q.values[0][10][3].item<int8_t>(), -127);
    EXPECT_EQ(r.q.values[0][20][0].item<int8_t>(), 50); // 1 / 0.02
    EXPECT_EQ(r.q.values.sizes(), q.sizes());
    EXPECT_TRUE(at::allclose(r.k_mean, at::full({1, 8}, 5.0)));
    EXPECT_FLOAT_EQ(r.k.steps[0][0].item<float>(), 1.f / 127.f);
    EXPECT_TRUE(at::equal(r.k.values.narrow(1, 0, 32), at::full({1, 32, 8}, 127, at::kChar)));
    EXPECT_TRUE(at::equal(r.k.values.narrow(1, 32, 32), at::full({1, 32, 8}, -127, at::kChar)));
    // What smoothing took from each query's scores: scale q.mean.
    EXPECT_FLOAT_EQ(r.q_dot_mean[0][10].item<float>(), 0.5f * -2.54f * 5.f);
    EXPECT_EQ(r.scale, 0.5f);
}

TEST(Int8Quantization, RoundsHalfwayValuesToEven) {
    // max|x| = 127: a step of exactly 1, so x8 is x rounded, and halves go to the even neighbour as
    // __float2int_rn does.
    const auto q = at::tensor({127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49}).reshape({1, 8, 1});
    const auto r = quantize_like_int8(q, q, 1.0);
    EXPECT_EQ(as_vector(r.q.values.flatten()), (std::vector<int64_t>{127, 0, 2, 2, 0, -2, -2, 3}));
}

TEST(Int8Quantization, CountsTheValuesThatReach127) {
    auto q = at::rand({2, 128, 16}) * 0.9; // below 0.9 everywhere
    q[0][5][7] = 1.0;                      // row 0, block 0: the one value at the max
    q[0][70][1] = 1.0;                     // row 0, block 1: the max twice, with both signs
    q[0][71][2] = -1.0;
    q[1][3][3] = 2.0;    // row 1, block 0: one at 127, the rest below 57
    q[1][100][0] = -3.0; // row 1, block 1: one at -127
    const auto r = quantize_like_int8(q, q, 1.0);
    EXPECT_EQ(as_vector(r.q.saturated.flatten()), (std::vector<int64_t>{1, 2, 1, 1}));
    EXPECT_EQ(r.q.values[1][100][0].item<int8_t>(), -127);
}

TEST(Int8Quantization, EveryValueIsWithinHalfAStepOfItsOwn) {
    at::manual_seed(11);
    const auto q = at::randn({3, 200, 40}).to(at::kHalf), k = (at::randn({3, 77, 40}) + 2).to(at::kHalf);
    const auto r = quantize_like_int8(q, k, 1 / std::sqrt(40.0));
    const auto check = [](const Int8Operand& op, const at::Tensor& x, const char* what) {
        const auto steps =
            op.steps.repeat_interleave(kInt8QuantBlock, 1).narrow(1, 0, x.size(1)).unsqueeze(-1);
        const auto error = (op.values.to(at::kDouble) * steps.to(at::kDouble) - x.to(at::kDouble)).abs();
        EXPECT_TRUE((error <= steps.to(at::kDouble) * kHalfStep).all().item<bool>()) << what;
        EXPECT_LE(op.values.abs().max().item<int>(), 127) << what;
    };
    check(r.q, q, "Q");
    check(r.k, k.to(at::kFloat) - r.k_mean.unsqueeze(1), "smoothed K");
}

// |scale q.k - int8 score| <= scale sum_d (|q_d| e_k + |k'_d| e_q + e_q e_k), e = half a step, k' = k - mean:
// q.k' - (q + dq).(k' + dk) = -(q.dk + dq.k' + dq.dk), and the mean's share scale q.mean is added back
// exactly.
TEST(Int8Quantization, ScoresStayWithinTheSumOfTheElementBounds) {
    at::manual_seed(5);
    const auto q = at::randn({4, 150, 40}).to(at::kHalf), k = (at::randn({4, 77, 40}) * 2 + 1).to(at::kHalf);
    const double scale = 1 / std::sqrt(40.0);
    const auto r = quantize_like_int8(q, k, scale);
    const auto q64 = q.to(at::kDouble), k64 = k.to(at::kDouble);
    const auto smoothed = k64 - r.k_mean.to(at::kDouble).unsqueeze(1);
    for (int64_t row = 0; row < 4; ++row) {
        const auto eq =
            r.q.steps[row].repeat_interleave(kInt8QuantBlock).narrow(0, 0, 150).to(at::kDouble) * kHalfStep;
        const auto ek =
            r.k.steps[row].repeat_interleave(kInt8QuantBlock).narrow(0, 0, 77).to(at::kDouble) * kHalfStep;
        const auto bound = scale * (at::matmul(q64[row].abs().sum(1, true), ek.unsqueeze(0)) +
                                    at::matmul(eq.unsqueeze(1), smoothed[row].abs().sum(1).unsqueeze(0)) +
                                    40 * eq.unsqueeze(1) * ek.unsqueeze(0));
        const auto exact = at::matmul(q64[row], k64[row].t()) * scale;
        const auto error = (int8_scores(r, row, 0, 150) - exact).abs();
        EXPECT_TRUE((error <= bound + 1e-5).all().item<bool>())
            << "row " << row << ": worst excess " << (error - bound).max().item<double>();
        EXPECT_GT(error.max().item<double>(), 0.0) << "int8 is not exact";
        // A slice of queries is the same slice of the whole.
        EXPECT_TRUE(at::equal(int8_scores(r, row, 64, 20), int8_scores(r, row, 0, 150).narrow(0, 64, 20)));
    }
}

TEST(Int8Inspection, CountsEveryScoreAndMeasuresPAsFloat64Does) {
    at::manual_seed(7);
    const int64_t rows = 4, sq = 90, sk = 77;
    const auto q = at::randn({rows, sq, 16}), k = at::randn({rows, sk, 16});
    const double scale = 0.25;
    const auto r = inspect_int8(q, k, scale, 50);

    std::vector<at::Tensor> exact, int8;
    for (int64_t row = 0; row < rows; ++row) {
        exact.push_back(at::matmul(q[row].to(at::kDouble), k[row].to(at::kDouble).t()) * scale);
        int8.push_back(int8_scores(r.quant, row, 0, sq));
    }
    const auto s = at::stack(exact), s8 = at::stack(int8);
    const auto& h = r.histogram;
    ASSERT_EQ(h.exact.size(), 50u);
    ASSERT_EQ(h.quantized.size(), 50u);
    EXPECT_DOUBLE_EQ(h.lo, std::min(s.min().item<double>(), s8.min().item<double>()));
    EXPECT_DOUBLE_EQ(h.hi, std::max(s.max().item<double>(), s8.max().item<double>()));
    EXPECT_EQ(std::accumulate(h.exact.begin(), h.exact.end(), int64_t{0}), rows * sq * sk);
    EXPECT_EQ(std::accumulate(h.quantized.begin(), h.quantized.end(), int64_t{0}), rows * sq * sk);
    // A bin away from the edges, counted by hand.
    const double lo = h.edge(20), hi = h.edge(21);
    EXPECT_EQ(h.exact[20], ((s >= lo) & (s < hi)).sum().item<int64_t>());
    EXPECT_EQ(h.quantized[20], ((s8 >= lo) & (s8 < hi)).sum().item<int64_t>());

    const auto lse = at::logsumexp(s, 2), lse8 = at::logsumexp(s8, 2);
    EXPECT_LT((r.lse_exact - lse).abs().max().item<double>(), 1e-12);
    EXPECT_LT((r.lse_int8 - lse8).abs().max().item<double>(), 1e-12);
    const auto error = (at::exp(s8 - lse8.unsqueeze(2)) - at::exp(s - lse.unsqueeze(2))).abs();
    EXPECT_NEAR(r.p_error.max_abs, error.max().item<double>(), 1e-12);
    EXPECT_NEAR(r.p_error.mean_abs, error.mean().item<double>(), 1e-12);
    EXPECT_NEAR(r.score_error.max_abs, (s8 - s).abs().max().item<double>(), 1e-12);
    EXPECT_NEAR(r.lse_error.mean_abs, (lse8 - lse).abs().mean().item<double>(), 1e-12);
    ASSERT_EQ(r.p_error_by_row.size(), static_cast<std::size_t>(rows));
    for (int64_t row = 0; row < rows; ++row) {
        EXPECT_NEAR(r.p_error_by_row[row].max_abs, error[row].max().item<double>(), 1e-12);
        EXPECT_NEAR(r.p_error_by_row[row].mean_abs, error[row].mean().item<double>(), 1e-12);
    }
    ASSERT_EQ(r.p_error_by_key.size(), static_cast<std::size_t>(sk));
    for (const int64_t j : {0, 40, 76}) {
        EXPECT_NEAR(r.p_error_by_key[j].max_abs, error.select(2, j).max().item<double>(), 1e-12);
        EXPECT_NEAR(r.p_error_by_key[j].mean_abs, error.select(2, j).mean().item<double>(), 1e-12);
    }
    EXPECT_GT(r.p_error.max_abs, 0.0);
}

TEST(Int8Inspection, SaysWhatIsWrongWithItsInputs) {
    const auto q = at::randn({2, 10, 8});
    ATTNSCOPE_EXPECT_THROW_WITH(inspect_int8(q, at::randn({2, 10, 4}), 1.0), std::invalid_argument,
                                "int8 inspector: needs q (rows, Sq, d) and k (rows, Sk, d)");
    ATTNSCOPE_EXPECT_THROW_WITH(inspect_int8(q, q.to(at::kInt), 1.0), std::invalid_argument,
                                "must be floating point");
    ATTNSCOPE_EXPECT_THROW_WITH(inspect_int8(q, q, 1.0, 0), std::invalid_argument,
                                "at least one histogram bin");
    // A diverged run (guidance scale 1e30) captures NaN: once 'torch.histc: range of [inf, -inf]'.
    ATTNSCOPE_EXPECT_THROW_WITH(inspect_int8(at::full_like(q, std::nanf("")), q, 1.0), std::invalid_argument,
                                "hold NaN or infinity");
}

// The kernel's LSE is that of the scores the emulation makes (plus the smoothing constant, as both add it):
// the same int8 values and steps, so they agree to fp32 arithmetic, far closer than either is to the exact.
TEST(Int8Inspection, EmulatesTheKernelsOwnLse) {
#ifdef ATTNSCOPE_HAVE_CUDA
    if (!test::has_cuda())
        GTEST_SKIP() << "no CUDA device (or a CPU-only LibTorch): the int8 kernel cannot run";
    at::manual_seed(9);
    const auto backend = make_int8_backend();
    for (const int d : {40, 64}) {
        const auto options = at::TensorOptions().device(at::kCUDA).dtype(at::kHalf);
        AttentionRequest req;
        req.q = at::randn({2, 4, 300, d}, options);
        req.k = at::randn({2, 4, 200, d}, options) + 0.5;
        req.v = at::randn({2, 4, 200, d}, options);
        req.scale = 1 / std::sqrt(double(d));
        const auto kernel_lse = backend->run(req).lse.flatten(0, 1).to(at::kDouble);
        const auto r = inspect_int8(req.q.flatten(0, 1), req.k.flatten(0, 1), req.scale);
        const double emulated = (kernel_lse - r.lse_int8).abs().max().item<double>();
        const double exact = (kernel_lse - r.lse_exact).abs().max().item<double>();
        std::printf("d=%d: kernel LSE vs emulated %.3g, vs exact %.3g\n", d, emulated, exact);
        EXPECT_LT(emulated, 1e-3) << "d=" << d;
        EXPECT_LT(emulated, exact / 10) << "d=" << d;
    }
#else
    GTEST_SKIP() << "this build has no CUDA kernels (ATTNSCOPE_HAVE_CUDA is off): there is no int8 kernel to "
                    "compare with";
#endif
}

} // namespace
} // namespace attnscope
