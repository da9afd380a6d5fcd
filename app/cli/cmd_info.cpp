// attnscope info: what this build can run on, and what a model is.
#include "attention/router.h"
#include "commands.h"
#include "gpu_info.h"
#include "model_source.h"
#include "options.h"
#include "util/assets.h"
#include "version.h"

#include <iostream>
#include <stdexcept>

namespace attnscope::cli {

int cmd_info(const std::vector<std::string>& argv) {
    CommandLine args("info",
                     "This build's GPUs and attention backends; with --model or --preset, the model and "
                     "its attention sites.");
    add_model_options(args);
    if (!args.parse(argv)) return 0;
    std::cout << version_text();
    const auto gpus = query_gpus();
    for (const auto& d : gpus.devices)
        std::cout << "  GPU " << d.index << ": " << d.name << ", sm_" << d.sm_major << d.sm_minor << ", "
                  << d.multiprocessors << " SMs, " << (d.free_bytes >> 20) << " / " << (d.total_bytes >> 20)
                  << " MiB free\n";
    if (!gpus.problem.empty()) std::cout << "  " << gpus.problem << "\n";

    const AttentionRouter router;
    std::cout << "attention backends:";
    for (const auto& n : router.backend_names()) std::cout << " " << n;
    std::cout << " (default: " << router.default_backend() << ")\n";
    try {
        const auto assets = locate_assets();
        std::cout << "bundled files: " << assets.dir.string() << " (" << assets.found_by << ")\n";
    } catch (const std::runtime_error& e) {
        std::cout << "bundled files: " << e.what() << "\n"; // info still answers the rest
    }

    if (!args.given("model") && !args.given("preset")) return 0;
    ProgressBar bar;
    const auto model = choose_model(args, at::kFloat, at::kCPU, bar);
    const auto& unet = model.unet;
    const auto& cfg = unet.config();
    std::cout << "\nmodel: " << cfg.describe() << "\nweights: " << model.origin
              << "\nparameters: " << unet.weights().parameter_count() << " ("
              << (unet.weights().byte_size() >> 20) << " MiB as f32)\n"
              << "native size: " << cfg.sample_size * 8 << "x" << cfg.sample_size * 8 << " (latent "
              << cfg.sample_size << ")\n\nattention sites at the native size:\n";
    for (const auto& s : unet.sites(2, cfg.sample_size, cfg.sample_size, 77))
        std::cout << "  " << s.label() << ": " << s.heads << " heads x " << s.head_dim << ", Q " << s.seq_q
                  << " x K " << s.seq_k << "  " << s.module << "\n";
    return 0;
}

} // namespace attnscope::cli
