#pragma once
// 2-D attention maps from a capture: a token's (or a word's tokens') cross-attention over the image, or one
// pixel's self-attention, for one head, the mean or the max over heads, at one site or summed over sites
// after up-sampling to a common grid (DAAM), averaged over steps (prompt-to-prompt). Besides P itself, the
// raw scores before the softmax and each query's entropy; of one guidance half or of cond - uncond.
// Everything is recomputed from the captured Q, K and LSE (or the kept cross P), so it is the P the forward
// pass used.
#include "attention/probe.h"
#include "capture_store.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

namespace attnscope {

enum class Upsampling { Bilinear, Bicubic };

// What a map shows. Probability and Score are of the token columns (cross) or the query pixel's row (self);
// Entropy is a map over the queries, whichever the kind.
enum class MapQuantity {
    Probability, // p_ij = exp(s_ij - lse_i)
    Score,       // s_ij = scale q_i.k_j, the logit before the softmax
    Entropy,     // H_i = -sum_j p_ij ln p_ij over all keys of query i's row, in nats
};
const char* to_string(MapQuantity q);

// Which part of a guided batch a map is of: the batch item `MapRequest::batch`, or the guidance split, the
// prompt's half (the last item) minus the negative prompt's (the first), each made alike (same tokens,
// pixel, heads) before subtracting.
enum class BatchView { Item, CondMinusUncond };

struct MapRequest {
    std::vector<int> steps;   // averaged
    std::vector<int> indices; // sites (1..16 for SD), combined on the output grid (see attention_map)
    AttentionKind kind = AttentionKind::Cross;
    int batch = -1; // batch item; -1 is the last one, the prompt's half under classifier-free guidance
    BatchView batch_view = BatchView::Item;
    MapQuantity quantity = MapQuantity::Probability;
    HeadReduction heads = HeadReduction::Mean;
    int head = 0;                    // with HeadReduction::Single
    std::vector<int64_t> tokens;     // cross-attention: token positions, summed
    double query_x = 0, query_y = 0; // self-attention: the query pixel, in [0, 1) of the image's width/height
    int out_width = 0, out_height = 0; // 0: the site's own resolution (one index only)
    Upsampling upsampling = Upsampling::Bilinear;
};

// (out_height, out_width) fp32 on the capture's device. Several sites are summed for probabilities (DAAM)
// and averaged for scores and entropies (a sum of logits or entropies over sites measures nothing). Throws
// std::invalid_argument for a request that names nothing or is out of range, and std::out_of_range naming
// the (step, site) that is not captured.
at::Tensor attention_map(const CaptureStore& store, const MapRequest& request);

// H_i = lse_i - sum_j p_ij s_ij (= -sum_j p_ij ln p_ij) of every query row, (rows, Sq) in fp32 (fp64 for
// fp64 inputs), from q (rows, Sq, d), k (rows, Sk, d) and lse (rows, Sq): a block of queries at a time, so
// no full P of a large self-attention site is ever held.
at::Tensor row_entropy(const at::Tensor& q, const at::Tensor& k, const at::Tensor& lse, double scale);

struct MapStats {
    double min = 0, max = 0, mean = 0;
    double entropy = 0; // of the map normalized to sum 1, in nats
};
MapStats map_stats(const at::Tensor& map);

// Where one site's cross-attention goes on average over its queries (and the heads): shares of the start
// token, the prompt's tokens, the end token and the padding after it. Needs the kept cross P or Q/K/LSE.
struct TokenMass {
    double start = 0, prompt = 0, end = 0, padding = 0;
};
TokenMass token_mass(const CapturedSite& site, int batch, int prompt_length);

} // namespace attnscope
