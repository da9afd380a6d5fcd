#include "query_walkthrough.h"

#include "util/shape_string.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

at::Tensor f64(const at::Tensor& t) {
    return t.to(at::kCPU, at::kDouble);
}

void expect_shape(const at::Tensor& t, c10::ArrayRef<int64_t> shape, const std::string& what) {
    if (t.sizes() != shape)
        throw std::invalid_argument("walk-through: " + what + " has shape " + shape_string(t.sizes()) +
                                    ", expected " + shape_string(shape));
}

// Softmax of one row of scores taken apart: maximum, shifted exponentials, their sum, P and the LSE.
void softmax_stages(QueryWalkthrough& w) {
    w.row_max = w.scores.max().item<double>();
    w.exps = at::exp(w.scores - w.row_max);
    w.exp_sum = w.exps.sum().item<double>();
    w.probs = w.exps / w.exp_sum;
    w.lse = w.row_max + std::log(w.exp_sum);
}

// P of (row, query) over every key, recomputed from Q and K the same way.
at::Tensor row_probs(const at::Tensor& q, const at::Tensor& k, int64_t row, int64_t query, double scale) {
    return at::softmax(at::mv(f64(k[row]), f64(q[row][query])) * scale, 0);
}

void guidance(QueryWalkthrough& w, const WalkthroughInputs& in) {
    const auto& out = in.unet_output;
    if (!out.defined() || out.size(0) != 2 || in.site.batch != 2) return;
    w.guidance_scale = in.guidance_scale;
    const int64_t qx = w.query % in.site.width, qy = w.query / in.site.width;
    w.latent_x = static_cast<int>((2 * qx + 1) * out.size(3) / (2 * in.site.width));
    w.latent_y = static_cast<int>((2 * qy + 1) * out.size(2) / (2 * in.site.height));
    const auto at_pixel = f64(out.select(3, w.latent_x).select(2, w.latent_y)); // (2, C)
    w.eps_uncond = at_pixel[0];
    w.eps_cond = at_pixel[1];
    w.eps_guided = w.eps_uncond + in.guidance_scale * (w.eps_cond - w.eps_uncond);
}

} // namespace

QueryWalkthrough walk_query(const WalkthroughInputs& in, const WalkthroughQuery& which) {
    const auto& site = in.site;
    const int64_t batch = site.batch, heads = site.heads, d = site.head_dim;
    const int64_t rows = batch * heads;
    expect_shape(in.q, {rows, site.seq_q, d}, "Q");
    expect_shape(in.k, {rows, site.seq_k, d}, "K");
    expect_shape(in.lse, {rows, site.seq_q}, "the LSE");
    QueryWalkthrough w;
    w.site = site;
    w.batch = which.batch < 0 ? static_cast<int>(batch) + which.batch : which.batch;
    w.head = which.head;
    w.query = which.query;
    if (w.batch < 0 || w.batch >= batch)
        throw std::invalid_argument("walk-through: batch item " + std::to_string(which.batch) +
                                    " is not one of 0.." + std::to_string(batch - 1));
    if (w.head < 0 || w.head >= heads)
        throw std::invalid_argument("walk-through: head " + std::to_string(w.head) + " is not one of 0.." +
                                    std::to_string(heads - 1) + " at " + site.label());
    if (w.query < 0 || w.query >= site.seq_q)
        throw std::invalid_argument("walk-through: query " + std::to_string(w.query) + " is not one of 0.." +
                                    std::to_string(site.seq_q - 1) + " at " + site.label());
    const int64_t row = w.batch * heads + w.head;
    w.scale = site.scale();
    w.q = f64(in.q[row][w.query]);
    w.keys = f64(in.k[row]);
    w.scores = at::mv(w.keys, w.q) * w.scale;
    softmax_stages(w);
    w.captured_lse = in.lse[row][w.query].item<double>();

    if (in.v.defined()) {
        expect_shape(in.v, in.k.sizes(), "V");
        w.values = f64(in.v[row]);
        w.contributions = w.values * w.probs.unsqueeze(1);
        w.out = w.contributions.sum(0);
        std::vector<at::Tensor> each;
        for (int64_t h = 0; h < heads; ++h) {
            const int64_t r = w.batch * heads + h;
            each.push_back(
                h == w.head ? w.out : at::mv(f64(in.v[r]).t(), row_probs(in.q, in.k, r, w.query, w.scale)));
        }
        w.head_outputs = at::stack(each);
        if (in.w_out.defined()) {
            const auto joined = w.head_outputs.reshape({-1});
            expect_shape(in.w_out, {in.w_out.size(0), heads * d}, "the output projection's weight");
            w.projected = at::mv(f64(in.w_out), joined);
            if (in.b_out.defined()) w.projected = w.projected + f64(in.b_out);
        }
    }
    if (in.hidden.defined()) {
        expect_shape(in.hidden, {batch, site.seq_q, in.hidden.size(2)}, "the hidden state");
        w.hidden = f64(in.hidden[w.batch][w.query]);
        if (in.w_q.defined()) {
            expect_shape(in.w_q, {heads * d, w.hidden.size(0)}, "W_q");
            w.q_from_hidden = at::mv(f64(in.w_q).narrow(0, w.head * d, d), w.hidden);
        }
    }
    if (batch == 2) {
        w.other_batch = 1 - w.batch;
        w.other_probs = row_probs(in.q, in.k, w.other_batch * heads + w.head, w.query, w.scale);
    }
    guidance(w, in);
    return w;
}

} // namespace attnscope
