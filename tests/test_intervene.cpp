// Attention surgery: the edits' semantics on small random tensors against float64 loops (scaled or removed
// tokens, renormalized or not, zeroed heads, swapped backends, where and when they act), then branches of a
// session on the small pipeline: unedited they repeat the original exactly, edited they part from it at the
// first edited step and not before.
#include "intervene/branch.h"
#include "reference_attention.h"
#include "test_compare_fixtures.h"

#include <cmath>

namespace attnscope {
namespace {

struct Recorder final : AttentionObserver {
    std::vector<at::Tensor> probs;
    void on_attention(const AttentionSite&, const AttentionTensors& t) override { probs.push_back(t.probs); }
    bool wants_probs() const override { return true; }
};

class EditedAttention : public ::testing::Test {
  protected:
    void SetUp() override {
        at::manual_seed(11);
        q = at::randn({2, 3, 5, 4});
        k = at::randn({2, 3, 7, 4});
        v = at::randn({2, 3, 7, 4});
        router.set_default_backend("math");
        unedited = router.attention_forward(q, k, v, site());
    }
    AttentionSite site(int index = 4, AttentionKind kind = AttentionKind::Cross) const {
        return test::site_for(index, kind, q, k);
    }
    // O with `edits` set on the router, at `step`.
    at::Tensor edited(std::vector<AttentionEditSpec> edits, int step = 0,
                      const AttentionSite* at_site = nullptr) {
        EditPlan plan(std::move(edits), router);
        plan.begin_step(step);
        router.set_edit(&plan);
        auto o = router.attention_forward(q, k, v, at_site ? *at_site : site());
        router.set_edit(nullptr);
        return o;
    }
    at::Tensor q, k, v, unedited;
    AttentionRouter router;
};

TEST_F(EditedAttention, ScalingByOneIsNoEditExactly) {
    EXPECT_TRUE(at::equal(edited({{TokenScale{{2, 5}, 1.0, true}, {}}}), unedited));
    EXPECT_TRUE(at::equal(edited({{TokenScale{{2, 5}, 1.0, false}, {}}}), unedited));
}

TEST_F(EditedAttention, ZeroingATokenWithoutRenormalizingDropsItsShare) {
    const auto o = edited({{TokenScale{{2}, 0.0, false}, {}}});
    EXPECT_LT(test::rel_l2(o, test::reference_attention(q, k, v, {2}, 0.0, false)), 1e-6);
    // O = sum over the other tokens of P V, for the prompt's half; the negative prompt's half is untouched.
    EXPECT_TRUE(at::equal(o[0], unedited[0]));
    EXPECT_GT((o[1] - unedited[1]).abs().max().item<float>(), 1e-3f);
}

TEST_F(EditedAttention, ScalingAndRenormalizingIsTheSoftmaxWithTheTokensLogitsShifted) {
    for (const double factor : {0.0, 0.5, 3.0}) {
        const auto o = edited({{TokenScale{{1, 6}, factor, true}, {}}});
        EXPECT_LT(test::rel_l2(o, test::reference_attention(q, k, v, {1, 6}, factor, true)), 1e-6) << factor;
    }
    // Zeroed and renormalized: attention over the other tokens alone.
    const auto keep = at::tensor({0, 2, 3, 4, 5}, at::kLong);
    const auto alone =
        at::matmul(at::softmax(at::matmul(q[1], k[1].index_select(1, keep).transpose(-1, -2)) / 2, -1),
                   v[1].index_select(1, keep));
    EXPECT_LT(test::rel_l2(edited({{TokenScale{{1, 6}, 0.0, true}, {}}})[1], alone), 1e-6);
}

TEST_F(EditedAttention, ObserversSeeTheEditedProbabilities) {
    Recorder recorder;
    router.add_observer(&recorder);
    edited({{TokenScale{{3}, 0.0, false}, {}}});
    router.remove_observer(&recorder);
    ASSERT_EQ(recorder.probs.size(), 1u);
    const auto p = recorder.probs[0].view({2, 3, 5, 7});
    EXPECT_EQ(p[1].select(-1, 3).abs().max().item<float>(), 0.0f);
    EXPECT_GT(p[0].select(-1, 3).min().item<float>(), 0.0f);
}

TEST_F(EditedAttention, ZeroingAHeadZeroesExactlyItsSlice) {
    for (const auto kind : {AttentionKind::Self, AttentionKind::Cross}) {
        const auto s = site(4, kind);
        const auto o = edited({{HeadZero{1}, {}}}, 0, &s);
        EXPECT_EQ(o.select(1, 1).abs().max().item<float>(), 0.0f);
        EXPECT_TRUE(at::equal(o.select(1, 0), unedited.select(1, 0)));
        EXPECT_TRUE(at::equal(o.select(1, 2), unedited.select(1, 2)));
    }
}

TEST_F(EditedAttention, SwappingTheBackendRunsTheOtherOne) {
    auto sdpa_router = AttentionRouter();
    sdpa_router.set_default_backend("sdpa");
    const auto sdpa = sdpa_router.attention_forward(q, k, v, site());
    EXPECT_TRUE(at::equal(edited({{BackendSwap{"sdpa"}, {}}}), sdpa));
    EXPECT_EQ(router.last_used().at({4, AttentionKind::Cross}), "math")
        << "the routed backend, before the edit";
}

TEST_F(EditedAttention, ActsOnlyAtItsSitesStepsAndKind) {
    const AttentionEditSpec at_step_2_site_4{HeadZero{0}, {{4}, {2}, AttentionKind::Cross}};
    EXPECT_TRUE(at::equal(edited({at_step_2_site_4}, 1), unedited));
    EXPECT_FALSE(at::equal(edited({at_step_2_site_4}, 2), unedited));
    const auto site_5 = site(5), self_4 = site(4, AttentionKind::Self);
    EXPECT_TRUE(at::equal(edited({at_step_2_site_4}, 2, &site_5), unedited));
    EXPECT_TRUE(at::equal(edited({at_step_2_site_4}, 2, &self_4), unedited));
    // A token scale acts on cross-attention only, whatever its scope says.
    EXPECT_TRUE(at::equal(edited({{TokenScale{{2}, 0.0, false}, {}}}, 0, &self_4), unedited));
}

TEST_F(EditedAttention, RefusesEditsThatCannotApply) {
    ATTNSCOPE_EXPECT_THROW_WITH(EditPlan({{BackendSwap{"flash2"}, {}}}, router), std::invalid_argument,
                                "unknown attention backend 'flash2'");
    ATTNSCOPE_EXPECT_THROW_WITH(EditPlan({{TokenScale{{2}, -1.0, false}, {}}}, router), std::invalid_argument,
                                "a finite number >= 0");
    ATTNSCOPE_EXPECT_THROW_WITH(EditPlan({{TokenScale{{77}, 0.0, false}, {}}}, router), std::invalid_argument,
                                "token position 77 is outside 0..76");
    ATTNSCOPE_EXPECT_THROW_WITH(
        EditPlan({{TokenScale{{2}, 0.0, false}, {{}, {}, AttentionKind::Self}}}, router),
        std::invalid_argument, "a token scale acts on cross-attention");
    ATTNSCOPE_EXPECT_THROW_WITH(edited({{HeadZero{3}, {}}}), std::invalid_argument,
                                "head 3 does not exist at index 4 cross 1x5 (heads 0..2)");
    ATTNSCOPE_EXPECT_THROW_WITH(edited({{TokenScale{{7}, 0.0, false}, {}}}), std::invalid_argument,
                                "token position 7 is outside the 7-token context");
}

TEST(EditDescription, SaysWhatWhereAndWhen) {
    EXPECT_EQ(describe({TokenScale{{2, 3}, 0.0, true}, {{1, 2, 3, 4, 7}, {0}, AttentionKind::Cross}}),
              "tokens 2,3 x0 renormalized at sites 1-4,7, steps 0, cross-attention");
    EXPECT_EQ(describe({HeadZero{3}, {{4}, {}, {}}}), "head 3 zeroed at sites 4, steps all");
    EXPECT_EQ(describe({BackendSwap{"sdpa"}, {{}, {5, 6}, {}}}), "backend sdpa at sites all, steps 5-6");
}

TEST(WordPositions, FindsThePromptsTokensOfAWord) {
    Session s(test::small_pipeline(), test::small_settings());
    const auto& tokenizer = s.pipeline().tokenizer;
    EXPECT_EQ(word_positions(s.prompt_tokens(), tokenizer, "red"), (std::vector<int64_t>{2}));
    EXPECT_EQ(word_positions(s.prompt_tokens(), tokenizer, "RED"), (std::vector<int64_t>{2}));
    EXPECT_EQ(word_positions(s.prompt_tokens(), tokenizer, "a"), (std::vector<int64_t>{1, 6}));
    ATTNSCOPE_EXPECT_THROW_WITH(
        word_positions(s.prompt_tokens(), tokenizer, "dog"), std::invalid_argument,
        "'dog' is not a word of the prompt (its words: a, red, circle, left, of, a, blue, "
        "square)");
}

std::vector<at::Tensor> run_to_end(Session& s) {
    while (!s.done()) s.step();
    std::vector<at::Tensor> latents;
    for (int k = 0; k <= s.total_steps(); ++k) latents.push_back(s.latents_before(k));
    return latents;
}

TEST(Branch, WithoutEditsRepeatsTheOriginalExactly) {
    for (const auto scheduler :
         {SchedulerKind::DDIM, SchedulerKind::EulerAncestral, SchedulerKind::DPMPP2MKarras}) {
        Session original(test::small_pipeline(), test::small_settings(3, scheduler));
        const auto first = run_to_end(original);
        for (int from = 0; from < 3; ++from) {
            Branch branch(original, from, {});
            EXPECT_EQ(branch.session().current_step(), from);
            while (!branch.session().done()) branch.step();
            for (int k = 0; k <= 3; ++k)
                EXPECT_TRUE(at::equal(branch.session().latents_before(k), first[k]))
                    << to_string(scheduler) << " from " << from << " step " << k;
        }
    }
}

TEST(Branch, WithAnEditPartsFromTheOriginalAtThatStepAndNotBefore) {
    Session original(test::small_pipeline(), test::small_settings(4));
    const auto first = run_to_end(original);
    for (const int from : {0, 1}) {
        Branch branch(original, from, {{TokenScale{{2}, 0.0, true}, {{}, {2, 3}, {}}}});
        while (!branch.session().done()) branch.step();
        for (int k = 0; k <= 4; ++k) {
            const bool same = at::equal(branch.session().latents_before(k), first[k]);
            EXPECT_EQ(same, k <= 2) << "from " << from << ": latents before step " << k;
        }
    }
}

TEST(Branch, OutlivesItsOriginalAndKeepsItsBackends) {
    std::unique_ptr<Branch> branch;
    at::Tensor expected;
    {
        Session original(test::small_pipeline(), test::small_settings(2));
        original.router().set_default_backend("sdpa");
        original.router().set_site_backend(3, AttentionKind::Self, "math");
        original.step();
        branch = std::make_unique<Branch>(original, 1, std::vector<AttentionEditSpec>{});
        original.step();
        expected = original.latents();
        original.rewind(0);
    }
    EXPECT_EQ(branch->session().router().default_backend(), "sdpa");
    EXPECT_EQ(branch->session().router().site_backends().at({3, AttentionKind::Self}), "math");
    branch->step();
    EXPECT_TRUE(at::equal(branch->session().latents(), expected));
    EXPECT_EQ(branch->session().router().last_used().at({3, AttentionKind::Self}), "math");
}

TEST(Branch, RefusesStepsTheOriginalHasNotReached) {
    Session original(test::small_pipeline(), test::small_settings(2));
    original.step();
    ATTNSCOPE_EXPECT_THROW_WITH(Branch(original, 2, {}), std::out_of_range,
                                "cannot branch at step 2: steps 0..1 are available");
    ATTNSCOPE_EXPECT_THROW_WITH(Branch(original, 0, {{BackendSwap{"nope"}, {}}}), std::invalid_argument,
                                "unknown attention backend 'nope'");
}

} // namespace
} // namespace attnscope
