// attnscope lora-sweep: how one word's attention moves as a LoRA's scale goes from 0 to 1 (or to --to) in N
// steps: the same generation (seed, settings) at every scale, the word's cross-attention summed over the
// sites and averaged over the steps, all maps on one range, as a strip (images above, maps below), per-scale
// files and sweep.json.
#include "capture/attention_maps.h"
#include "capture/word_maps.h"
#include "commands.h"
#include "compare/image_metrics.h"
#include "device_options.h"
#include "generation_options.h"
#include "io/png_file.h"
#include "options.h"
#include "progress_bar.h"
#include "render/colormap.h"
#include "render/grid.h"
#include "render/map_png.h"
#include "session/session.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kGap = 2;

struct Run {
    double scale = 0;
    at::Tensor image; // (1, 3, H, W) in [0, 1]
    at::Tensor map;   // (H, W) fp32
};

MapImage map_image(const at::Tensor& map) {
    const float* p = map.data_ptr<float>();
    return {static_cast<int>(map.size(1)), static_cast<int>(map.size(0)),
            std::vector<float>(p, p + map.numel())};
}

// Where the map's mass sits, in [0, 1) of the image's width and height.
std::pair<double, double> centroid(const at::Tensor& map) {
    const auto total = map.sum().item<double>();
    const auto ys = at::arange(map.size(0), map.options()).unsqueeze(1) + 0.5;
    const auto xs = at::arange(map.size(1), map.options()).unsqueeze(0) + 0.5;
    return {(map * xs).sum().item<double>() / total / map.size(1),
            (map * ys).sum().item<double>() / total / map.size(0)};
}

} // namespace

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
    const int n = args.get_int("scales");
    if (n < 2 || n > 64) throw UsageError("--scales must be 2..64, got " + std::to_string(n));
    const double last = args.get_double("to");
    const auto settings = generation_settings(args);
    const auto word = *args.get("token");
    const auto device = chosen_device(args);
    auto options = pipeline_options(args, device, generation_dtype(args, device));
    options.loras.push_back({*args.get("sweep"), 0.0});

    ProgressBar bar;
    const auto pipeline = load_generation_pipeline(
        args, options, settings.seed, [&](double f, const std::string& what) { bar.update(0.05 * f, what); });
    const auto& scale = pipeline->loras.back().scale;

    CapturePolicy policy;
    policy.self_attention = false;
    std::vector<Run> runs;
    for (int k = 0; k < n; ++k) {
        const double s = last * k / (n - 1);
        scale->store(s);
        Session session(pipeline, settings);
        if (k == 0) {
            warn_unknown_words(session, "lora-sweep");
            const auto& words = session.prompt_tokens().words;
            if (std::find(words.begin(), words.end(), word) == words.end()) {
                std::string all;
                for (const auto& w : words) all += (all.empty() ? "" : ", ") + w;
                throw UsageError("--token '" + word + "' is not a word of the prompt (its words: " + all +
                                 ")");
            }
        }
        CaptureStore capture(policy);
        session.router().add_observer(&capture);
        std::vector<int> steps;
        while (!session.done()) {
            steps.push_back(session.current_step());
            capture.begin_step(session.current_step());
            const auto info = session.step();
            char what[96];
            std::snprintf(what, sizeof what, "scale %.3g: step %d/%d", s, info.index + 1,
                          session.total_steps());
            bar.update(0.05 + 0.9 * (k + static_cast<double>(info.index + 1) / session.total_steps()) / n,
                       what);
        }
        std::vector<int> cross;
        for (const auto& site :
             pipeline->unet.sites(session.guided() ? 2 : 1, session.latents().size(2),
                                  session.latents().size(3), ClipTokenizer::kContextLength))
            if (site.kind == AttentionKind::Cross) cross.push_back(site.index);
        const int w = session.settings().width, h = session.settings().height;
        const auto maps = word_maps(capture, session.prompt_tokens(), cross, steps, w, h);
        const auto found =
            std::find_if(maps.begin(), maps.end(), [&](const WordMap& m) { return m.text == word; });
        runs.push_back({s, session.image(), found->map});
    }

    bar.update(0.96, "writing the strip");
    const fs::path out = *args.get("out");
    fs::create_directories(out);
    const Colormaps colormaps;
    const auto& lut = colormaps.lut(Colormap::Viridis);
    ValueRange range = value_range(map_image(runs.front().map));
    for (const auto& r : runs) range = merge(range, value_range(map_image(r.map)));
    const int w = static_cast<int>(runs.front().map.size(1)), h = static_cast<int>(runs.front().map.size(0));
    GridLayout strip{n, 2, w, h, kGap, {}};
    std::vector<std::vector<uint8_t>> tiles(static_cast<size_t>(2 * n));
    auto entries = json::array();
    for (int k = 0; k < n; ++k) {
        const auto& r = runs[static_cast<size_t>(k)];
        char stem[32];
        std::snprintf(stem, sizeof stem, "scale_%02d", k);
        const auto image = to_image8(r.image);
        write_png((out / (std::string(stem) + ".png")).string(), image);
        const auto map = map_image(r.map);
        write_map_pngs(map, range, lut, (out / (std::string(stem) + "_map.png")).string(),
                       (out / (std::string(stem) + "_map16.png")).string());
        tiles[static_cast<size_t>(k)] = image.pixels;
        tiles[static_cast<size_t>(n + k)] = colorize_rgb(map, range, lut);
        const auto [cx, cy] = centroid(r.map);
        const auto stats = map_stats(r.map);
        json e = {{"scale", r.scale},
                  {"image", std::string(stem) + ".png"},
                  {"centroid", {cx, cy}},
                  {"stats", {{"max", stats.max}, {"mean", stats.mean}, {"entropy", stats.entropy}}},
                  {"map_change", (r.map - runs.front().map).abs().mean().item<double>() /
                                     std::max(1e-12, runs.front().map.abs().mean().item<double>())}};
        const double p = psnr(runs.front().image, r.image);
        e["image_psnr_db"] = std::isfinite(p) ? json(p) : json("inf");
        e["map"] = map_pngs_json(std::string(stem) + "_map.png", std::string(stem) + "_map16.png", range);
        entries.push_back(e);
    }
    for (int i = 0; i < 2 * n; ++i) strip.cells.push_back({i % n, i / n});
    write_png((out / "strip.png").string(),
              {strip.width(), strip.height(), 3, compose_grid(strip, tiles, {40, 42, 48})});
    json sweep = {{"lora", *args.get("sweep")},
                  {"token", word},
                  {"prompt", settings.prompt},
                  {"seed", settings.seed},
                  {"steps", settings.steps},
                  {"map",
                   "the word's cross-attention P summed over every cross site (bilinear to the image), mean "
                   "of heads, the prompt's half, averaged over every step; one range for all scales"},
                  {"map_change", "mean |map - map at the first scale| / mean |map at the first scale|"},
                  {"strip", "strip.png: the images at each scale above, the maps below"},
                  {"runs", entries}};
    write_text((out / "sweep.json").string(), sweep.dump(2) + "\n");
    bar.update(1.0, "done");
    std::printf(
        "swept %s from 0 to %g in %d scales: '%s' moved %.3f of its map (centroid %.2f,%.2f -> %.2f,%.2f); "
        "wrote strip.png and sweep.json to %s\n",
        args.get("sweep")->c_str(), last, n, word.c_str(), entries.back()["map_change"].get<double>(),
        entries.front()["centroid"][0].get<double>(), entries.front()["centroid"][1].get<double>(),
        entries.back()["centroid"][0].get<double>(), entries.back()["centroid"][1].get<double>(),
        out.string().c_str());
    return 0;
}

} // namespace attnscope::cli
