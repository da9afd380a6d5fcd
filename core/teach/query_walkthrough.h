#pragma once
// One query's attention taken apart stage by stage, in float64, from one call's tensors: what the
// visualizer's walk-through and `attnscope walkthrough` show a learner. The query vector q; the keys; the
// scores s_j = scale q.k_j; the row maximum m; exp(s_j - m); their sum Z; P_j = exp(s_j - m) / Z; and
// LSE = m + ln Z beside the LSE the capture kept. With V: each key's contribution P_j v_j, O = sum_j P_j v_j,
// every head's O at this query joined into the model's width and, with the output projection's weights, what
// the call adds to the residual stream. With the hidden state and W_q: q recomputed from where it came from.
// Under guidance, the other half's P for the same head and query, and with the U-Net's output, how
// classifier-free guidance combines the two predictions at the query's place.
#include "attention/attention_site.h"

#include <ATen/ATen.h>
#include <cstdint>

namespace attnscope {

struct WalkthroughInputs {
    AttentionSite site;
    at::Tensor q, k, lse; // (rows, S, d) and (rows, Sq); row = batch item * heads + head
    at::Tensor v;         // (rows, Sk, d), or undefined
    at::Tensor hidden;    // (batch, Sq, channels), or undefined
    at::Tensor w_q;       // to_q's weight (heads * d, channels), or undefined
    at::Tensor w_out;     // to_out.0's weight (channels, heads * d) and bias (channels), or undefined
    at::Tensor b_out;
    at::Tensor unet_output; // the step's U-Net output (batch, C, H, W), or undefined
    double guidance_scale = 1;
};

struct WalkthroughQuery {
    int batch = -1; // -1: the last item, the prompt's half under guidance
    int head = 0;
    int64_t query = 0; // row of the site's grid: y * width + x
};

// Every tensor float64 on the CPU; the optional parts are undefined when their inputs were.
struct QueryWalkthrough {
    AttentionSite site;
    int batch = 0, head = 0;
    int64_t query = 0;
    double scale = 0;
    at::Tensor q;      // (d)
    at::Tensor keys;   // (Sk, d)
    at::Tensor scores; // (Sk): scale q.k_j
    double row_max = 0;
    at::Tensor exps; // (Sk): exp(s_j - row_max)
    double exp_sum = 0;
    at::Tensor probs; // (Sk)
    double lse = 0;   // row_max + ln(exp_sum)
    double captured_lse = 0;

    at::Tensor values;        // (Sk, d)
    at::Tensor contributions; // (Sk, d): P_j v_j
    at::Tensor out;           // (d): O = sum_j P_j v_j
    at::Tensor head_outputs;  // (heads, d): every head's O at this query, joined in this order
    at::Tensor projected;     // (channels): w_out joined + b_out, what is added to the residual stream

    at::Tensor hidden;        // (channels)
    at::Tensor q_from_hidden; // (d): this head's rows of W_q times hidden

    int other_batch = -1;   // under guidance, the other half
    at::Tensor other_probs; // (Sk): its P for the same head and query

    // With the U-Net output under guidance, at the latent pixel under the query's centre (C values each).
    at::Tensor eps_uncond, eps_cond, eps_guided;
    double guidance_scale = 1;
    int latent_x = 0, latent_y = 0;
};

// Throws std::invalid_argument naming what is out of range (batch, head, query) or inconsistent.
QueryWalkthrough walk_query(const WalkthroughInputs& in, const WalkthroughQuery& which);

} // namespace attnscope
