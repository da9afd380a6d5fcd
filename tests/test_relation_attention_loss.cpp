// The relation term on attention maps against hand-computed centroids.
#include "relation_attention_loss.h"
#include "relation_placement.h"
#include "tiny_model.h"

#include <gtest/gtest.h>

namespace attnscope::tiny {
namespace {

// One site of height x width pixels and 3 tokens (0: unlabelled, 1: first phrase, 2: second phrase), each
// phrase's attention all on one pixel of each sample.
SiteMap site_map(int height, int width, const std::vector<std::pair<int, int>>& pixels) {
    SiteMap m;
    m.site.kind = AttentionKind::Cross;
    m.site.height = height, m.site.width = width;
    m.site.batch = static_cast<int64_t>(pixels.size());
    m.map = at::zeros({m.site.batch, height * width, 3});
    for (std::size_t b = 0; b < pixels.size(); ++b) {
        m.map[b][pixels[b].first][1] = 1.0;
        m.map[b][pixels[b].second][2] = 1.0;
        m.map[b][0][0] = 5.0; // an unlabelled token's attention counts for neither phrase
    }
    return m;
}

TEST(RelationAttentionLoss, HandComputedCentroids) {
    const auto labels = at::tensor({0, 1, 2}, at::kLong).repeat({3, 1});
    // 1 x 4 pixels, centres at x = -0.75, -0.25, 0.25, 0.75. Sample 0: first at 0, second at 3 (1.5 apart).
    // Sample 1 the other way round. Sample 2 weighted out.
    const auto row = site_map(1, 4, {{0, 3}, {3, 0}, {3, 0}});
    const auto left_of = at::tensor({1.f, 0.f}).repeat({3, 1});
    const auto weight = at::tensor({1.f, 1.f, 0.f});
    // Sample 0 is 1.5 along, so nothing; sample 1 is -1.5: 0.1 + 1.5. Mean over the two weighted samples.
    EXPECT_NEAR(relation_attention_loss({row}, labels, left_of, weight, 0.1).item<double>(), 1.6 / 2, 1e-6);
    EXPECT_NEAR(relation_attention_loss({row}, labels, -left_of, weight, 0.1).item<double>(), 1.6 / 2, 1e-6);

    // 2 x 2 pixels, centres at +-0.5: first at the top left, second at the bottom right, 1 along and 1 across
    // for "left of" and "above" alike: 0.1 - 1 + 1 each.
    const auto square = site_map(2, 2, {{0, 3}, {0, 3}, {0, 3}});
    const auto dirs = at::tensor({1.f, 0.f, 0.f, 1.f, 0.f, -1.f}).view({3, 2});
    const auto all = at::ones({3});
    // Sample 2 ("below"): -1 along, 1 across: 0.1 + 1 + 1.
    EXPECT_NEAR(relation_attention_loss({square}, labels, dirs, all, 0.1).item<double>(),
                (0.1 + 0.1 + 2.1) / 3, 1e-6);
    // Two sites: the mean over sites.
    EXPECT_NEAR(relation_attention_loss({square, square}, labels, dirs, all, 0.1).item<double>(),
                (0.1 + 0.1 + 2.1) / 3, 1e-6);
    // Nothing weighted: zero, not a division by zero.
    EXPECT_EQ(relation_attention_loss({square}, labels, dirs, at::zeros({3}), 0.1).item<double>(), 0.0);
}

TEST(RelationAttentionLoss, DirectionsFollowThePlacementRule) {
    // scenes.cpp places the second phrase right of the first for "left of" and below it for "above".
    EXPECT_EQ(relation_direction(Relation::LeftOf), std::make_pair(1.0, 0.0));
    EXPECT_EQ(relation_direction(Relation::RightOf), std::make_pair(-1.0, 0.0));
    EXPECT_EQ(relation_direction(Relation::Above), std::make_pair(0.0, 1.0));
    EXPECT_EQ(relation_direction(Relation::Below), std::make_pair(0.0, -1.0));
    EXPECT_EQ(relation_direction(Relation::None), std::make_pair(0.0, 0.0));
    // Against real scenes: the rendered centroids of the two phrases step the way the direction says.
    for (std::uint64_t i = 0; i < 200; ++i) {
        const auto s = sample_scene(7, i, Split::Train);
        if (s.relation == Relation::None) continue;
        double step[2][2] = {}; // per phrase: summed x and y, then the mean
        int count[2] = {};
        for (const auto& o : s.objects) {
            step[o.phrase][0] += o.cx, step[o.phrase][1] += o.cy;
            ++count[o.phrase];
        }
        const double bx = step[1][0] / count[1] - step[0][0] / count[0];
        const double by = step[1][1] / count[1] - step[0][1] / count[0];
        const auto [dx, dy] = relation_direction(s.relation);
        EXPECT_GT(bx * dx + by * dy, 0) << s.caption();
    }
}

// The placement count on pure noise: every held-out caption with a relation among the first N is judged once,
// and a model whose maps ignore the caption is right about as often as chance allows, not always.
TEST(RelationPlacement, JudgesEachHeldOutRelationCaptionOnce) {
    const ClipTokenizer tokenizer(ATTNSCOPE_TINY_MODEL);
    const auto unet = UNet::random(tiny_unet_config(0), 4, at::kFloat, at::kCPU);
    const auto text = ClipTextModel::random(tiny_text_config(static_cast<int>(tokenizer.vocab_size()), true),
                                            4, at::kFloat, at::kCPU);
    constexpr int kScenes = 12;
    int with_relation = 0;
    for (int i = 0; i < kScenes; ++i)
        with_relation +=
            sample_scene(1, static_cast<std::uint64_t>(i), Split::HeldOut).relation != Relation::None;
    RelationPlacementOptions options;
    options.self_backend = "flash";
    options.batch = 5; // batches that do not divide the count
    const auto r = evaluate_relation_placement(unet, text, tokenizer, 1, kScenes, options);
    EXPECT_EQ(r.captions, with_relation);
    EXPECT_GT(r.captions, 0);
    EXPECT_LT(r.right, r.captions);
}

} // namespace
} // namespace attnscope::tiny
