// Our CPU kernel (core/attention/cpu_attention_kernel.h) behind the flash and int8 backends on CPU tensors:
// flash against the float64 loops of reference_attention.h and a float64 log-sum-exp, on ragged lengths and
// every head dim SD and the tiny model use; outputs poisoned with NaN before the kernel runs; int8 against
// the inspector's emulation of our int8 kernel's scores (core/attention/int8_quantization.h) followed by a
// float64 softmax with P rounded to fp16; and how the router chooses and explains on the CPU.
#include "attention/cpu_attention.h"
#include "attention/cpu_attention_kernel.h"
#include "attention/int8_quantization.h"
#include "attention/router.h"
#include "reference_attention.h"
#include "test_util.h"

#include <cmath>
#include <limits>
#include <vector>

namespace attnscope {
namespace {

struct Shape {
    int64_t batch, heads, seq_q, seq_k;
    int head_dim;
};

// Head dims: 1..8 take the transposed-V path, the others the column path; the lengths end mid-tile.
const std::vector<Shape> kShapes = {
    {1, 1, 1, 1, 4},    {2, 8, 64, 64, 4},   {2, 8, 100, 77, 6}, {1, 3, 17, 5, 8},
    {2, 2, 33, 300, 1}, {1, 2, 50, 77, 3},   {2, 2, 64, 64, 40}, {1, 2, 37, 77, 64},
    {1, 1, 19, 40, 80}, {2, 1, 24, 77, 160}, {1, 2, 20, 33, 12}, {1, 1, 256, 256, 7},
};

at::Tensor float64_lse(const at::Tensor& q, const at::Tensor& k) {
    const auto q64 = q.to(at::kDouble), k64 = k.to(at::kDouble);
    return at::logsumexp(at::matmul(q64, k64.transpose(-1, -2)) / std::sqrt(static_cast<double>(q.size(3))),
                         -1);
}

AttentionRequest request(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    return {q, k, v, 1 / std::sqrt(static_cast<double>(q.size(3)))};
}

TEST(CpuAttention, FlashMatchesFloat64OnEveryShape) {
    for (const auto& s : kShapes) {
        const auto q = at::randn({s.batch, s.heads, s.seq_q, s.head_dim}) * 2;
        const auto k = at::randn({s.batch, s.heads, s.seq_k, s.head_dim});
        const auto v = at::randn({s.batch, s.heads, s.seq_k, s.head_dim});
        const auto r = cpu_attention(request(q, k, v), CpuScores::Exact);
        const std::string what = std::to_string(s.seq_q) + "x" + std::to_string(s.seq_k) + " d" +
                                 std::to_string(s.head_dim) + " (" + cpu::cpu_attention_isa() + ")";
        ASSERT_EQ(r.out.sizes(), q.sizes()) << what;
        EXPECT_EQ(r.out.scalar_type(), at::kFloat) << what;
        // Measured: O 1.7e-7..5.8e-7, LSE 0.1e-6..1.6e-6 (fp32 rounding of scores of a few units).
        EXPECT_LT(test::rel_l2(r.out, test::reference_attention(q, k, v)), 1.5e-6) << what;
        EXPECT_LT((r.lse.to(at::kDouble) - float64_lse(q, k)).abs().max().item<double>(), 5e-6) << what;
    }
}

TEST(CpuAttention, WritesEveryOutputAndIsTheSameSplitAnyWayOrBuild) {
    // The backend's own call, run task by task with NaN in every output first: each task writes its queries'
    // O and LSE, tasks run alone give what one run of all of them gives, bit for bit, and the other builds
    // (AVX2 with FMA where the best is AVX-512; SSE2, no fused multiply-add) compute the same within
    // rounding. Both paths of P.V: transposed V (head dim 6) and V by columns (40).
    for (const int d : {6, 40}) {
        const auto q = at::randn({1, 3, 37, d}), k = at::randn({1, 3, 45, d}), v = at::randn({1, 3, 45, d});
        const auto run = [&](bool one_by_one, cpu::CpuIsa isa) {
            const CpuAttentionCall call(request(q, k, v), CpuScores::Exact);
            call.out.fill_(std::numeric_limits<float>::quiet_NaN());
            call.lse.fill_(std::numeric_limits<float>::quiet_NaN());
            const auto& a = call.args;
            std::vector<float> scratch(static_cast<std::size_t>(cpu::cpu_attention_scratch_floats(a)));
            const int64_t tasks = cpu::cpu_attention_tasks(a);
            EXPECT_EQ(tasks, 3 * 3); // 3 rows of 37 queries: blocks of 16, 16 and 5
            if (one_by_one)
                for (int64_t t = tasks - 1; t >= 0; --t)
                    cpu::cpu_attention_run(a, t, t + 1, scratch.data(), isa);
            else
                cpu::cpu_attention_run(a, 0, tasks, scratch.data(), isa);
            return std::make_pair(call.out.clone(), call.lse.clone());
        };
        const auto [o, lse] = run(false, cpu::CpuIsa::Best);
        EXPECT_TRUE(at::isfinite(o).all().item<bool>()) << d;
        EXPECT_TRUE(at::isfinite(lse).all().item<bool>()) << d;
        EXPECT_LT(test::rel_l2(o.view(q.sizes()), test::reference_attention(q, k, v)), 1.5e-6) << d;
        const auto [o2, lse2] = run(true, cpu::CpuIsa::Best);
        EXPECT_TRUE(at::equal(o, o2)) << d;
        EXPECT_TRUE(at::equal(lse, lse2)) << d;
        for (const auto isa : {cpu::CpuIsa::Avx2, cpu::CpuIsa::Baseline}) {
            const auto [o3, lse3] = run(false, isa);
            EXPECT_LT(test::rel_l2(o3, o), 1e-6) << d;
            EXPECT_LT((lse3 - lse).abs().max().item<float>(), 1e-5) << d;
        }
    }
}

TEST(CpuAttention, Bf16InputsAreComputedInFp32) {
    const auto q = at::randn({2, 4, 70, 40}).to(at::kBFloat16),
               k = at::randn({2, 4, 77, 40}).to(at::kBFloat16),
               v = at::randn({2, 4, 77, 40}).to(at::kBFloat16);
    const auto r = cpu_attention(request(q, k, v), CpuScores::Exact);
    EXPECT_EQ(r.out.scalar_type(), at::kBFloat16);
    // Only O's rounding to bf16 (2^-9 relative) remains against float64 on the same bf16 inputs.
    EXPECT_LT(test::rel_l2(r.out, test::reference_attention(q, k, v)), 4e-3);
    EXPECT_LT((r.lse.to(at::kDouble) - float64_lse(q, k)).abs().max().item<double>(), 2e-5);
}

// Our int8 kernel's attention in float64 from the emulated quantization: softmax of the int8 scores (with
// the smoothing constant, as the kernel's LSE has it), P rounded to fp16 before P.V, the row sum unrounded.
std::pair<at::Tensor, at::Tensor> int8_reference(const at::Tensor& q, const at::Tensor& k,
                                                 const at::Tensor& v) {
    const int64_t b = q.size(0), h = q.size(1), sq = q.size(2), sk = k.size(2), d = q.size(3);
    const auto q3 = q.reshape({b * h, sq, d}), k3 = k.reshape({b * h, sk, d});
    const auto v3 = v.reshape({b * h, sk, d}).to(at::kDouble);
    const auto quant = quantize_like_int8(q3, k3, 1 / std::sqrt(static_cast<double>(d)));
    std::vector<at::Tensor> outs, lses;
    for (int64_t row = 0; row < b * h; ++row) {
        const auto s = int8_scores(quant, row, 0, sq);
        const auto m = std::get<0>(s.max(1, true));
        const auto p = at::exp(s - m);
        const auto sum = p.sum(1, true);
        outs.push_back(at::matmul(p.to(at::kHalf).to(at::kDouble), v3[row]) / sum);
        lses.push_back((m + sum.log()).squeeze(1));
    }
    return {at::stack(outs).view({b, h, sq, d}), at::stack(lses).view({b, h, sq})};
}

TEST(CpuAttention, Int8IsOurInt8KernelsArithmetic) {
    for (const auto& s : kShapes) {
        // Scores of a few units, as in SD, so P spreads over many keys and its rounding matters.
        const auto q = at::randn({s.batch, s.heads, s.seq_q, s.head_dim}) * 2;
        const auto k = at::randn({s.batch, s.heads, s.seq_k, s.head_dim}) + 0.5;
        const auto v = at::randn({s.batch, s.heads, s.seq_k, s.head_dim});
        const auto r = cpu_attention(request(q, k, v), CpuScores::Int8);
        const auto [out, lse] = int8_reference(q, k, v);
        const std::string what =
            std::to_string(s.seq_q) + "x" + std::to_string(s.seq_k) + " d" + std::to_string(s.head_dim);
        // A p within fp32 noise of an fp16 rounding boundary may round the other way: one fp16 step of it.
        EXPECT_LT(test::rel_l2(r.out, out), 1e-4) << what;
        EXPECT_LT((r.lse.to(at::kDouble) - lse).abs().max().item<double>(), 2e-5) << what;
        // And it is visibly not exact: the error the backend exists to show.
        if (s.seq_k >= 64 && s.head_dim >= 4) {
            EXPECT_GT(test::rel_l2(r.out, test::reference_attention(q, k, v)), 1e-3) << what;
        }
    }
}

TEST(CpuAttention, Int8OnBf16RoundsPToBf16) {
    const auto q = at::randn({1, 2, 40, 8}).to(at::kBFloat16), k = at::randn({1, 2, 77, 8}).to(at::kBFloat16),
               v = at::randn({1, 2, 77, 8}).to(at::kBFloat16);
    const auto fp16_p = int8_reference(q, k, v).first;
    const auto r = cpu_attention(request(q, k, v), CpuScores::Int8);
    // bf16 keeps 8 bits of P where fp16 keeps 11: further from the fp16-P reference than O's own rounding.
    EXPECT_LT(test::rel_l2(r.out, fp16_p), 2e-2);
    EXPECT_GT(test::rel_l2(r.out.to(at::kFloat), fp16_p.to(at::kFloat)), 1e-3);
}

TEST(AttentionRouter, OurKernelsRunOnTheCpuOrSayWhyNot) {
    AttentionRouter router;
    const auto q = at::randn({1, 2, 8, 40});
    for (const char* name : {"flash", "int8"}) {
        router.set_default_backend(name);
        const auto out = router.attention_forward(q, q, q, test::site_for(2, AttentionKind::Cross, q, q));
        EXPECT_LT(test::rel_l2(out, test::reference_attention(q, q, q)),
                  name == std::string("flash") ? 2e-6 : 5e-2)
            << name;
        const auto half = q.to(at::kHalf), wide = q.to(at::kDouble);
        ATTNSCOPE_EXPECT_THROW_WITH(
            router.attention_forward(half, half, half, test::site_for(2, AttentionKind::Cross, half, half)),
            std::invalid_argument,
            std::string("'") + name + "' cannot run index 2 cross 1x8: fp16 is not computed on the CPU");
        ATTNSCOPE_EXPECT_THROW_WITH(
            router.attention_forward(wide, wide, wide, test::site_for(2, AttentionKind::Cross, wide, wide)),
            std::invalid_argument, "computes in fp32; fp64 runs take math, the exact reference");
    }
}

struct WantsP final : AttentionObserver {
    void on_attention(const AttentionSite&, const AttentionTensors& t) override {
        saw_probs = t.probs.defined();
    }
    bool wants_probs() const override { return true; }
    bool saw_probs = false;
};

TEST(AttentionRouter, AutomaticOnTheCpuIsFlashForSmallHeadsUnlessPIsWantedOrFp64) {
    AttentionRouter router;
    const auto q = at::randn({1, 2, 8, 16});
    const auto site = test::site_for(5, AttentionKind::Self, q, q);
    router.attention_forward(q, q, q, site);
    EXPECT_EQ(router.last_used().at({5, AttentionKind::Self}), "flash");
    router.attention_forward(q.to(at::kBFloat16), q.to(at::kBFloat16), q.to(at::kBFloat16), site);
    EXPECT_EQ(router.last_used().at({5, AttentionKind::Self}), "flash");
    const auto wide = q.to(at::kDouble);
    router.attention_forward(wide, wide, wide, site);
    EXPECT_EQ(router.last_used().at({5, AttentionKind::Self}), "math");
    WantsP observer;
    router.add_observer(&observer);
    router.attention_forward(q, q, q, site);
    EXPECT_EQ(router.last_used().at({5, AttentionKind::Self}), "math");
    EXPECT_TRUE(observer.saw_probs);
    router.remove_observer(&observer);
    // SD's heads (40 and wider): our kernel's AVX-512 build beats OpenBLAS's products there, its AVX2 one
    // only about matches them.
    const auto wide_heads = at::randn({1, 2, 8, 40});
    router.attention_forward(wide_heads, wide_heads, wide_heads, site);
    const bool avx512 = cpu::cpu_attention_runs_avx512();
    EXPECT_EQ(router.last_used().at({5, AttentionKind::Self}), avx512 ? "flash" : "math");
    EXPECT_EQ(router.last_why().at({5, AttentionKind::Self}),
              avx512 ? "on the CPU our kernel's AVX-512 build beats math at every head dim"
                     : "on the CPU math (BLAS) is fastest at this head dim");
}

} // namespace
} // namespace attnscope
