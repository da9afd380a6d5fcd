#include "contrast_twins.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace attnscope::tiny {

namespace {

at::Tensor ids_of(const ClipEncoding& encoding) {
    return at::tensor(encoding.ids, at::kLong);
}

} // namespace

ContrastTwins make_contrast_twins(const SceneBatch& batch, const ClipTokenizer& tokenizer,
                                  const TwinOptions& options, std::uint64_t seed, std::uint64_t first_index,
                                  at::Generator& gen) {
    const int64_t n = batch.ids.size(0);
    ContrastTwins t;
    if (options.shape) {
        const auto& shapes = all_shapes();
        const auto shift = at::randint(1, static_cast<int64_t>(shapes.size()), {n}, gen, at::kLong);
        t.shape_ids = batch.ids.clone();
        t.noun_positions = at::zeros({n}, at::kLong);
        t.shape_weight = batch.dropped.logical_not().to(at::kFloat);
        for (int64_t i = 0; i < n; ++i) {
            if (batch.dropped[i].item<bool>()) continue;
            const auto& scene = batch.scenes[i];
            const auto own = std::find(shapes.begin(), shapes.end(), scene.phrases[0].shape) - shapes.begin();
            const auto other =
                with_first_shape(scene, shapes[(own + shift[i].item<int64_t>()) % shapes.size()]);
            const auto encoding = tokenizer.encode(other.caption());
            t.shape_ids[i].copy_(ids_of(encoding));
            // One token per word: the noun sits where it sits in the caption itself.
            t.noun_positions[i] = word_token_positions(other, encoding)[other.phrases[0].noun_word];
        }
        // Taken from the shape twins, which every caption that gets no relation twin keeps.
        t.unet_ids = t.shape_ids.clone();
        t.unet_relation = at::zeros({n}, at::kFloat);
    }
    if (options.relation_share > 0) {
        if (!options.shape)
            throw std::invalid_argument("make_contrast_twins: relation twins need shape twins");
        const std::vector<Relation> relations{Relation::LeftOf, Relation::RightOf, Relation::Above,
                                              Relation::Below};
        const auto shift = at::randint(1, 4, {n}, gen, at::kLong);
        constexpr std::uint64_t kRelationTwinStream = 2;
        for (int64_t i = 0; i < n; ++i) {
            const auto& scene = batch.scenes[i];
            if (batch.dropped[i].item<bool>() || scene.relation == Relation::None ||
                sample_uniform(seed, first_index + i, kRelationTwinStream) >= options.relation_share)
                continue;
            const auto own =
                std::find(relations.begin(), relations.end(), scene.relation) - relations.begin();
            const auto relation = relations[(own + shift[i].item<int64_t>()) % relations.size()];
            t.unet_ids[i].copy_(ids_of(tokenizer.encode(caption_with_relation(scene, relation))));
            t.unet_relation[i] = 1;
        }
    }
    if (options.opposite_relation) {
        t.relation_ids = batch.ids.clone();
        t.relation_positions = at::zeros({n}, at::kLong);
        t.relation_weight = at::zeros({n}, at::kFloat);
        for (int64_t i = 0; i < n; ++i) {
            const auto& scene = batch.scenes[i];
            if (batch.dropped[i].item<bool>() || scene.relation == Relation::None) continue;
            const auto twin = opposite_twin(scene);
            const auto encoding = tokenizer.encode(twin.caption());
            t.relation_ids[i].copy_(ids_of(encoding));
            t.relation_positions[i] = word_token_positions(twin, encoding)[twin.phrases[1].noun_word];
            t.relation_weight[i] = 1;
        }
    }
    return t;
}

} // namespace attnscope::tiny
