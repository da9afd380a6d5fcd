#include "attention/router.h"
#include "reference_attention.h"
#include "test_util.h"
#include "util/byte_size.h"
#include "util/memory_guard.h"
#include "util/out_of_memory.h"

#include <cmath>
#include <cstdlib>

namespace attnscope {
namespace {

struct Recorder final : AttentionObserver {
    bool want = true;
    std::vector<std::pair<AttentionSite, AttentionTensors>> calls;
    void on_attention(const AttentionSite& s, const AttentionTensors& t) override {
        calls.emplace_back(s, t);
    }
    bool wants_probs() const override { return want; }
};

TEST(AttentionMath, HandComputedCase) {
    // One query, two keys with scores 0 and ln 3: P = (1/4, 3/4); V = (4, 8) gives 1 + 6 = 7.
    const auto q = at::tensor({1.0f}).reshape({1, 1, 1, 1});
    const auto k = at::tensor({0.0f, static_cast<float>(std::log(3.0))}).reshape({1, 1, 2, 1});
    const auto v = at::tensor({4.0f, 8.0f}).reshape({1, 1, 2, 1});
    AttentionRouter router;
    router.set_default_backend("math");
    Recorder rec;
    router.add_observer(&rec);
    const auto o = router.attention_forward(q, k, v, test::site_for(1, AttentionKind::Cross, q, k));
    EXPECT_NEAR(o.item<float>(), 7.0f, 1e-5);
    ASSERT_EQ(rec.calls.size(), 1u);
    EXPECT_NEAR(rec.calls[0].second.probs[0][0][0].item<float>(), 0.25f, 1e-6);
    EXPECT_NEAR(rec.calls[0].second.probs[0][0][1].item<float>(), 0.75f, 1e-6);
}

TEST(AttentionMath, MatchesFloat64LoopsAndRowsSumToOne) {
    at::manual_seed(1);
    const auto q = at::randn({2, 3, 17, 8}), k = at::randn({2, 3, 11, 8}), v = at::randn({2, 3, 11, 8});
    AttentionRouter router;
    router.set_default_backend("math");
    Recorder rec;
    router.add_observer(&rec);
    const auto o = router.attention_forward(q, k, v, test::site_for(5, AttentionKind::Cross, q, k));
    EXPECT_LT(test::rel_l2(o, test::reference_attention(q, k, v)), 1e-6);
    const auto& p = rec.calls.at(0).second.probs;
    EXPECT_EQ(p.sizes(), (at::IntArrayRef{6, 17, 11})); // batch-major (B*heads, Sq, Sk)
    EXPECT_LT((p.sum(-1) - 1).abs().max().item<float>(), 1e-5);
    // Row b*heads+h is batch b, head h.
    const auto p11 = at::softmax(at::matmul(q[1][1], k[1][1].t()) / std::sqrt(8.0), -1);
    EXPECT_LT(test::rel_l2(p[1 * 3 + 1], p11), 1e-6);
    EXPECT_TRUE(at::equal(rec.calls[0].second.q, q.flatten(0, 1)));
}

TEST(AttentionMath, UpcastKeepsBf16ScoresInFloat32) {
    at::manual_seed(2);
    const auto q = at::randn({1, 2, 33, 16}) * 4, k = at::randn({1, 2, 33, 16}) * 4,
               v = at::randn({1, 2, 33, 16});
    AttentionRouter router;
    router.set_default_backend("math");
    auto s = test::site_for(1, AttentionKind::Self, q, k);
    const auto ref = test::reference_attention(q.to(at::kBFloat16), k.to(at::kBFloat16), v.to(at::kBFloat16));
    s.upcast = true;
    const auto up =
        router.attention_forward(q.to(at::kBFloat16), k.to(at::kBFloat16), v.to(at::kBFloat16), s);
    EXPECT_EQ(up.scalar_type(), at::kBFloat16);
    EXPECT_LT(test::rel_l2(up, ref), 1e-2);
}

TEST(AttentionRouter, SdpaAgreesWithMath) {
    at::manual_seed(3);
    const auto q = at::randn({2, 4, 64, 40}), k = at::randn({2, 4, 77, 40}), v = at::randn({2, 4, 77, 40});
    AttentionRouter router;
    const auto s = test::site_for(2, AttentionKind::Cross, q, k);
    router.set_default_backend("math");
    const auto a = router.attention_forward(q, k, v, s);
    router.set_default_backend("sdpa");
    const auto b = router.attention_forward(q, k, v, s);
    EXPECT_LT(test::rel_l2(b, a), 1e-5);
    EXPECT_EQ(router.last_used().at({2, AttentionKind::Cross}), "sdpa");
}

TEST(AttentionRouter, UnknownNamesListWhatIsAvailable) {
    AttentionRouter router;
    ATTNSCOPE_EXPECT_THROW_WITH(router.set_default_backend("flashy"), std::invalid_argument,
                                "unknown attention backend 'flashy' (available: auto, math, sdpa");
    ATTNSCOPE_EXPECT_THROW_WITH(router.set_site_backend(3, AttentionKind::Self, "nope"),
                                std::invalid_argument, "available:");
}

TEST(AttentionRouter, EnvironmentVariableSetsTheDefault) {
    ::setenv(kBackendEnvVar, "sdpa", 1);
    EXPECT_EQ(AttentionRouter().default_backend(), "sdpa");
    ::setenv(kBackendEnvVar, "bogus", 1);
    ATTNSCOPE_EXPECT_THROW_WITH(AttentionRouter(), std::invalid_argument,
                                "ATTNSCOPE_ATTENTION: unknown attention backend 'bogus'");
    ::unsetenv(kBackendEnvVar);
    EXPECT_EQ(AttentionRouter().default_backend(), "auto");
}

TEST(AttentionRouter, PerSiteOverrideAndAutomaticChoice) {
    const auto q = at::randn({1, 1, 4, 8}), k = at::randn({1, 1, 4, 8}), v = at::randn({1, 1, 4, 8});
    AttentionRouter router;
    router.set_site_backend(3, AttentionKind::Self, "sdpa");
    router.attention_forward(q, k, v, test::site_for(3, AttentionKind::Self, q, k));
    router.attention_forward(q, k, v, test::site_for(4, AttentionKind::Self, q, k));
    EXPECT_EQ(router.last_used().at({3, AttentionKind::Self}), "sdpa");
    EXPECT_EQ(router.last_used().at({4, AttentionKind::Self}), "flash"); // auto on the CPU: our CPU kernel
    EXPECT_EQ(router.last_why().at({4, AttentionKind::Self}),
              "on the CPU our kernel beats math at head dims up to 16");
    EXPECT_EQ(router.last_why().at({3, AttentionKind::Self}), "set for this site");
    router.set_site_backend(3, AttentionKind::Self, "auto");
    router.attention_forward(q, k, v, test::site_for(3, AttentionKind::Self, q, k));
    EXPECT_EQ(router.last_used().at({3, AttentionKind::Self}), "flash");
}

TEST(AttentionRouter, ExplicitBackendThatCannotRunSaysWhy) {
    const auto q = at::randn({1, 1, 4, 8}).to(at::kHalf);
    AttentionRouter router;
    router.set_default_backend("sdpa");
    ATTNSCOPE_EXPECT_THROW_WITH(
        router.attention_forward(q, q, q, test::site_for(9, AttentionKind::Self, q, q)),
        std::invalid_argument, "'sdpa' cannot run index 9 self");
}

TEST(AttentionRouter, ObserversWithoutProbsGetNoneFromFusedBackends) {
    const auto q = at::randn({1, 2, 4, 8});
    AttentionRouter router;
    router.set_default_backend("sdpa");
    Recorder rec;
    rec.want = false;
    router.add_observer(&rec);
    router.attention_forward(q, q, q, test::site_for(1, AttentionKind::Self, q, q));
    ASSERT_EQ(rec.calls.size(), 1u);
    EXPECT_FALSE(rec.calls[0].second.probs.defined());
    EXPECT_EQ(rec.calls[0].second.out.sizes(), (at::IntArrayRef{2, 4, 8}));
    router.remove_observer(&rec);
    router.attention_forward(q, q, q, test::site_for(1, AttentionKind::Self, q, q));
    EXPECT_EQ(rec.calls.size(), 1u);
}

TEST(OutOfMemory, RecognisesTheCpuAllocatorsFailureAndNothingElse) {
    // 2^48 bytes: more than any machine's RAM and than x86-64's 47-bit user address space, so the
    // allocation fails whatever the kernel's overcommit policy.
    try {
        at::empty({int64_t{1} << 46}, at::kFloat);
        FAIL() << "a 256 TiB allocation succeeded";
    } catch (const std::exception& e) {
        EXPECT_TRUE(is_out_of_memory(e)) << e.what();
    }
    try {
        at::matmul(at::ones({2, 3}), at::ones({2, 3}));
        FAIL() << "mismatched shapes multiplied";
    } catch (const std::exception& e) {
        EXPECT_FALSE(is_out_of_memory(e)) << e.what();
    }
    EXPECT_FALSE(is_out_of_memory(std::runtime_error("tried to allocate")));
    EXPECT_TRUE(is_out_of_memory(std::bad_alloc()));
}

TEST(OutOfMemory, SizesAsMessagesGiveThem) {
    EXPECT_EQ(byte_size_string(0), "0 bytes");
    EXPECT_EQ(byte_size_string(1023), "1023 bytes");
    EXPECT_EQ(byte_size_string(1536), "1.5 KiB");
    EXPECT_EQ(byte_size_string(99.94 * 1048576), "99.9 MiB");
    EXPECT_EQ(byte_size_string(100.0 * 1048576), "100 MiB");
    EXPECT_EQ(byte_size_string(256.0 * (int64_t{1} << 40)), "256 TiB");
}

TEST(OutOfMemory, TheGuardRefusesWhatTheMachineCannotBackAndNothingLess) {
    install_cpu_memory_guard();
    const int64_t available = available_cpu_memory();
    ASSERT_GT(available, 0);
    // Under Linux's default overcommit this much is granted untouched; unguarded, touching it would wake the
    // OOM killer.
    const int64_t too_much = available + (int64_t{1} << 30);
    ATTNSCOPE_EXPECT_THROW_WITH(at::empty({too_much}, at::kByte), OutOfMemory,
                                "out of memory: tried to allocate " +
                                    byte_size_string(static_cast<double>(too_much)) + " on the CPU");
    // Over half of it is refused too: the op that asks needs room for its temporaries.
    EXPECT_THROW(at::empty({available * 3 / 5}, at::kByte), OutOfMemory);
    const auto fits = at::ones({int64_t{128} << 20}, at::kByte); // above the guarded size, well within reach
    EXPECT_EQ(fits[-1].item<int>(), 1);
}

TEST(AttentionRouter, OutOfMemoryNamesTheSiteAndTheSizeOfP) {
    // 2^23 queries and keys, one head: 32 MiB each for Q, K and V, but P would be 2^46 fp32 values (256 TiB).
    const auto q = at::zeros({1, 1, int64_t{1} << 23, 1});
    AttentionRouter router;
    router.set_default_backend("math");
    auto site = test::site_for(1, AttentionKind::Self, q, q);
    site.height = site.width = 2048;
    ATTNSCOPE_EXPECT_THROW_WITH(
        router.attention_forward(q, q, q, site), OutOfMemory,
        "out of memory in attention at index 1 self 2048x2048 on cpu with the 'math' "
        "backend (1 batch x heads, 8388608 queries x 8388608 keys): its P alone takes "
        "256 TiB; try a smaller size, or a fused backend");
}

} // namespace
} // namespace attnscope
