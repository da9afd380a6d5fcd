// CPU side of the capture design: math's LSE and the probe's ATen path.
#include "attention/probe.h"
#include "attention/router.h"
#include "test_util.h"

#include <cmath>

namespace attnscope {
namespace {

struct Keep final : AttentionObserver {
    AttentionTensors seen;
    void on_attention(const AttentionSite&, const AttentionTensors& t) override { seen = t; }
    bool wants_probs() const override { return true; }
};

TEST(AttentionLse, MathLseEqualsFloat64LogSumExp) {
    at::manual_seed(11);
    // Scaled up so rows are peaked: the LSE is then far from log(Sk).
    const auto q = at::randn({2, 3, 17, 8}) * 3, k = at::randn({2, 3, 29, 8}), v = at::randn({2, 3, 29, 8});
    AttentionRouter router;
    router.set_default_backend("math");
    Keep keep;
    router.add_observer(&keep);
    router.attention_forward(q, k, v, test::site_for(2, AttentionKind::Cross, q, k));
    const auto scores = at::matmul(q.to(at::kDouble), k.to(at::kDouble).transpose(-1, -2)) / std::sqrt(8.0);
    const auto expected = at::logsumexp(scores, -1).flatten(0, 1);
    ASSERT_TRUE(keep.seen.lse.defined());
    EXPECT_EQ(keep.seen.lse.scalar_type(), at::kFloat);
    EXPECT_EQ(keep.seen.lse.sizes(), (at::IntArrayRef{6, 17}));
    EXPECT_LT((keep.seen.lse.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5);
}

TEST(AttentionProbe, CpuMapsFromMathLseEqualMathsP) {
    at::manual_seed(12);
    const auto q = at::randn({2, 4, 12, 16}), k = at::randn({2, 4, 12, 16}), v = at::randn({2, 4, 12, 16});
    AttentionRouter router;
    router.set_default_backend("math");
    Keep keep;
    router.add_observer(&keep);
    router.attention_forward(q, k, v, test::site_for(2, AttentionKind::Cross, q, k));
    const auto& t = keep.seen;
    const ProbeInputs in{t.q, t.k, t.lse, 4, 1.0 / std::sqrt(16.0)};
    const auto p = t.probs.view({2, 4, 12, 12}); // (batch, head, query, key)

    const auto row = probe_map(in, {ProbeAxis::QueryRow, 1, 1, HeadReduction::Single, 3});
    EXPECT_LT(test::rel_l2(row, p[1][3][1]), 1e-5);
    EXPECT_NEAR(row.sum().item<float>(), 1.0f, 1e-5);
    const auto column = probe_map(in, {ProbeAxis::KeyColumn, 5, 0, HeadReduction::Single, 2});
    EXPECT_LT(test::rel_l2(column, p[0][2].select(1, 5)), 1e-5);
    const auto mean = probe_map(in, {ProbeAxis::KeyColumn, 5, 1, HeadReduction::Mean, 0});
    EXPECT_LT(test::rel_l2(mean, p[1].select(2, 5).mean(0)), 1e-5);
    const auto max = probe_map(in, {ProbeAxis::QueryRow, 7, 0, HeadReduction::Max, 0});
    EXPECT_LT(test::rel_l2(max, std::get<0>(p[0].select(1, 7).max(0))), 1e-5);
    const auto mean_row = probe_map(in, {ProbeAxis::QueryRow, 0, 0, HeadReduction::Mean, 0});
    EXPECT_NEAR(mean_row.sum().item<float>(), 1.0f, 1e-5);
}

TEST(AttentionProbe, BadSelectionsSayWhatIsWrong) {
    const auto q = at::randn({2, 10, 8}), k = at::randn({2, 77, 8});
    const ProbeInputs in{q, k, at::zeros({2, 10}), 1, 1.0};
    ATTNSCOPE_EXPECT_THROW_WITH(probe_map(in, {ProbeAxis::KeyColumn, 77, 0, HeadReduction::Single, 0}),
                                std::invalid_argument, "key 77 out of range (77)");
    ATTNSCOPE_EXPECT_THROW_WITH(probe_map(in, {ProbeAxis::QueryRow, 0, 2, HeadReduction::Mean, 0}),
                                std::invalid_argument, "batch item 2 out of range");
    ATTNSCOPE_EXPECT_THROW_WITH(probe_map_to_surface(in, {}, {}), std::invalid_argument,
                                "writing a surface needs CUDA fp16/bf16 inputs (got cpu");
}

} // namespace
} // namespace attnscope
