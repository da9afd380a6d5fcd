#pragma once
// The layout a relation asks for, charged on the cross-attention maps: where the second phrase's attention
// lies against the first's. The localization loss compares each phrase's map with where its object was
// drawn, which the noisiest timesteps cannot know (r11: it stays at 0.12 there); this term asks only for
// the placement relative to the other phrase, which the caption alone decides.
#include "cross_attention_maps.h"
#include "scenes.h"

#include <ATen/ATen.h>
#include <vector>

namespace attnscope::tiny {

// The unit step from the first phrase towards the second in image coordinates (x right, y down) that the
// relation says: "left of" (1, 0), "right of" (-1, 0), "above" (0, 1), "below" (0, -1); (0, 0) for none.
std::pair<double, double> relation_direction(Relation relation);

// (B, 2) float: relation_direction of each scene's relation.
at::Tensor relation_directions(const std::vector<Scene>& scenes);

// (B, 2): per sample, the second phrase's attention centroid at this site minus the first's, each phrase's
// map being the sum over its tokens (token_labels (B, T): 1 and 2) normalised over the site's pixels, with
// pixel centres at coordinates in [-1, 1] (x right, y down).
at::Tensor phrase_centroid_step(const SiteMap& map, const at::Tensor& token_labels);

// How far `step` (B, 2) goes along `direction` (B, 2) beyond how far it strays across it: positive where the
// second phrase stands in the relation to the first as the picture check asks.
at::Tensor along_beyond_across(const at::Tensor& step, const at::Tensor& direction);

// Mean over sites and samples of max(0, margin - along + |across|), along and across `direction` (B, 2) being
// the components of each site's phrase_centroid_step, over the samples with a relation (a nonzero direction)
// that `weight` (B) keeps (0: a dropped caption); zero where there is none. The check on a drawn picture asks
// the same: the second object's centroid further along the relation than across it.
at::Tensor relation_attention_loss(const std::vector<SiteMap>& maps, const at::Tensor& token_labels,
                                   const at::Tensor& direction, const at::Tensor& weight, double margin);

} // namespace attnscope::tiny
