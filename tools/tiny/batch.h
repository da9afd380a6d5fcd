#pragma once
// Scenes as model inputs: images, token ids, which tokens name which object, and the objects' coverage.
#include "scenes.h"
#include "text/clip_tokenizer.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

namespace attnscope::tiny {

struct SceneBatch {
    std::vector<Scene> scenes;
    at::Tensor images; // (B, 3, 64, 64) float in [-1, 1]
    at::Tensor ids;    // (B, 77) int64: the caption, or the empty prompt where it was dropped
    at::Tensor
        token_labels;    // (B, 77) int64: the label a token refers to (0 background, g + 1 phrase g), -1 none
    at::Tensor coverage; // (B, kMaxLabels, 64, 64) float: visible coverage per label, 0 for absent labels
    at::Tensor dropped;  // (B) bool: caption replaced by the empty prompt (classifier-free guidance)

    SceneBatch to(at::Device device) const; // tensors moved, scenes kept
};

// Samples seed's scenes first_index .. first_index + count - 1 of `split`; each caption is replaced by the
// empty prompt with probability drop_caption (decided per index, so reproducible). Renders in parallel.
SceneBatch make_batch(std::uint64_t seed, std::uint64_t first_index, int count, Split split,
                      const ClipTokenizer& tokenizer, double drop_caption = 0);

// Token position of each caption word (one token per word with the tiny vocabulary; throws otherwise).
std::vector<int> word_token_positions(const Scene& scene, const ClipEncoding& encoding);

} // namespace attnscope::tiny
