// attnscope generate: a prompt to an image, step by step, with per-step previews and a JSON summary.
#include "args.h"
#include "capture/capture_file.h"
#include "commands.h"
#include "io/mapped_file.h"
#include "io/png_file.h"
#include "options.h"
#include "progress_bar.h"
#include "session/session.h"
#include "session/session_summary.h"

#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace fs = std::filesystem;

namespace {

void write_text(const std::string& path, const std::string& text) {
    AtomicFileWriter out(path);
    out.write(text.data(), text.size());
    out.commit();
}

PipelineOptions pipeline_options(const Args& args, at::Device device) {
    PipelineOptions o;
    o.device = device;
    o.dtype = parse_dtype(args.get("dtype", device.is_cuda() ? "f16" : "f32"));
    o.tokenizer = args.get("tokenizer");
    o.vae = args.get("vae");
    o.taesd = args.get("taesd");
    if (const auto p = args.get("prediction")) o.unet.prediction = parse_prediction(*p);
    if (const auto c = args.get("config")) o.unet.config = read_unet_config(*c);
    if (args.get("heads")) o.text.num_heads = args.get_int("heads", 0);
    return o;
}

GenerationSettings settings_from(const Args& args) {
    GenerationSettings s;
    s.prompt = *args.get("prompt");
    s.negative_prompt = args.get("negative", "");
    s.steps = args.get_int("steps", s.steps);
    s.seed = static_cast<uint64_t>(std::stoull(args.get("seed", "0")));
    s.scheduler = parse_scheduler(args.get("scheduler", to_string(s.scheduler)));
    if (const auto cfg = args.get("cfg")) {
        try {
            s.guidance_scale = std::stod(*cfg);
        } catch (const std::exception&) {
            throw UsageError("bad --cfg '" + *cfg + "': expected a number such as 7.5");
        }
    }
    if (const auto size = args.get("size")) std::tie(s.width, s.height) = parse_size(*size);
    return s;
}

} // namespace

int cmd_generate(const std::vector<std::string>& argv) {
    const Args args(argv, {"model",           "prompt", "negative", "steps",      "cfg",    "seed",
                           "scheduler",       "size",   "out",      "dtype",      "device", "backend",
                           "tokenizer",       "vae",    "taesd",    "prediction", "config", "heads",
                           "preview-decoder", "preset", "capture"},
                    {"previews"});
    const auto out_dir = args.get("out");
    if (!args.get("prompt") || !out_dir)
        throw UsageError(
            "generate needs --prompt \"...\" and --out DIR (and --model PATH unless the embedded "
            "model will do)");
    const auto seed_text = args.get("seed", "0");
    if (seed_text.empty() || seed_text.find_first_not_of("0123456789") != std::string::npos ||
        seed_text.size() > 19)
        throw UsageError("bad --seed '" + seed_text + "': expected a whole number from 0");
    const auto settings = settings_from(args);
    const auto device = parse_device(args.get("device", "cpu"));
    const auto options = pipeline_options(args, device);
    const std::string preview_decoder = args.get("preview-decoder", "fast");
    if (preview_decoder != "fast" && preview_decoder != "full")
        throw UsageError("bad --preview-decoder '" + preview_decoder + "' (use fast or full)");
    const bool previews = args.flag("previews");
    const Decoder preview_with = preview_decoder == "fast" ? Decoder::Fast : Decoder::Full;
    const auto preset = args.get("preset");
    if (preset && args.get("model")) throw UsageError("give either --model or --preset, not both");

    fs::create_directories(*out_dir);
    if (previews) fs::create_directories(fs::path(*out_dir) / "previews");

    ProgressBar bar;
    const auto loading = [&](double f, const std::string& what) { bar.update(0.1 * f, what); };
    const auto pipeline = preset ? random_pipeline(*preset, settings.seed, options.dtype, device, loading)
                                 : load_pipeline(args.get("model", default_model_path()), options, loading);
    Session session(pipeline, settings);
    if (const auto backend = args.get("backend")) session.router().set_default_backend(*backend);
    for (const auto* tokens : {&session.prompt_tokens(), &session.negative_tokens()})
        if (tokens->truncated)
            std::fprintf(stderr,
                         "attnscope generate: warning: %d prompt tokens past CLIP's 77 were dropped\n",
                         tokens->dropped_tokens);

    // --capture keeps every step's Q, K and LSE (and cross P) and writes them for later exploration.
    const auto capture_path = args.get("capture");
    CaptureStore capture;
    if (capture_path) session.router().add_observer(&capture);

    const int n = session.total_steps();
    const double decode_share = 0.05;
    while (!session.done()) {
        capture.begin_step(session.current_step());
        const auto info = session.step();
        char what[128];
        std::snprintf(what, sizeof what, "step %d/%d  t=%.0f  U-Net %.0f ms", info.index + 1, n,
                      info.timestep, info.unet_ms);
        bar.update(0.1 + (1.0 - 0.1 - decode_share) * (info.index + 1) / n, what);
        if (previews) {
            char name[32];
            std::snprintf(name, sizeof name, "step_%03d.png", info.index + 1);
            write_png((fs::path(*out_dir) / "previews" / name).string(),
                      to_image8(session.preview(info.index, preview_with)));
        }
    }
    bar.update(1.0 - decode_share, "decoding");
    const auto image_path = (fs::path(*out_dir) / "image.png").string();
    write_png(image_path, to_image8(session.image(Decoder::Full)));
    auto summary = session_summary(session);
    summary["image"] = "image.png";
    if (previews) summary["previews"] = "previews/step_NNN.png";
    if (capture_path) {
        bar.update(1.0 - decode_share / 2, "writing the capture");
        summary["capture"] = {{"file", *capture_path},
                              {"bytes", capture.bytes()},
                              {"budget_bytes", capture.budget()},
                              {"evictions", capture.evictions()}};
        save_capture(*capture_path, capture, summary);
    }
    write_text((fs::path(*out_dir) / "summary.json").string(), summary.dump(2) + "\n");
    bar.update(1.0, "done");
    std::printf("wrote %s (%dx%d, %d steps, U-Net median %.1f ms/step) and summary.json\n",
                image_path.c_str(), session.settings().width, session.settings().height, n,
                summary["unet_ms_median"].get<double>());
    return 0;
}

} // namespace attnscope::cli
