#pragma once
// 2-D attention maps from a capture: a token's (or a word's tokens') cross-attention over the image, or one
// pixel's self-attention, for one head, the mean or the max over heads, at one site or summed over sites
// after up-sampling to a common grid (DAAM), averaged over steps (prompt-to-prompt). Everything is
// recomputed from the captured Q, K and LSE (or the kept cross P), so it is the P the forward pass used.
#include "attention/probe.h"
#include "capture_store.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

namespace attnscope {

enum class Upsampling { Bilinear, Bicubic };

struct MapRequest {
    std::vector<int> steps;   // averaged
    std::vector<int> indices; // sites 1..16, summed on the output grid
    AttentionKind kind = AttentionKind::Cross;
    int batch = -1; // batch item; -1 is the last one, the prompt's half under classifier-free guidance
    HeadReduction heads = HeadReduction::Mean;
    int head = 0;                    // with HeadReduction::Single
    std::vector<int64_t> tokens;     // cross-attention: token positions, summed
    double query_x = 0, query_y = 0; // self-attention: the query pixel, in [0, 1) of the image's width/height
    int out_width = 0, out_height = 0; // 0: the site's own resolution (one index only)
    Upsampling upsampling = Upsampling::Bilinear;
};

// (out_height, out_width) fp32 on the capture's device. Throws std::invalid_argument for a request that
// names nothing or is out of range, and std::out_of_range naming the (step, site) that is not captured.
at::Tensor attention_map(const CaptureStore& store, const MapRequest& request);

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
