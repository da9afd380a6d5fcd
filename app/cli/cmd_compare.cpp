// attnscope compare: one generation on two attention backends (or precisions) stepped together; where their
// attention outputs differ, by how much and whether it compounds, and what it does to the image.
#include "commands.h"
#include "compare/compare_summary.h"
#include "compare/divergence_grid.h"
#include "compare/map_comparison.h"
#include "device_options.h"
#include "edit_spec.h"
#include "generation_options.h"
#include "image_pair.h"
#include "io/png_file.h"
#include "options.h"
#include "progress_bar.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

namespace attnscope::cli {
namespace fs = std::filesystem;

namespace {

struct Side {
    std::string backend;
    at::ScalarType dtype;
};

// "sdpa" or "math:f64"; without a dtype the device's default.
Side parse_side(const std::string& text, const std::string& option, at::Device device) {
    const auto colon = text.find(':');
    Side s{text.substr(0, colon), default_dtype(device)};
    if (s.backend.empty())
        throw UsageError("bad --" + option + " '" + text + "': expected BACKEND[:DTYPE], e.g. math:f32");
    if (colon != std::string::npos) s.dtype = parse_dtype(text.substr(colon + 1));
    return s;
}

CompareMode parse_mode(const std::string& s) {
    if (s == "same-inputs") return CompareMode::SameInputs;
    if (s == "free") return CompareMode::FreeRunning;
    throw UsageError("bad --mode '" + s + "' (use same-inputs or free)");
}

MapImage map_image(const at::Tensor& map) {
    const auto m = map.to(at::kCPU, at::kFloat).contiguous();
    const float* v = m.data_ptr<float>();
    return {static_cast<int>(m.size(1)), static_cast<int>(m.size(0)), std::vector<float>(v, v + m.numel())};
}

void write_map(const fs::path& path, const MapImage& map, ValueRange range, const Lut& lut) {
    write_png(path.string(), {map.width, map.height, 3, colorize_rgb(map, range, lut)});
}

// P_A, P_B (one shared range) and |P_A - P_B| (its own) as colour PNGs; their description for compare.json.
nlohmann::json write_maps(const fs::path& dir, const MapComparison& maps, const MapText& spec,
                          const Lut& lut) {
    const auto a = map_image(maps.a), b = map_image(maps.b), diff = map_image(maps.abs_diff);
    const auto range = merge(value_range(a), value_range(b));
    write_map(dir / "map_a.png", a, range, lut);
    write_map(dir / "map_b.png", b, range, lut);
    write_map(dir / "map_diff.png", diff, {0, value_range(diff).hi}, lut);
    const auto stats = [](const at::Tensor& m) {
        const auto s = map_stats(m);
        return nlohmann::json{{"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"entropy", s.entropy}};
    };
    const auto& r = spec.request;
    nlohmann::json j{{"spec", spec.text},
                     {"kind", to_string(r.kind)},
                     {"steps", r.steps},
                     {"sites", r.indices},
                     {"a", stats(maps.a)},
                     {"b", stats(maps.b)},
                     {"abs_diff", stats(maps.abs_diff)},
                     {"range", {range.lo, range.hi}},
                     {"files", {{"a", "map_a.png"}, {"b", "map_b.png"}, {"abs_diff", "map_diff.png"}}}};
    if (r.kind == AttentionKind::Cross)
        j["tokens"] = r.tokens;
    else
        j["pixel"] = {r.query_x, r.query_y};
    return j;
}

} // namespace

int cmd_compare(const std::vector<std::string>& argv) {
    CommandLine args("compare", "One generation on two backends or precisions in lockstep: attention output "
                                "errors per step and site, latents, images; compare.json in --out.");
    add_generation_options(args);
    args.option("a", "BACKEND[:DTYPE]", "the first run, e.g. math:f32 (dtype default: the device's)");
    args.option("b", "BACKEND[:DTYPE]", "the second run, e.g. sdpa");
    args.repeatable(
        "b-lora", "FILE[:SCALE]",
        "B runs with this LoRA too, A without: the model against itself with a LoRA (--mode free; "
        "--a and --b then default to auto)");
    args.option(
        "b-model", "PATH",
        "B runs this checkpoint of the same U-Net layout (a fine-tune), A --model: model against model "
        "(--mode free; --a and --b then default to auto)");
    args.option("mode", "same-inputs|free",
                "same-inputs: B's backend on A's q, k, v at every site (each kernel's own error); free: "
                "each run on its own (errors compound)",
                "same-inputs");
    args.option("from-step", "K", "the first compared step (both run as A before it)", "0");
    args.option("map", "token=WORD|pixel=X,Y[@sites=LIST][@steps=LIST][@head=H|mean|max]",
                "P of both runs and their difference as PNGs");
    if (!args.parse(argv)) return 0;
    require_generation_args(args);
    std::vector<LoraChoice> b_loras;
    for (const auto& text : args.get_all("b-lora")) b_loras.push_back(parse_lora_choice(text));
    const auto b_model = args.get("b-model");
    const bool other_model = !b_loras.empty() || b_model;
    if (!other_model && (!args.given("a") || !args.given("b")))
        throw UsageError("compare needs --a BACKEND[:DTYPE] and --b BACKEND[:DTYPE], e.g. --a math --b sdpa, "
                         "or --b-lora FILE[:SCALE] or --b-model PATH");
    const auto settings = generation_settings(args);
    const auto device = chosen_device(args);
    const std::string label_a = args.get("a").value_or("auto"), label_b = args.get("b").value_or("auto");
    const auto side_a = parse_side(label_a, "a", device), side_b = parse_side(label_b, "b", device);
    const auto mode = parse_mode(args.value("mode"));
    if (other_model && mode == CompareMode::SameInputs)
        throw UsageError(std::string(b_model ? "--b-model" : "--b-lora") +
                         " changes q, k and v themselves, which --mode same-inputs would replace by A's: "
                         "compare models with --mode free");
    const int from_step = args.get_int("from-step");
    if (from_step < 0 || from_step >= settings.steps)
        throw UsageError("--from-step " + std::to_string(from_step) + " is outside 0.." +
                         std::to_string(settings.steps - 1));
    auto map = args.get("map") ? std::optional(parse_map(*args.get("map"), settings.steps)) : std::nullopt;
    if (map && map->request.steps.front() < from_step)
        throw UsageError("--map's @steps must be compared steps: from --from-step " +
                         std::to_string(from_step));
    const fs::path out = *args.get("out");
    fs::create_directories(out);

    ProgressBar bar;
    const auto part = [&bar](double lo, double hi) {
        return [&bar, lo, hi](double f, const std::string& what) { bar.update(lo + (hi - lo) * f, what); };
    };
    const bool two_pipelines = side_a.dtype != side_b.dtype || other_model;
    const auto pipeline_a = load_generation_pipeline(args, pipeline_options(args, device, side_a.dtype),
                                                     settings.seed, part(0, two_pipelines ? 0.05 : 0.1));
    auto options_b = pipeline_options(args, device, side_b.dtype);
    options_b.loras.insert(options_b.loras.end(), b_loras.begin(), b_loras.end());
    const auto pipeline_b = b_model ? load_pipeline(*b_model, options_b, part(0.05, 0.1))
                            : two_pipelines
                                ? load_generation_pipeline(args, options_b, settings.seed, part(0.05, 0.1))
                                : pipeline_a;
    Session a(pipeline_a, settings);
    a.router().set_default_backend(side_a.backend);
    warn_if_truncated(a, "compare");
    warn_unknown_words(a, "compare");
    if (map) {
        fit_to_model(*map, a);
        auto& r = map->request;
        r.out_width = a.settings().width;
        r.out_height = a.settings().height;
    }

    // With --map, both runs keep what the map needs (cross-attention for a token, self for a pixel).
    CapturePolicy policy;
    policy.self_attention = map && map->request.kind == AttentionKind::Self;
    policy.cross_attention = map && map->request.kind == AttentionKind::Cross;
    CaptureStore capture_a(policy), capture_b(policy);
    if (map) a.router().add_observer(&capture_a);

    const int n = a.total_steps();
    const auto stepped = [&](int k, const StepInfo& info) {
        char what[128];
        std::snprintf(what, sizeof what, "step %d/%d  t=%.0f  U-Net %.0f ms", k + 1, n, info.timestep,
                      info.unet_ms);
        bar.update(0.1 + 0.85 * (k + 1) / n, what);
    };
    while (a.current_step() < from_step) {
        capture_a.begin_step(a.current_step());
        const auto info = a.step();
        stepped(info.index, info);
    }
    LockstepComparison comparison(a, {pipeline_b, side_b.backend}, mode);
    if (map) comparison.b().router().add_observer(&capture_b);
    // Wall time of each compared step (both runs and the error of every site, which reads back to the host):
    // what comparing costs against a plain step's time.
    std::vector<double> step_ms;
    while (!comparison.done()) {
        const int k = a.current_step();
        capture_a.begin_step(k);
        capture_b.begin_step(k);
        const auto started = std::chrono::steady_clock::now();
        const auto info = comparison.step().second;
        step_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
        stepped(k, info);
    }

    bar.update(0.95, "decoding");
    const auto images =
        write_image_pair(out, a.image(), "image_a.png", comparison.b().image(), "image_b.png");
    const Colormaps colormaps;
    const auto& viridis = colormaps.lut(Colormap::Viridis);
    write_png((out / "divergence.png").string(), divergence_grid_image(comparison.output_errors(), viridis));
    auto summary = comparison_summary(comparison, images);
    auto loras = nlohmann::json::array();
    for (const auto& l : b_loras) loras.push_back({{"path", l.path}, {"scale", l.scale}});
    summary["b"]["loras"] = loras;
    summary["a"]["model"] = pipeline_a->source;
    summary["b"]["model"] = pipeline_b->source;
    auto sorted = step_ms;
    std::sort(sorted.begin(), sorted.end());
    summary["step_ms"] = step_ms;
    if (!sorted.empty()) summary["step_ms_median"] = sorted[sorted.size() / 2];
    summary["files"] = {{"image_a", "image_a.png"},
                        {"image_b", "image_b.png"},
                        {"diff", "diff.png"},
                        {"divergence_grid", "divergence.png"}};
    if (map)
        summary["map"] = write_maps(out, compare_maps(capture_a, capture_b, map->request), *map, viridis);
    write_text((out / "compare.json").string(), summary.dump(2) + "\n");
    bar.update(1.0, "done");

    const auto& worst = summary["worst"];
    std::printf("wrote %s: %s vs %s (%s), worst attention output error rel L2 %.3g at step %d index %d %s; "
                "images %s\n",
                (out / "compare.json").c_str(), label_a.c_str(),
                (label_b + (b_model ? " of " + *b_model : "") + (b_loras.empty() ? "" : " + LoRA")).c_str(),
                to_string(mode), worst["rel_l2"].get<double>(), worst["step"].get<int>(),
                worst["index"].get<int>(), worst["kind"].get<std::string>().c_str(),
                image_verdict(images).c_str());
    return 0;
}

} // namespace attnscope::cli
