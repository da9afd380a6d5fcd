// attnscope image-maps: which words of a prompt attend where on an existing picture. The picture is
// encoded, noised to a few timesteps with a few draws each, and the U-Net runs once per noise with every
// attention call captured; each word's cross-attention, summed over the sites and averaged over the runs
// (DAAM on a real image), is written as PNGs, fp32 maps and JSON, and the capture can be kept for `maps`
// and the visualizer.
#include "capture/attention_maps.h"
#include "capture/capture_file.h"
#include "capture/word_maps.h"
#include "commands.h"
#include "device_options.h"
#include "generation_options.h"
#include "io/image_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "number_lists.h"
#include "options.h"
#include "progress_bar.h"
#include "render/colormap.h"
#include "render/grid.h"
#include "render/map_png.h"
#include "session/image_input.h"
#include "session/session.h"
#include "session/session_summary.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr float kOverlay = 0.6f; // the map's share where it is drawn over the picture
constexpr int kGridGap = 2;

std::vector<int> timestep_list(const std::string& text) {
    std::vector<int> out;
    for (const auto& part : split(text, ",")) {
        const auto t = whole_number(part);
        if (!t || *t > 999)
            throw UsageError("bad --timesteps '" + text + "': expected timesteps 0..999 like 200,400,600");
        out.push_back(static_cast<int>(*t));
    }
    return out;
}

// A file name part from a word: letters and digits kept, anything else '_'.
std::string file_safe(const std::string& word) {
    std::string s;
    for (const unsigned char c : word) s += std::isalnum(c) ? static_cast<char>(c) : '_';
    return s.substr(0, 40);
}

MapImage map_image(const at::Tensor& map) {
    const float* p = map.data_ptr<float>();
    return {static_cast<int>(map.size(1)), static_cast<int>(map.size(0)),
            std::vector<float>(p, p + map.numel())};
}

// The map's colours over the picture (both RGB, same size).
std::vector<uint8_t> overlay(const std::vector<uint8_t>& picture, const std::vector<uint8_t>& colours) {
    std::vector<uint8_t> out(picture.size());
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<uint8_t>(std::lround((1 - kOverlay) * picture[i] + kOverlay * colours[i]));
    return out;
}

} // namespace

int cmd_image_maps(const std::vector<std::string>& argv) {
    CommandLine args("image-maps",
                     "Where each word of a prompt attends on an existing picture: per-word maps "
                     "(PNG, 16-bit PNG, fp32 .safetensors), words.png and summary.json in --out.");
    const ImageReading defaults;
    args.option("image", "FILE", "the picture (PNG, JPEG or BMP)");
    args.option("prompt", "TEXT", "a caption of the picture: its words get maps");
    args.option("out", "DIR", "the folder to write into (made if missing)");
    args.option("negative", "TEXT", "the negative prompt (the unconditional half)");
    args.option("timesteps", "T,T,...", "the noise levels the picture is read at, 0..999", "200,400,600");
    args.option("noises", "N", "draws of noise per timestep, averaged", std::to_string(defaults.noises));
    args.option("seed", "K", "the noise draws' seed", "0");
    args.option("cfg", "S", "guidance scale of the x0 previews; at 1 or below only the prompt's half runs");
    args.option(
        "size", "WxH",
        "the size the picture is read at (default: its aspect at the model's native pixel count, sides "
        "multiples of 64); it is scaled to cover it and the middle cut out");
    args.option("capture", "FILE.safetensors", "keep the attention of every run for maps and the visualizer");
    add_dtype_option(args);
    add_pipeline_options(args);
    if (!args.parse(argv)) return 0;
    if (!args.given("image") || !args.given("prompt") || !args.given("out"))
        throw UsageError("image-maps needs --image FILE, --prompt \"...\" and --out DIR");
    if (args.given("preset") && args.given("model"))
        throw UsageError("give either --model or --preset, not both");

    const auto out = fs::path(*args.get("out"));
    GenerationSettings settings;
    settings.prompt = *args.get("prompt");
    settings.negative_prompt = args.get("negative").value_or("");
    const auto seed = whole_number(args.value("seed"));
    if (!seed) throw UsageError("bad --seed '" + args.value("seed") + "': expected a whole number from 0");
    settings.seed = static_cast<uint64_t>(*seed);
    if (args.given("cfg")) settings.guidance_scale = args.get_double("cfg");
    if (const auto size = args.get("size")) std::tie(settings.width, settings.height) = parse_size(*size);
    const auto picture_path = *args.get("image");
    settings.reading = ImageReading{std::make_shared<const Image8>(read_image(picture_path)), picture_path,
                                    timestep_list(args.value("timesteps")), args.get_int("noises")};

    const auto device = chosen_device(args);
    const auto options = pipeline_options(args, device, generation_dtype(args, device));
    ProgressBar bar;
    const auto pipeline = load_generation_pipeline(
        args, options, settings.seed, [&](double f, const std::string& what) { bar.update(0.1 * f, what); });
    Session session(pipeline, settings);
    warn_if_truncated(session, "image-maps");
    warn_unknown_words(session, "image-maps");

    CaptureStore capture;
    session.router().add_observer(&capture);
    const int n = session.total_steps();
    while (!session.done()) {
        capture.begin_step(session.current_step());
        const auto info = session.step();
        char what[96];
        std::snprintf(what, sizeof what, "run %d/%d  t=%.0f  U-Net %.0f ms", info.index + 1, n, info.timestep,
                      info.unet_ms);
        bar.update(0.1 + 0.8 * (info.index + 1) / n, what);
    }

    bar.update(0.9, "writing maps");
    fs::create_directories(out);
    const int w = session.settings().width, h = session.settings().height;
    const auto picture = to_image8((fit_image(*settings.reading->image, w, h) + 1) / 2);
    write_png((out / "picture.png").string(), picture);
    std::vector<int> steps(static_cast<size_t>(n)), cross;
    for (int i = 0; i < n; ++i) steps[static_cast<size_t>(i)] = i;
    const int64_t batch = session.guided() ? 2 : 1;
    for (const auto& site : pipeline->unet.sites(batch, session.latents().size(2), session.latents().size(3),
                                                 ClipTokenizer::kContextLength))
        if (site.kind == AttentionKind::Cross) cross.push_back(site.index);

    const Colormaps colormaps;
    const auto& lut = colormaps.lut(Colormap::Viridis);
    auto words = json::array();
    TensorMap tensors;
    std::vector<std::vector<uint8_t>> tiles{picture.pixels};
    for (const auto& m : word_maps(capture, session.prompt_tokens(), cross, steps, w, h)) {
        char stem[80];
        std::snprintf(stem, sizeof stem, "word_%02d_%s", m.word, file_safe(m.text).c_str());
        const auto image = map_image(m.map);
        const auto range = value_range(image);
        write_map_pngs(image, range, lut, (out / (std::string(stem) + ".png")).string(),
                       (out / (std::string(stem) + "16.png")).string());
        const auto stats = map_stats(m.map);
        const std::string key = "word." + std::to_string(m.word);
        tensors[key] = m.map;
        json about = {
            {"word", m.text},
            {"word_index", m.word},
            {"tokens", m.tokens},
            {"key", key},
            {"stats",
             {{"min", stats.min}, {"max", stats.max}, {"mean", stats.mean}, {"entropy", stats.entropy}}}};
        about.update(map_pngs_json(std::string(stem) + ".png", std::string(stem) + "16.png", range));
        words.push_back(about);
        tiles.push_back(overlay(picture.pixels, colorize_rgb(image, range, lut)));
    }
    write_safetensors((out / "maps.safetensors").string(), tensors);
    const auto layout = reading_grid(tiles.size(), w, h, kGridGap);
    write_png((out / "words.png").string(),
              {layout.width(), layout.height(), 3, compose_grid(layout, tiles, {40, 42, 48})});

    auto summary = session_summary(session);
    summary["picture"] = "picture.png";
    summary["words"] = words;
    summary["maps"] = {{"file", "maps.safetensors"},
                       {"of",
                        "each word's tokens' cross-attention P summed over every cross site (bilinear to "
                        "the picture's size), mean of heads, the prompt's half, averaged over every run"}};
    summary["grid"] = {{"file", "words.png"}, {"tiles", "the picture, then each word's map over it"}};
    if (const auto path = args.get("capture")) {
        bar.update(0.95, "writing the capture");
        summary["capture"] = {{"file", *path}, {"bytes", capture.bytes()}};
        save_capture(*path, capture, summary);
    }
    write_text((out / "summary.json").string(), summary.dump(2) + "\n");
    bar.update(1.0, "done");
    std::printf("read %s at %dx%d in %d U-Net runs; wrote %zu word maps, words.png and summary.json to %s\n",
                picture_path.c_str(), w, h, n, words.size(), out.string().c_str());
    return 0;
}

} // namespace attnscope::cli
