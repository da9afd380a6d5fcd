#include "model_source.h"

#include "model/unet_loader.h"

namespace attnscope::cli {

void add_model_options(CommandLine& args) {
    args.option("model", "PATH", "a U-Net: diffusers folder or single .safetensors");
    args.option("config", "FILE", "the U-Net's config.json, for a single-file checkpoint");
    args.option("preset", "sd15|sd21|sd21-base|sdxl",
                "random weights of this layout (without --model: sd15)");
    args.option("seed", "K", "the seed of --preset's random weights", "0");
    args.option("prediction", "epsilon|v_prediction", "what the U-Net predicts (default: from its config)");
}

ModelChoice choose_model(const CommandLine& args, at::ScalarType dtype, at::Device device,
                         ProgressBar& progress) {
    const auto path = args.get("model");
    const auto prediction = args.get("prediction");
    if (path) {
        if (args.given("preset")) throw UsageError("give either --model or --preset, not both");
        UNetOpenOptions open;
        if (prediction) open.prediction = parse_prediction(*prediction);
        if (const auto config = args.get("config")) open.config = read_unet_config(*config);
        const auto ck = open_unet_checkpoint(*path, open);
        auto unet =
            load_unet(ck, dtype, device, [&](double f, const std::string& w) { progress.update(f, w); });
        return {std::move(unet),
                ck.weights_path + " (" + to_string(ck.layout) + ", config " + ck.config_source + ")"};
    }
    if (args.given("config")) throw UsageError("--config goes with --model");
    const std::string preset = args.get("preset").value_or("sd15");
    auto config = unet_config_preset(preset);
    if (prediction) config.prediction = parse_prediction(*prediction);
    const int seed = args.get_int("seed");
    progress.update(0.0, "initializing random " + preset + " U-Net");
    auto unet = UNet::random(config, static_cast<uint64_t>(seed), dtype, device);
    progress.update(1.0, "initialized random " + preset + " U-Net");
    return {std::move(unet), "random weights, preset " + preset + " (seed " + std::to_string(seed) + ")"};
}

} // namespace attnscope::cli
