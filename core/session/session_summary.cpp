#include "session_summary.h"

#include "util/version.h"

#include <algorithm>

namespace attnscope {
namespace {

nlohmann::json tokens_json(const ClipEncoding& e) {
    auto tokens = nlohmann::json::array();
    for (int i = 0; i < e.length; ++i) {
        const int w = e.word_index[i];
        tokens.push_back({{"position", i},
                          {"id", e.ids[i]},
                          {"text", e.display[i]},
                          {"word", w >= 0 ? nlohmann::json(e.words[w]) : nlohmann::json(nullptr)}});
    }
    return {{"tokens", tokens}, {"truncated", e.truncated}, {"dropped_tokens", e.dropped_tokens}};
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

nlohmann::json session_summary(Session& session) {
    const auto& s = session.settings();
    const auto& p = session.pipeline();
    nlohmann::json j;
    j["attnscope_version"] = version();
    j["attnscope_commit"] = git_commit();
    j["model"] = {{"source", p.source},
                  {"unet", p.unet.config().describe()},
                  {"text_encoder", p.text_encoder.config().describe()},
                  {"decoder", p.vae ? p.vae->config().describe() : "none (pixel space)"},
                  {"dtype", c10::toString(p.unet.dtype())},
                  {"device", p.unet.device().str()}};
    auto loras = nlohmann::json::array();
    for (const auto& l : p.loras)
        loras.push_back({{"path", l.path}, {"layers", l.layers}, {"scale", l.scale->load()}});
    j["model"]["loras"] = loras;
    j["settings"] = {{"prompt", s.prompt},
                     {"negative_prompt", s.negative_prompt},
                     {"seed", s.seed},
                     {"steps", s.steps},
                     {"guidance_scale", session.guidance_scale()},
                     {"scheduler", to_string(s.scheduler)},
                     {"prediction", to_string(p.unet.config().prediction)},
                     {"width", s.width},
                     {"height", s.height},
                     {"attention_backend", session.router().default_backend()}};
    if (const auto& start = s.start_image)
        j["settings"]["start_image"] = {{"file", start->source},
                                        {"width", start->image->width},
                                        {"height", start->image->height},
                                        {"strength", start->strength},
                                        {"first_step", session.first_scheduled_step()}};
    if (const auto& reading = s.reading) {
        j["settings"]["reading"] = {{"file", reading->source},
                                    {"width", reading->image->width},
                                    {"height", reading->image->height},
                                    {"timesteps", reading->timesteps},
                                    {"noises", reading->noises}};
        j["settings"].erase("scheduler");
    }
    j["prompt"] = tokens_json(session.prompt_tokens());
    if (session.guided()) j["negative_prompt"] = tokens_json(session.negative_tokens());

    auto steps = nlohmann::json::array();
    std::vector<double> unet_ms;
    double total_ms = 0;
    for (const auto& info : session.history()) {
        steps.push_back({{"index", info.index},
                         {"timestep", info.timestep},
                         {"unet_ms", info.unet_ms},
                         {"step_ms", info.step_ms},
                         {"cuda_graph", info.cuda_graph}});
        unet_ms.push_back(info.unet_ms);
        total_ms += info.step_ms;
    }
    j["steps"] = steps;
    j["steps_done"] = session.current_step();
    j["total_steps"] = session.total_steps();
    j["denoising_ms"] = total_ms;
    j["unet_ms_median"] = median(unet_ms);
    j["unet_run"] = session.unet_run();

    nlohmann::json backends = nlohmann::json::object();
    for (const auto& [site, name] : session.router().last_used())
        backends[std::to_string(site.first) + "." + to_string(site.second)] = name;
    j["attention_backends"] = backends;
    nlohmann::json why = nlohmann::json::object();
    for (const auto& [site, reason] : session.router().last_why())
        why[std::to_string(site.first) + "." + to_string(site.second)] = reason;
    j["attention_backend_reasons"] = why;
    return j;
}

} // namespace attnscope
