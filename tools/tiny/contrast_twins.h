#pragma once
// The captions the contrast terms set beside a batch's own (docs/tiny-model.md, r5, r6, r9, r10): the same
// caption with one thing changed, so that a model which ignores that thing cannot tell the two apart.
#include "batch.h"
#include "text/clip_tokenizer.h"

#include <ATen/ATen.h>
#include <cstdint>

namespace attnscope::tiny {

struct TwinOptions {
    bool shape = false; // the first noun naming another shape (--shape-contrast, --unet-shape-contrast)
    double relation_share = 0;      // of the U-Net's twins with a relation, this share names another relation
    bool opposite_relation = false; // the caption under the opposite relation (--relation-contrast)
};

// Rows of dropped captions (and, for the relation twins, of captions without a relation) keep the caption
// itself and weigh 0.
struct ContrastTwins {
    // The first noun naming another shape; that noun's token position; 1 where the caption was not dropped.
    at::Tensor shape_ids, noun_positions, shape_weight;
    // The U-Net contrast's twins: the shape twin, or, for relation_share of the captions with a relation,
    // the caption naming one of the three other relations (1 in unet_relation there).
    at::Tensor unet_ids, unet_relation;
    // The opposite relation; the second noun's token position (the same in both); 1 where there is one.
    at::Tensor relation_ids, relation_positions, relation_weight;
};

// The shifts to other shapes and relations are drawn from `gen` (shapes first), the share's choice from
// (seed, first_index + i): a pure function of its arguments, like the batch.
ContrastTwins make_contrast_twins(const SceneBatch& batch, const ClipTokenizer& tokenizer,
                                  const TwinOptions& options, std::uint64_t seed, std::uint64_t first_index,
                                  at::Generator& gen);

} // namespace attnscope::tiny
