// attnscope generate: a prompt to an image, step by step, with per-step previews and a JSON summary.
#include "capture/capture_file.h"
#include "commands.h"
#include "device_options.h"
#include "generation_options.h"
#include "io/png_file.h"
#include "options.h"
#include "progress_bar.h"
#include "session/session.h"
#include "session/session_summary.h"

#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace fs = std::filesystem;

int cmd_generate(const std::vector<std::string>& argv) {
    CommandLine args("generate", "A prompt to an image, one denoising step at a time: image.png and "
                                 "summary.json in --out.");
    add_generation_options(args);
    add_dtype_option(args);
    args.option("backend", "NAME", "the attention backend (see attnscope info)");
    args.flag("previews", "write each step's preview to previews/step_NNN.png");
    args.option("preview-decoder", "fast|full", "TAESD or the full VAE for the previews", "fast");
    args.option("capture", "FILE.safetensors", "keep every step's attention for maps and the visualizer");
    args.flag("capture-values",
              "keep V in the capture too, so walkthrough can show O = P V (as much again as K)");
    if (!args.parse(argv)) return 0;
    require_generation_args(args);
    const auto out_dir = args.get("out");
    const auto settings = generation_settings(args);
    const auto device = chosen_device(args);
    const auto dtype = generation_dtype(args, device);
    const auto options = pipeline_options(args, device, dtype);
    const std::string preview_decoder = args.value("preview-decoder");
    if (preview_decoder != "fast" && preview_decoder != "full")
        throw UsageError("bad --preview-decoder '" + preview_decoder + "' (use fast or full)");
    const bool previews = args.given("previews");
    const Decoder preview_with = preview_decoder == "fast" ? Decoder::Fast : Decoder::Full;

    fs::create_directories(*out_dir);
    if (previews) fs::create_directories(fs::path(*out_dir) / "previews");

    ProgressBar bar;
    const auto loading = [&](double f, const std::string& what) { bar.update(0.1 * f, what); };
    const auto pipeline = load_generation_pipeline(args, options, settings.seed, loading);
    Session session(pipeline, settings);
    if (const auto backend = args.get("backend")) session.router().set_default_backend(*backend);
    warn_if_truncated(session, "generate");
    warn_unknown_words(session, "generate");
    if (const auto& start = session.settings().start_image)
        std::printf(
            "starting from %s (%dx%d, fitted to %dx%d) at strength %.2f: the last %d of %d steps, from "
            "t=%.0f\n",
            start->source.c_str(), start->image->width, start->image->height, session.settings().width,
            session.settings().height, start->strength, session.total_steps(), session.settings().steps,
            session.scheduler().timesteps().front());

    // --capture keeps every step's Q, K and LSE (and cross P) and writes them for later exploration.
    const auto capture_path = args.get("capture");
    CapturePolicy policy;
    policy.values = args.given("capture-values");
    if (policy.values && !capture_path) throw UsageError("--capture-values needs --capture FILE");
    CaptureStore capture(policy);
    if (capture_path) session.router().add_observer(&capture);

    const int n = session.total_steps();
    const double decode_share = 0.05;
    while (!session.done()) {
        capture.begin_step(session.current_step());
        const auto info = session.step();
        char what[128];
        std::snprintf(what, sizeof what, "step %d/%d  t=%.0f  U-Net %.0f ms%s", info.index + 1, n,
                      info.timestep, info.unet_ms, info.cuda_graph ? " (CUDA graph)" : "");
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
