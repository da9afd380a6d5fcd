#include "attention_maps.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnscope {
namespace {

ProbeInputs probe_inputs(const CapturedSite& c) {
    return {c.q, c.k, c.lse, c.site.heads, c.site.scale()};
}

at::ScalarType wide_type(const at::Tensor& t) {
    return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// One batch item's heads of a (B*heads, ...) tensor, widened for arithmetic.
at::Tensor heads_of(const at::Tensor& t, const CapturedSite& c, int64_t batch) {
    return t.narrow(0, batch * c.site.heads, c.site.heads).to(wide_type(c.q));
}

// The full P rows of one batch item's heads, (heads, Sq, Sk) fp32: kept cross P, else recomputed.
at::Tensor cross_probs(const CapturedSite& c, int64_t batch) {
    const int64_t h = c.site.heads;
    if (c.probs.defined()) return c.probs.narrow(0, batch * h, h).to(at::kFloat);
    const auto q = c.q.narrow(0, batch * h, h).to(at::kFloat), k = c.k.narrow(0, batch * h, h).to(at::kFloat);
    return at::exp(at::matmul(q, k.transpose(-1, -2)) * c.site.scale() -
                   c.lse.narrow(0, batch * h, h).unsqueeze(-1));
}

at::Tensor reduce_heads(const at::Tensor& per_head, const MapRequest& r) { // (heads, n) -> (n)
    switch (r.heads) {
    case HeadReduction::Single:
        return per_head[r.head];
    case HeadReduction::Max:
        return at::amax(per_head, 0);
    default:
        return per_head.mean(0);
    }
}

// The token columns of a cross-attention site, summed: (heads, Sq).
at::Tensor token_columns(const CapturedSite& c, const MapRequest& r, int64_t batch) {
    if (r.tokens.empty()) throw std::invalid_argument("a cross-attention map needs at least one token");
    for (const auto t : r.tokens)
        if (t < 0 || t >= c.site.seq_k)
            throw std::invalid_argument("token " + std::to_string(t) + " is outside the " +
                                        std::to_string(c.site.seq_k) + "-token context");
    const auto columns = at::tensor(r.tokens, at::kLong).to(c.q.device());
    if (r.quantity == MapQuantity::Probability) return cross_probs(c, batch).index_select(2, columns).sum(2);
    const auto keys = heads_of(c.k, c, batch).index_select(1, columns); // (heads, tokens, d)
    return (at::matmul(heads_of(c.q, c, batch), keys.transpose(-1, -2)) * c.site.scale()).sum(2);
}

// The query row of the pixel the request names.
int64_t query_row(const CapturedSite& c, const MapRequest& r) {
    if (!(r.query_x >= 0 && r.query_x < 1 && r.query_y >= 0 && r.query_y < 1))
        throw std::invalid_argument("the query pixel must lie inside the image: x and y in [0, 1)");
    const auto& s = c.site;
    return static_cast<int64_t>(r.query_y * s.height) * s.width + static_cast<int64_t>(r.query_x * s.width);
}

// One site's map of one batch item at its own resolution, (height, width).
at::Tensor site_map(const CapturedSite& c, const MapRequest& r, int64_t batch) {
    const auto& s = c.site;
    if (r.heads == HeadReduction::Single && (r.head < 0 || r.head >= s.heads))
        throw std::invalid_argument("head " + std::to_string(r.head) + " does not exist at " + s.label() +
                                    " (" + std::to_string(s.heads) + " heads)");
    at::Tensor map;
    if (r.quantity == MapQuantity::Entropy) {
        // Every row of every head is a full pass over the keys: a single head's tile computes only its own
        // (the head grid asks for each head in turn; at 64x64 that was 10 times the work of one).
        const bool one = r.heads == HeadReduction::Single;
        const auto rows_of = [&](const at::Tensor& t) {
            const auto all = heads_of(t, c, batch);
            return one ? all.narrow(0, r.head, 1) : all;
        };
        const auto per_head = row_entropy(rows_of(c.q), rows_of(c.k), rows_of(c.lse), s.scale());
        map = one ? per_head[0] : reduce_heads(per_head, r);
    } else if (s.kind == AttentionKind::Cross) {
        map = reduce_heads(token_columns(c, r, batch), r);
    } else if (r.quantity == MapQuantity::Score) {
        const auto query = heads_of(c.q, c, batch).select(1, query_row(c, r)).unsqueeze(-1); // (heads, d, 1)
        map = reduce_heads(at::matmul(heads_of(c.k, c, batch), query).squeeze(-1) * s.scale(), r);
    } else {
        ProbeSelection sel;
        sel.axis = ProbeAxis::QueryRow;
        sel.index = query_row(c, r);
        sel.batch = batch;
        sel.reduction = r.heads;
        sel.head = r.head;
        map = probe_map(probe_inputs(c), sel);
    }
    return map.to(at::kFloat).reshape({s.height, s.width});
}

// The map of the batch item or guidance split the request names.
at::Tensor batch_map(const CapturedSite& c, const MapRequest& r) {
    const int64_t batches = c.q.size(0) / c.site.heads;
    if (r.batch_view == BatchView::CondMinusUncond) {
        const std::string why = "the guidance split (cond - uncond) needs both halves of a guided batch; ";
        if (batches < 2)
            throw std::invalid_argument(why + c.site.label() + " has " + std::to_string(batches) +
                                        " batch item (made without classifier-free guidance)");
        return site_map(c, r, batches - 1) - site_map(c, r, 0);
    }
    const int64_t batch = r.batch < 0 ? batches - 1 : r.batch;
    if (batch >= batches)
        throw std::invalid_argument("batch item " + std::to_string(batch) + " does not exist (" +
                                    std::to_string(batches) + " captured)");
    return site_map(c, r, batch);
}

at::Tensor resize(const at::Tensor& map, int64_t h, int64_t w, Upsampling mode) {
    if (map.size(0) == h && map.size(1) == w) return map;
    const auto x = map.unsqueeze(0).unsqueeze(0);
    const auto out = mode == Upsampling::Bicubic
                         ? at::upsample_bicubic2d(x, {h, w}, false, c10::nullopt, c10::nullopt)
                         : at::upsample_bilinear2d(x, {h, w}, false, c10::nullopt, c10::nullopt);
    return out.squeeze(0).squeeze(0);
}

} // namespace

const char* to_string(MapQuantity q) {
    switch (q) {
    case MapQuantity::Score:
        return "score";
    case MapQuantity::Entropy:
        return "entropy";
    default:
        return "probability";
    }
}

at::Tensor attention_map(const CaptureStore& store, const MapRequest& r) {
    if (r.steps.empty() || r.indices.empty())
        throw std::invalid_argument("an attention map needs at least one step and one site index");
    if (r.indices.size() > 1 && (r.out_width <= 0 || r.out_height <= 0))
        throw std::invalid_argument(
            "maps of several sites are combined on a common grid: give its width and height");
    at::Tensor sum;
    for (const int step : r.steps) {
        for (const int index : r.indices) {
            const auto* c = store.find(step, index, r.kind);
            if (!c)
                throw std::out_of_range("step " + std::to_string(step + 1) + " index " +
                                        std::to_string(index) + " " + to_string(r.kind) +
                                        "-attention is not in the capture (not captured, or "
                                        "evicted to stay within its budget)");
            auto m = batch_map(*c, r);
            if (r.out_width > 0 && r.out_height > 0) m = resize(m, r.out_height, r.out_width, r.upsampling);
            sum = sum.defined() ? sum + m : m;
        }
    }
    const auto sites = r.quantity == MapQuantity::Probability ? 1.0 : static_cast<double>(r.indices.size());
    return sum / (static_cast<double>(r.steps.size()) * sites);
}

at::Tensor row_entropy(const at::Tensor& q, const at::Tensor& k, const at::Tensor& lse, double scale) {
    const auto wide = wide_type(q);
    const auto kt = k.to(wide).transpose(-1, -2);
    // About 16 Mi scores per block: 512 queries of a 64x64 site's 8 heads of self-attention.
    const int64_t rows =
        std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, q.size(0) * k.size(1)));
    std::vector<at::Tensor> parts;
    for (int64_t r = 0; r < q.size(1); r += rows) {
        const int64_t n = std::min(rows, q.size(1) - r);
        const auto s = at::matmul(q.narrow(1, r, n).to(wide), kt) * scale;
        const auto l = lse.narrow(1, r, n).to(wide);
        parts.push_back(l - (at::exp(s - l.unsqueeze(-1)) * s).sum(-1));
    }
    return at::cat(parts, 1);
}

MapStats map_stats(const at::Tensor& map) {
    const auto m = map.to(at::kDouble);
    MapStats s;
    s.min = m.min().item<double>();
    s.max = m.max().item<double>();
    s.mean = m.mean().item<double>();
    const double total = m.sum().item<double>();
    if (total > 0) {
        const auto p = m.clamp_min(0) / total;
        s.entropy = -(p * at::log(p.clamp_min(1e-300))).sum().item<double>();
    }
    return s;
}

TokenMass token_mass(const CapturedSite& c, int batch, int prompt_length) {
    if (c.site.kind != AttentionKind::Cross)
        throw std::invalid_argument("token mass is a cross-attention measure");
    if (prompt_length < 2 || prompt_length > c.site.seq_k)
        throw std::invalid_argument("prompt length " + std::to_string(prompt_length) + " does not fit " +
                                    std::to_string(c.site.seq_k) + " tokens");
    // (Sk): the mean over heads and queries
    const auto share = cross_probs(c, batch).to(at::kDouble).mean(at::IntArrayRef{0, 1});
    const auto part = [&](int64_t from, int64_t n) {
        return n > 0 ? share.narrow(0, from, n).sum().template item<double>() : 0.0;
    };
    return {part(0, 1), part(1, prompt_length - 2), part(prompt_length - 1, 1),
            part(prompt_length, c.site.seq_k - prompt_length)};
}

} // namespace attnscope
