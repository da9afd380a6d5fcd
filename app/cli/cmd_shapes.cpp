// attnscope shapes: run one real forward pass and print the live attention shape table (the seed's).
#include "attention/router.h"
#include "attention/shape_recorder.h"
#include "commands.h"
#include "device_options.h"
#include "model_source.h"
#include "options.h"

#include <chrono>
#include <iostream>

namespace attnscope::cli {
namespace {

// Moves the progress bar along as the forward pass reaches each attention site.
class SiteProgress final : public AttentionObserver {
  public:
    SiteProgress(ProgressBar& bar, std::size_t total) : bar_(bar), total_(total) {}
    void on_attention(const AttentionSite& site, const AttentionTensors&) override {
        bar_.update(static_cast<double>(++seen_) / total_, "forward pass: " + site.label());
    }

  private:
    ProgressBar& bar_;
    std::size_t total_, seen_ = 0;
};

} // namespace

int cmd_shapes(const std::vector<std::string>& argv) {
    CommandLine args("shapes",
                     "One forward pass of the U-Net on random inputs; every attention site's Q, K, V "
                     "and P shapes.");
    add_model_options(args);
    args.option("size", "WxH", "image size in pixels, multiples of 8 (default: the model's native size)");
    args.option("batch", "N", "the batch (2: classifier-free guidance's two halves)", "2");
    args.option("context", "N", "text tokens the cross-attention sees", "77");
    add_device_options(args);
    args.option("dtype", "f32|f16|bf16|f64", "the model's precision", "f32");
    args.option("backend", "NAME", "the attention backend (see attnscope info)");
    if (!args.parse(argv)) return 0;
    const auto dtype = parse_dtype(args.value("dtype"));
    const auto device = chosen_device(args);
    const int batch = args.get_int("batch"), context_len = args.get_int("context");
    if (batch < 1 || context_len < 1) throw UsageError("--batch and --context must be positive");

    std::optional<ModelChoice> model;
    ShapeRecorder shapes;
    AttentionRouter router;
    if (const auto b = args.get("backend")) router.set_default_backend(*b);
    at::Tensor out;
    double ms = 0;
    int width = 0, height = 0;
    {
        ProgressBar bar;
        model.emplace(choose_model(args, dtype, device, bar));
        const auto& unet = model->unet;
        const auto& cfg = unet.config();
        std::tie(width, height) = parse_size(args.get("size").value_or(
            std::to_string(cfg.sample_size * 8) + "x" + std::to_string(cfg.sample_size * 8)));
        const auto opts = at::TensorOptions().dtype(dtype).device(device);
        const auto sample = at::randn({batch, cfg.in_channels, height / 8, width / 8}, opts);
        const auto context = at::randn({batch, context_len, cfg.cross_attention_dim}, opts);
        const auto timestep = at::full({1}, 999.0, opts);
        const auto added =
            cfg.text_time()
                ? default_text_time(at::randn({batch, cfg.pooled_text_dim()}, opts), width, height)
                : AddedConditions{};

        SiteProgress progress(bar, unet.sites(batch, height / 8, width / 8, context_len).size());
        router.add_observer(&shapes);
        router.add_observer(&progress);
        const auto t0 = std::chrono::steady_clock::now();
        out = unet.forward(sample, timestep, context, router, added).to(at::kCPU);
        ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        router.remove_observer(&progress);
        router.remove_observer(&shapes);
    }

    const auto& unet = model->unet;
    std::cout << unet.config().describe() << "\n"
              << "weights: " << model->origin << "\n"
              << "image " << width << "x" << height << " -> latent " << width / 8 << "x" << height / 8
              << ", batch " << batch << (batch == 2 ? " (classifier-free guidance: uncond, cond)" : "")
              << ", context " << context_len << " tokens, " << dtype_label(dtype) << " on " << device.str()
              << "\n"
              << "attention backend: " << router.default_backend();
    if (!router.last_used().empty()) std::cout << " (used: " << router.last_used().begin()->second << ")";
    std::cout << "\n\nSelf-Attention (batch x heads, sequence, head dim)\n"
              << format_shape_table(shapes.shapes(), AttentionKind::Self) << "\nCross-Attention\n"
              << format_shape_table(shapes.shapes(), AttentionKind::Cross) << "\nforward pass: " << ms
              << " ms, output " << shape_string(out.sizes().vec())
              << ", finite: " << (at::isfinite(out).all().item<bool>() ? "yes" : "NO") << "\n";
    return 0;
}

} // namespace attnscope::cli
