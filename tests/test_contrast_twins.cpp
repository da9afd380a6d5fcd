// The contrast terms' twin captions: each names exactly the one thing it is meant to change.
#include "contrast_twins.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

namespace attnscope::tiny {
namespace {

const ClipTokenizer& tokenizer() {
    static const ClipTokenizer t(ATTNSCOPE_TINY_MODEL "/tokenizer");
    return t;
}

at::Tensor ids(const std::string& caption) {
    return at::tensor(tokenizer().encode(caption).ids, at::kLong);
}

bool same(const at::Tensor& a, const at::Tensor& b) {
    return a.equal(b);
}

constexpr int kScenes = 48;

SceneBatch batch() {
    return make_batch(7, 100, kScenes, Split::Train, tokenizer(), 0.2);
}

ContrastTwins twins(const SceneBatch& b, const TwinOptions& o) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    return make_contrast_twins(b, tokenizer(), o, 7, 100, gen);
}

TEST(ContrastTwins, ShapeTwinsNameAnotherShapeAtTheNoun) {
    const auto b = batch();
    const auto t = twins(b, {true, 0, false});
    int dropped = 0;
    for (int i = 0; i < kScenes; ++i) {
        const auto& scene = b.scenes[i];
        if (b.dropped[i].item<bool>()) {
            ++dropped;
            EXPECT_EQ(t.shape_weight[i].item<float>(), 0);
            EXPECT_TRUE(same(t.shape_ids[i], b.ids[i]));
            continue;
        }
        EXPECT_EQ(t.shape_weight[i].item<float>(), 1);
        bool matched = false;
        for (const auto shape : all_shapes())
            if (shape != scene.phrases[0].shape &&
                same(t.shape_ids[i], ids(with_first_shape(scene, shape).caption())))
                matched = true;
        EXPECT_TRUE(matched) << scene.caption();
        // start token + the words before the noun
        EXPECT_EQ(t.noun_positions[i].item<int64_t>(), scene.phrases[0].noun_word + 1) << scene.caption();
        // Without relation twins the U-Net compares against the shape twin.
        EXPECT_TRUE(same(t.unet_ids[i], t.shape_ids[i]));
        EXPECT_EQ(t.unet_relation[i].item<float>(), 0);
    }
    EXPECT_GT(dropped, 0);
    EXPECT_LT(dropped, kScenes);
    EXPECT_FALSE(t.relation_ids.defined());
}

// r9 and r10 were trained with every caption that drew no relation twin compared against itself: no shape
// contrast at all where there should have been one.
TEST(ContrastTwins, EveryCaptionedUNetTwinDiffersFromItsCaption) {
    const auto b = batch();
    const auto t = twins(b, {true, 0.5, false});
    int relation_twins = 0, shape_twins = 0, shape_twins_with_relation = 0;
    for (int i = 0; i < kScenes; ++i) {
        const auto& scene = b.scenes[i];
        if (b.dropped[i].item<bool>()) continue;
        EXPECT_FALSE(same(t.unet_ids[i], b.ids[i])) << scene.caption();
        if (t.unet_relation[i].item<float>() > 0) {
            ++relation_twins;
            ASSERT_NE(scene.relation, Relation::None);
            bool matched = false;
            for (const auto r : {Relation::LeftOf, Relation::RightOf, Relation::Above, Relation::Below})
                if (r != scene.relation && same(t.unet_ids[i], ids(caption_with_relation(scene, r))))
                    matched = true;
            EXPECT_TRUE(matched) << scene.caption();
        } else {
            ++shape_twins;
            shape_twins_with_relation += scene.relation != Relation::None;
            EXPECT_TRUE(same(t.unet_ids[i], t.shape_ids[i])) << scene.caption();
        }
    }
    EXPECT_GT(relation_twins, 0);
    EXPECT_GT(shape_twins_with_relation,
              0); // the share is a share: some two-phrase captions keep shape twins
}

TEST(ContrastTwins, OppositeRelationKeepsTheSecondNounInPlace) {
    const auto b = batch();
    const auto t = twins(b, {false, 0, true});
    EXPECT_FALSE(t.shape_ids.defined());
    int with_relation = 0;
    for (int i = 0; i < kScenes; ++i) {
        const auto& scene = b.scenes[i];
        if (b.dropped[i].item<bool>() || scene.relation == Relation::None) {
            EXPECT_EQ(t.relation_weight[i].item<float>(), 0);
            EXPECT_TRUE(same(t.relation_ids[i], b.ids[i]));
            continue;
        }
        ++with_relation;
        EXPECT_EQ(t.relation_weight[i].item<float>(), 1);
        EXPECT_TRUE(same(t.relation_ids[i], ids(caption_with_relation(scene, opposite(scene.relation)))));
        EXPECT_EQ(t.relation_positions[i].item<int64_t>(), scene.phrases[1].noun_word + 1) << scene.caption();
    }
    EXPECT_GT(with_relation, 0);
}

} // namespace
} // namespace attnscope::tiny
