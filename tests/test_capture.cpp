// The capture store and the maps made from it: every map equals the same slice of the P that the math
// backend materialized in the same forward pass, at every site; the budget evicts in its stated order.
#include "attention/probs_recorder.h"
#include "capture/attention_maps.h"
#include "capture/capture_file.h"
#include "io/safetensors_file.h"
#include "session/session.h"
#include "small_pipeline.h"
#include "test_util.h"
#include "util/version.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

using test::small_pipeline;
using test::small_settings;

// One step with the capture and a ProbsRecorder observing the same calls.
struct CapturedStep {
    Session session{small_pipeline(), small_settings()};
    CaptureStore store;
    ProbsRecorder probs;
    explicit CapturedStep(const std::string& backend) {
        session.router().set_default_backend(backend);
        session.router().add_observer(&store);
        session.router().add_observer(&probs);
        store.begin_step(0);
        session.step();
    }
};

at::Tensor recorded(const CapturedStep& c, int index, AttentionKind kind) {
    AttentionSite s;
    s.index = index;
    s.kind = kind;
    return c.probs.probs().at(probs_key(s)).to(at::kDouble);
}

TEST(CaptureMaps, EqualTheMaterializedProbabilitiesAtEverySite) {
    CapturedStep c("math");
    const auto pos = c.session.prompt_tokens();
    for (int index = 1; index <= 16; ++index) {
        const auto* cross = c.store.find(0, index, AttentionKind::Cross);
        ASSERT_NE(cross, nullptr) << index;
        const int heads = cross->site.heads, hh = cross->site.height, ww = cross->site.width;
        const auto p_cross = recorded(c, index, AttentionKind::Cross); // (B*heads, Sq, 77)
        const auto p_self = recorded(c, index, AttentionKind::Self);
        for (const auto reduction : {HeadReduction::Single, HeadReduction::Mean, HeadReduction::Max}) {
            MapRequest r;
            r.steps = {0};
            r.indices = {index};
            r.heads = reduction;
            r.head = heads - 1;
            r.tokens = {2, 3};                                 // "red" and "circle": summed
            const auto cond = p_cross.narrow(0, heads, heads); // the prompt's half of the CFG batch
            const auto per_head = cond.select(2, 2) + cond.select(2, 3);
            const auto expected = reduction == HeadReduction::Single ? per_head[heads - 1]
                                  : reduction == HeadReduction::Max  ? at::amax(per_head, 0)
                                                                     : per_head.mean(0);
            EXPECT_LT(test::rel_l2(attention_map(c.store, r), expected.reshape({hh, ww})), 1e-5)
                << "cross index " << index;

            r.kind = AttentionKind::Self;
            r.query_x = 0.7;
            r.query_y = 0.2;
            r.batch = 0; // the negative prompt's half
            const int64_t row = static_cast<int64_t>(0.2 * hh) * ww + static_cast<int64_t>(0.7 * ww);
            const auto self_rows = p_self.narrow(0, 0, heads).select(1, row);
            const auto self_expected = reduction == HeadReduction::Single ? self_rows[heads - 1]
                                       : reduction == HeadReduction::Max  ? at::amax(self_rows, 0)
                                                                          : self_rows.mean(0);
            EXPECT_LT(test::rel_l2(attention_map(c.store, r), self_expected.reshape({hh, ww})), 1e-5)
                << "self index " << index;
        }
    }
}

TEST(CaptureMaps, WorkWithoutAnLseFromTheBackend) {
    // LibTorch's SDPA returns no LSE: the store computes it block by block.
    CapturedStep fused("sdpa");
    CapturedStep reference("math");
    for (const int index : {1, 7, 16}) {
        const auto* a = fused.store.find(0, index, AttentionKind::Self);
        const auto* b = reference.store.find(0, index, AttentionKind::Self);
        ASSERT_TRUE(a && b);
        EXPECT_LT(test::rel_l2(a->lse, b->lse), 1e-5);
    }
}

TEST(CaptureMaps, DaamSumsSitesOnTheImageGridAndAveragesSteps) {
    CapturedStep c("math");
    c.store.begin_step(1);
    c.session.step();
    MapRequest one;
    one.steps = {0};
    one.tokens = {3};
    one.out_width = 64;
    one.out_height = 48;
    at::Tensor by_hand;
    for (int step : {0, 1})
        for (int index = 1; index <= 16; ++index) {
            one.steps = {step};
            one.indices = {index};
            const auto m = attention_map(c.store, one);
            EXPECT_EQ(m.sizes(), (at::IntArrayRef{48, 64}));
            by_hand = by_hand.defined() ? by_hand + m : m;
        }
    MapRequest all = one;
    all.steps = {0, 1};
    all.indices.clear();
    for (int i = 1; i <= 16; ++i) all.indices.push_back(i);
    EXPECT_LT(test::rel_l2(attention_map(c.store, all), by_hand / 2), 1e-6);
}

TEST(CaptureMaps, TokenMassSplitsAllOfTheAttention) {
    CapturedStep c("math");
    const int length = c.session.prompt_tokens().length;
    for (int index = 1; index <= 16; ++index) {
        const auto m = token_mass(*c.store.find(0, index, AttentionKind::Cross), 1, length);
        EXPECT_NEAR(m.start + m.prompt + m.end + m.padding, 1.0, 1e-5);
        EXPECT_GT(m.padding, 0.0);
        // Hand check of one share: the start token's column of P, averaged over heads and queries.
        const auto p = recorded(c, index, AttentionKind::Cross);
        const int heads = c.store.find(0, index, AttentionKind::Cross)->site.heads;
        EXPECT_NEAR(m.start, p.narrow(0, heads, heads).select(2, 0).mean().item<double>(), 1e-6);
    }
}

TEST(CaptureMaps, StatisticsOfAHandComputedMap) {
    const auto s = map_stats(at::tensor({1.0, 1.0, 2.0}).reshape({1, 3}));
    EXPECT_DOUBLE_EQ(s.min, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 2.0);
    EXPECT_NEAR(s.entropy, -(0.5 * std::log(0.25) + 0.5 * std::log(0.5)), 1e-12);
}

TEST(CaptureStore, EvictsOldSelfAttentionFirstAndSaysSo) {
    Session session(small_pipeline(), small_settings());
    session.router().set_default_backend("math");
    CaptureStore probe_size;
    session.router().add_observer(&probe_size);
    probe_size.begin_step(0);
    session.step();
    session.router().remove_observer(&probe_size);
    const int64_t one_step = probe_size.bytes();
    int64_t self_bytes = 0;
    for (const auto& [key, site] : probe_size.entries())
        if (key.kind == AttentionKind::Self) self_bytes += site.bytes();

    session.rewind(0);
    CapturePolicy policy;
    policy.budget_bytes =
        2 * one_step - self_bytes / 2; // two steps do not fit: half of step 0's self must go
    CaptureStore store(policy);
    session.router().add_observer(&store);
    for (int step : {0, 1}) {
        store.begin_step(step);
        session.step();
    }
    EXPECT_LE(store.bytes(), policy.budget_bytes);
    ASSERT_FALSE(store.evictions().empty());
    EXPECT_NE(store.evictions().front().find("dropped step 1 index 1 self-attention"), std::string::npos)
        << store.evictions().front();
    for (int index = 1; index <= 16; ++index) {
        EXPECT_NE(store.find(0, index, AttentionKind::Cross), nullptr) << "cross of step 1 stays";
        EXPECT_NE(store.find(1, index, AttentionKind::Self), nullptr) << "the newest step stays whole";
    }
    MapRequest r;
    r.steps = {0};
    r.indices = {1};
    r.kind = AttentionKind::Self;
    ATTNSCOPE_EXPECT_THROW_WITH(attention_map(store, r), std::out_of_range,
                                "step 1 index 1 self-attention is not in the capture");
    store.drop_from(1);
    EXPECT_EQ(store.steps(), std::vector<int>{0});
}

TEST(CaptureStore, CapturesOnlyWhatThePolicyAsksFor) {
    Session session(small_pipeline(), small_settings());
    CapturePolicy policy;
    policy.self_attention = false;
    policy.cross_probs = true;
    CaptureStore store(policy);
    session.router().add_observer(&store);
    store.begin_step(0);
    session.step();
    EXPECT_EQ(store.entries().size(), 16u);
    for (const auto& [key, site] : store.entries()) {
        EXPECT_EQ(key.kind, AttentionKind::Cross);
        ASSERT_TRUE(site.probs.defined());
        EXPECT_EQ(site.probs.sizes(), (std::vector<int64_t>{site.q.size(0), site.site.seq_q, 77}));
    }
    EXPECT_FALSE(CapturePolicy{}.cross_probs) << "kept cross P costs a generation 1.3-1.6x";
}

TEST(CaptureFile, ReadsBackWhatWasSavedAndGivesTheSameMaps) {
    CapturedStep c("math");
    test::TempDir dir;
    save_capture(dir.file("capture.safetensors"), c.store, {{"prompt", c.session.settings().prompt}});
    const auto loaded = load_capture(dir.file("capture.safetensors"));
    EXPECT_EQ(loaded.description["prompt"], c.session.settings().prompt);
    EXPECT_EQ(loaded.store.entries().size(), c.store.entries().size());
    EXPECT_EQ(loaded.store.bytes(), c.store.bytes());
    // Which program wrote it, in the file's own metadata.
    const auto meta = nlohmann::json::parse(
        SafetensorsFile(dir.file("capture.safetensors")).header().metadata.at("attnscope.capture"));
    EXPECT_EQ(meta["attnscope_version"], version());
    EXPECT_EQ(meta["attnscope_commit"], git_commit());
    MapRequest r;
    r.steps = {0};
    r.indices = {4};
    r.tokens = {5};
    EXPECT_TRUE(at::equal(attention_map(loaded.store, r), attention_map(c.store, r)));
    r.kind = AttentionKind::Self;
    r.query_x = r.query_y = 0.5;
    EXPECT_TRUE(at::equal(attention_map(loaded.store, r), attention_map(c.store, r)));

    write_safetensors(dir.file("plain.safetensors"), {{"x", at::zeros({2})}});
    ATTNSCOPE_EXPECT_THROW_WITH(load_capture(dir.file("plain.safetensors")), std::runtime_error,
                                "not an attnscope capture");
}

} // namespace
} // namespace attnscope
