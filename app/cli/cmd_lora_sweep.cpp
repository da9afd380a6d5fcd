// attnscope lora-sweep: how one word's attention moves as a LoRA's scale goes from 0 to 1 (or to --to) in N
// steps (core/compare/lora_sweep.h): the same generation at every scale, the word's map on one range, as a
// strip (images above, maps below), per-scale files and sweep.json.
#include "commands.h"
#include "compare/lora_sweep.h"
#include "device_options.h"
#include "generation_options.h"
#include "io/png_file.h"
#include "options.h"
#include "progress_bar.h"
#include "render/map_png.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace fs = std::filesystem;
using nlohmann::json;

int cmd_lora_sweep(const std::vector<std::string>& argv) {
    CommandLine args("lora-sweep",
                     "One word's attention as a LoRA's scale goes from 0 to 1 in N steps: strip.png "
                     "(images above, maps below), per-scale files and sweep.json in --out.");
    add_generation_options(args);
    add_dtype_option(args);
    args.option("sweep", "FILE", "the LoRA (.safetensors) whose scale is swept");
    args.option("token", "WORD", "the prompt word whose cross-attention map is followed");
    args.option("scales", "N", "how many scales, evenly from 0 to --to", "5");
    args.option("to", "S", "the last scale", "1");
    if (!args.parse(argv)) return 0;
    require_generation_args(args);
    if (!args.given("sweep") || !args.given("token"))
        throw UsageError("lora-sweep needs --sweep FILE (the LoRA) and --token WORD (the word to follow)");
    std::vector<double> scales;
    try {
        scales = sweep_scales(args.get_int("scales"), args.get_double("to"));
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--scales/--to: ") + e.what());
    }
    const auto settings = generation_settings(args);
    const auto word = *args.get("token");
    const auto device = chosen_device(args);
    auto options = pipeline_options(args, device, generation_dtype(args, device));
    options.loras.push_back({*args.get("sweep"), 0.0});

    ProgressBar bar;
    const auto pipeline = load_generation_pipeline(
        args, options, settings.seed, [&](double f, const std::string& what) { bar.update(0.05 * f, what); });
    // The word's token positions, from the prompt as the model tokenizes it.
    const auto prompt = pipeline->tokenizer.encode(settings.prompt);
    std::vector<int64_t> tokens;
    for (size_t i = 0; i < prompt.word_index.size(); ++i)
        if (prompt.word_index[i] >= 0 && prompt.words[static_cast<size_t>(prompt.word_index[i])] == word)
            tokens.push_back(static_cast<int64_t>(i));
    if (tokens.empty()) {
        std::string all;
        for (const auto& w : prompt.words) all += (all.empty() ? "" : ", ") + w;
        throw UsageError("--token '" + word + "' is not a word of the prompt (its words: " + all + ")");
    }
    const auto runs =
        sweep_lora(pipeline, settings, pipeline->loras.size() - 1, scales, tokens,
                   [&](double f, const std::string& what) { bar.update(0.05 + 0.9 * f, what); });

    bar.update(0.96, "writing the strip");
    const fs::path out = *args.get("out");
    fs::create_directories(out);
    const Colormaps colormaps;
    const auto& lut = colormaps.lut(Colormap::Viridis);
    const auto strip = lora_sweep_strip(runs, lut);
    write_png((out / "strip.png").string(), strip.strip);
    auto entries = lora_sweep_runs_json(runs);
    for (size_t k = 0; k < runs.size(); ++k) {
        char stem[32];
        std::snprintf(stem, sizeof stem, "scale_%02zu", k);
        write_png((out / (std::string(stem) + ".png")).string(), to_image8(runs[k].image));
        const auto& m = runs[k].map;
        const MapImage map{static_cast<int>(m.size(1)), static_cast<int>(m.size(0)),
                           std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel())};
        write_map_pngs(map, strip.range, lut, (out / (std::string(stem) + "_map.png")).string(),
                       (out / (std::string(stem) + "_map16.png")).string());
        entries[k]["image"] = std::string(stem) + ".png";
        entries[k]["map"] =
            map_pngs_json(std::string(stem) + "_map.png", std::string(stem) + "_map16.png", strip.range);
    }
    const json sweep = {
        {"lora", *args.get("sweep")},
        {"token", word},
        {"tokens", tokens},
        {"prompt", settings.prompt},
        {"seed", settings.seed},
        {"steps", settings.steps},
        {"map", "the word's cross-attention P summed over every cross site (bilinear to the image), "
                "mean of heads, the prompt's half, averaged over every step; one range for all scales"},
        {"map_change", "mean |map - map at the first scale| / mean |map at the first scale|"},
        {"strip", "strip.png: the images at each scale above, the maps below"},
        {"runs", entries}};
    write_text((out / "sweep.json").string(), sweep.dump(2) + "\n");
    bar.update(1.0, "done");
    std::printf("swept %s from 0 to %g in %zu scales: '%s' moved %.3f of its map (centroid %.2f,%.2f -> "
                "%.2f,%.2f); wrote strip.png and sweep.json to %s\n",
                args.get("sweep")->c_str(), scales.back(), scales.size(), word.c_str(),
                entries.back()["map_change"].get<double>(), entries.front()["centroid"][0].get<double>(),
                entries.front()["centroid"][1].get<double>(), entries.back()["centroid"][0].get<double>(),
                entries.back()["centroid"][1].get<double>(), out.string().c_str());
    return 0;
}

} // namespace attnscope::cli
