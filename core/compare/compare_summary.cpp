#include "compare_summary.h"

#include "session/session_summary.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace attnscope {
namespace {

nlohmann::json side(Session& s) {
    const auto summary = session_summary(s);
    return {{"backend", s.router().default_backend()},
            {"dtype", summary["model"]["dtype"]},
            {"device", summary["model"]["device"]},
            {"backends_used", summary["attention_backends"]}};
}

// {"max_abs": [[...per site...] per step], "mean_abs": ..., "rel_l2": ...}; null where a call is missing.
nlohmann::json grids(const std::map<CaptureKey, Divergence>& errors, AttentionKind kind,
                     const std::vector<int>& steps, const std::set<int>& sites) {
    nlohmann::json out;
    for (const auto& [name, field] :
         {std::pair{"max_abs", &Divergence::max_abs}, std::pair{"mean_abs", &Divergence::mean_abs},
          std::pair{"rel_l2", &Divergence::rel_l2}}) {
        auto rows = nlohmann::json::array();
        for (const int step : steps) {
            auto row = nlohmann::json::array();
            for (const int index : sites) {
                const auto it = errors.find({step, index, kind});
                row.push_back(it == errors.end() ? nlohmann::json(nullptr)
                                                 : nlohmann::json(it->second.*field));
            }
            rows.push_back(row);
        }
        out[name] = rows;
    }
    return out;
}

} // namespace

nlohmann::json to_json(const Divergence& d) {
    return {{"max_abs", d.max_abs}, {"mean_abs", d.mean_abs}, {"rel_l2", d.rel_l2}};
}

nlohmann::json to_json(const ImageComparison& c) {
    return {{"psnr_db", std::isinf(c.psnr_db) ? nlohmann::json("inf") : nlohmann::json(c.psnr_db)},
            {"ssim", c.ssim ? nlohmann::json(*c.ssim) : nlohmann::json(nullptr)},
            {"max_abs", c.max_abs},
            {"diff_gain", c.gain}};
}

nlohmann::json comparison_summary(LockstepComparison& c, const ImageComparison& images) {
    const auto& errors = c.output_errors();
    std::vector<int> steps;
    for (const auto& [step, d] : c.latents_divergence()) steps.push_back(step);
    std::set<int> sites;
    for (const auto& [key, e] : errors) sites.insert(key.index);

    nlohmann::json j;
    const auto a = session_summary(c.a());
    j["mode"] = to_string(c.mode());
    j["a"] = side(c.a());
    j["b"] = side(c.b());
    j["model"] = a["model"];
    j["settings"] = a["settings"];
    j["settings"].erase("attention_backend");
    j["from_step"] = c.from_step();
    j["steps"] = steps;
    j["sites"] = sites;
    j["output_error"] = {{"self", grids(errors, AttentionKind::Self, steps, sites)},
                         {"cross", grids(errors, AttentionKind::Cross, steps, sites)}};
    if (!errors.empty()) {
        const auto worst = std::max_element(errors.begin(), errors.end(), [](const auto& x, const auto& y) {
            return x.second.rel_l2 < y.second.rel_l2;
        });
        j["worst"] = to_json(worst->second);
        j["worst"].update({{"step", worst->first.step},
                           {"index", worst->first.index},
                           {"kind", to_string(worst->first.kind)}});
    }
    auto latents = nlohmann::json::array();
    for (const auto& [step, d] : c.latents_divergence()) {
        auto entry = to_json(d);
        entry["step"] = step;
        latents.push_back(entry);
    }
    j["latents"] = latents;
    j["image"] = to_json(images);
    return j;
}

} // namespace attnscope
