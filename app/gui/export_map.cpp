#include "export_map.h"

#include "io/mapped_file.h"
#include "io/png_file.h"
#include "render/map_png.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>

namespace attnscope::gui {

namespace {

// What the map is of, in maps.json's words.
nlohmann::json describe(const UiState& s) {
    const auto& v = s.maps.request;
    nlohmann::json j;
    j["model"] = s.snap.model_source;
    j["prompt"] = s.snap.session_settings.prompt;
    j["seed"] = s.snap.session_settings.seed;
    j["guidance_scale"] = s.snap.session_settings.guidance_scale.value_or(s.snap.model_guidance);
    if (const auto& run = s.snap.session_settings; !run.start_image.empty()) {
        if (run.read_picture)
            j["reading"] = {{"file", run.start_image}, {"noises", run.reading_noises}};
        else
            j["start_image"] = {{"file", run.start_image}, {"strength", run.strength}};
    }
    j["kind"] = v.self ? "self" : "cross";
    j["sites"] = s.maps.main_sites;
    auto steps = nlohmann::json::array();
    for (int k = v.steps_from < 0 ? v.step : v.steps_from; k <= v.step; ++k) steps.push_back(k + 1);
    j["steps"] = steps;
    j["quantity"] = quantity_name(v.quantity);
    j["batch"] = half_name(v.half);
    j["aggregation"] = s.maps.main_sites.size() == 1         ? "mean over steps"
                       : v.quantity == Quantity::Probability ? "sum over sites, mean over steps"
                                                             : "mean over sites and steps";
    j["head"] = v.head_mode == HeadMode::Single ? nlohmann::json(v.head)
                : v.head_mode == HeadMode::Max  ? nlohmann::json("max")
                                                : nlohmann::json("mean");
    // An entropy map is of every query: neither a token nor the query pixel chose it.
    if (v.quantity == Quantity::Entropy) return j;
    if (v.self) {
        j["query"] = {{"x", v.query_x}, {"y", v.query_y}};
    } else {
        auto tokens = nlohmann::json::array();
        for (const int p : v.tokens)
            tokens.push_back(
                {{"position", p},
                 {"text", p < static_cast<int>(s.snap.tokens.size()) ? s.snap.tokens[p].text : ""}});
        j["tokens"] = tokens;
    }
    return j;
}

} // namespace

std::vector<std::string> export_map(const UiState& state, const Colormaps& colormaps,
                                    const std::string& path) {
    const auto& map = state.maps.main;
    if (map.empty())
        throw std::runtime_error("no map to export" +
                                 (state.maps.error.empty() ? "" : ": " + state.maps.error));
    const std::filesystem::path colour(path);
    // The 16-bit PNG and the JSON go beside it, named from its stem: another ending could be one of theirs.
    if (colour.extension() != ".png")
        throw std::runtime_error("export path '" + path +
                                 "' must end in .png (STEM16.png and STEM.json go beside it)");
    const auto stem = colour.parent_path() / colour.stem();
    const std::string gray = stem.string() + "16.png", json_path = stem.string() + ".json";
    const auto range = state.ranges.main;
    write_map_pngs(map, range, colormaps.lut(state.display.colormap), path, gray);

    auto j = describe(state);
    j.update(
        map_pngs_json(colour.filename().string(), std::filesystem::path(gray).filename().string(), range));
    j["png16_scaling"] = kPng16Scaling;
    j["colormap"] = colormap_name(state.display.colormap);
    j["width"] = map.width;
    j["height"] = map.height;
    const double sum = std::accumulate(map.values.begin(), map.values.end(), 0.0);
    j["stats"] = {{"min", map.min_value}, {"max", map.max_value}, {"mean", sum / map.values.size()}};
    const auto text = j.dump(2) + "\n";
    AtomicFileWriter out(json_path);
    out.write(text.data(), text.size());
    out.commit();
    return {path, gray, json_path};
}

// PATH (the strip) and PATH.json: the LoRA, the tokens, the range and every scale's numbers.
std::string export_sweep(const SweepView& v, const std::string& path) {
    if (v.empty()) throw std::runtime_error("no sweep to export: sweep a LoRA first");
    write_png(path, Image8{v.strip.width, v.strip.height, 3, v.strip.rgb});
    const nlohmann::json about = {
        {"lora", v.lora},
        {"tokens", v.tokens},
        {"scales", v.scales},
        {"range", {{"lo", v.lo}, {"hi", v.hi}}},
        {"tile", {{"width", v.tile_width}, {"height", v.tile_height}, {"gap", v.gap}}},
        {"strip", "the images at each scale above, the tokens' maps below (viridis)"},
        {"runs", nlohmann::json::parse(v.runs_json)}};
    const auto text = about.dump(2) + "\n";
    AtomicFileWriter out(path + ".json");
    out.write(text.data(), text.size());
    out.commit();
    return path;
}

} // namespace attnscope::gui
