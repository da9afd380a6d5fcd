#pragma once
// Whether the cross-attention alone puts the second phrase where the relation says, before the picture has
// any say: the U-Net on pure noise at the noisiest timestep, each phrase's attention centroid per site (as
// relation_attention_loss sees it), averaged over the sites, counted right when the second phrase's lies
// further along the relation than across it from the first's. At chance a quarter of the directions pass.
#include "model/unet.h"
#include "scenes.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

#include <cstdint>
#include <string>

namespace attnscope::tiny {

struct RelationPlacement {
    int captions = 0; // held-out captions with a relation among those looked at
    int right = 0;
    double rate() const { return captions ? static_cast<double>(right) / captions : 0; }
};

struct RelationPlacementOptions {
    int timestep = 999;
    int batch = 8;
    std::uint64_t noise_seed = 0;
    std::string self_backend = "auto"; // cross-attention always runs "math" (P is needed)
};

// The first `count` held-out scenes of `seed` (those with a relation count).
RelationPlacement evaluate_relation_placement(const UNet& unet, const ClipTextModel& text,
                                              const ClipTokenizer& tokenizer, std::uint64_t seed, int count,
                                              const RelationPlacementOptions& options = {});

} // namespace attnscope::tiny
