#include "walkthrough_json.h"

namespace attnscope {
namespace {

nlohmann::json numbers(const at::Tensor& t) {
    if (!t.defined()) return nullptr;
    const auto c = t.contiguous();
    const auto* p = c.data_ptr<double>();
    if (c.dim() == 1) return std::vector<double>(p, p + c.numel());
    auto rows = nlohmann::json::array();
    for (int64_t r = 0; r < c.size(0); ++r)
        rows.push_back(std::vector<double>(p + r * c.size(1), p + (r + 1) * c.size(1)));
    return rows;
}

} // namespace

std::vector<std::string> key_labels(const AttentionSite& site, const std::vector<std::string>& token_texts) {
    std::vector<std::string> labels;
    for (int64_t j = 0; j < site.seq_k; ++j) {
        if (site.kind == AttentionKind::Self)
            labels.push_back(std::to_string(j % site.width) + "," + std::to_string(j / site.width));
        else
            labels.push_back(j < static_cast<int64_t>(token_texts.size()) ? token_texts[j] : "<pad>");
    }
    return labels;
}

nlohmann::json walkthrough_json(const QueryWalkthrough& w, const std::vector<std::string>& labels) {
    const auto& s = w.site;
    nlohmann::json j{
        {"site",
         {{"index", s.index},
          {"kind", to_string(s.kind)},
          {"module", s.module},
          {"width", s.width},
          {"height", s.height},
          {"heads", s.heads},
          {"head_dim", s.head_dim},
          {"batch", s.batch},
          {"queries", s.seq_q},
          {"keys", s.seq_k}}},
        {"batch", w.batch},
        {"head", w.head},
        {"query", {{"row", w.query}, {"x", w.query % s.width}, {"y", w.query / s.width}}},
        {"key_labels", labels},
        {"q", numbers(w.q)},
        {"keys", numbers(w.keys)},
        {"scale", w.scale},
        {"scores", numbers(w.scores)},
        {"row_max", w.row_max},
        {"exp_shifted", numbers(w.exps)},
        {"exp_sum", w.exp_sum},
        {"probs", numbers(w.probs)},
        {"lse", w.lse},
        {"captured_lse", w.captured_lse},
        {"values", numbers(w.values)},
        {"contributions", numbers(w.contributions)},
        {"out", numbers(w.out)},
        {"head_outputs", numbers(w.head_outputs)},
        {"projected", numbers(w.projected)},
        {"hidden", numbers(w.hidden)},
        {"q_from_hidden", numbers(w.q_from_hidden)},
    };
    if (w.other_probs.defined())
        j["other_half"] = {{"batch", w.other_batch}, {"probs", numbers(w.other_probs)}};
    if (w.eps_guided.defined())
        j["guidance"] = {{"scale", w.guidance_scale},
                         {"latent_pixel", {w.latent_x, w.latent_y}},
                         {"eps_uncond", numbers(w.eps_uncond)},
                         {"eps_cond", numbers(w.eps_cond)},
                         {"eps_guided", numbers(w.eps_guided)}};
    return j;
}

} // namespace attnscope
