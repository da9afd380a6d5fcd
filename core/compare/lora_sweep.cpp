#include "lora_sweep.h"

#include "capture/attention_maps.h"
#include "compare/image_metrics.h"
#include "io/png_file.h"
#include "render/grid.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace attnscope {

namespace {

constexpr int kGap = 2;
const std::vector<uint8_t> kBackground{40, 42, 48}; // the visualizer's empty tile

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

// Puts a LoRA's scale back however the sweep ends.
class ScaleRestorer {
  public:
    explicit ScaleRestorer(std::shared_ptr<std::atomic<double>> scale)
        : scale_(std::move(scale)), was_(scale_->load()) {}
    ~ScaleRestorer() { scale_->store(was_); }
    ScaleRestorer(const ScaleRestorer&) = delete;
    ScaleRestorer& operator=(const ScaleRestorer&) = delete;

  private:
    std::shared_ptr<std::atomic<double>> scale_;
    double was_;
};

} // namespace

std::vector<double> sweep_scales(int count, double last) {
    if (count < 2 || count > 64)
        throw std::invalid_argument("a sweep takes 2..64 scales, got " + std::to_string(count));
    if (!std::isfinite(last)) throw std::invalid_argument("the sweep's last scale must be a finite number");
    std::vector<double> scales;
    for (int k = 0; k < count; ++k) scales.push_back(last * k / (count - 1));
    return scales;
}

std::vector<LoraSweepRun> sweep_lora(const std::shared_ptr<const Pipeline>& pipeline,
                                     const GenerationSettings& settings, size_t lora,
                                     const std::vector<double>& scales, const std::vector<int64_t>& tokens,
                                     const ProgressFn& progress) {
    if (lora >= pipeline->loras.size())
        throw std::invalid_argument("the model runs with " + std::to_string(pipeline->loras.size()) +
                                    " LoRA(s); there is no LoRA " + std::to_string(lora + 1) + " to sweep");
    if (tokens.empty()) throw std::invalid_argument("a sweep follows at least one token of the prompt");
    const ScaleRestorer restore(pipeline->loras[lora].scale);
    CapturePolicy policy;
    policy.self_attention = false;
    std::vector<LoraSweepRun> runs;
    for (size_t k = 0; k < scales.size(); ++k) {
        pipeline->loras[lora].scale->store(scales[k]);
        Session session(pipeline, settings);
        for (const auto t : tokens)
            if (t < 0 || t >= session.prompt_tokens().length)
                throw std::invalid_argument("token position " + std::to_string(t) +
                                            " is outside the prompt's 0.." +
                                            std::to_string(session.prompt_tokens().length - 1));
        CaptureStore capture(policy);
        session.router().add_observer(&capture);
        MapRequest request;
        while (!session.done()) {
            request.steps.push_back(session.current_step());
            capture.begin_step(session.current_step());
            const auto info = session.step();
            if (progress) {
                char what[96];
                std::snprintf(what, sizeof what, "scale %.3g: step %d/%d", scales[k], info.index + 1,
                              session.total_steps());
                progress((k + static_cast<double>(info.index + 1) / session.total_steps()) / scales.size(),
                         what);
            }
        }
        for (const auto& site :
             pipeline->unet.sites(session.guided() ? 2 : 1, session.latents().size(2),
                                  session.latents().size(3), ClipTokenizer::kContextLength))
            if (site.kind == AttentionKind::Cross) request.indices.push_back(site.index);
        request.tokens = tokens;
        request.out_width = session.settings().width;
        request.out_height = session.settings().height;
        runs.push_back({scales[k], session.image(),
                        attention_map(capture, request).to(at::kCPU, at::kFloat).contiguous()});
    }
    return runs;
}

LoraSweepStrip lora_sweep_strip(const std::vector<LoraSweepRun>& runs, const Lut& lut) {
    if (runs.empty()) throw std::invalid_argument("a sweep's strip needs at least one run");
    const int n = static_cast<int>(runs.size());
    const int w = static_cast<int>(runs.front().map.size(1)), h = static_cast<int>(runs.front().map.size(0));
    ValueRange range = value_range(map_image(runs.front().map));
    for (const auto& r : runs) range = merge(range, value_range(map_image(r.map)));
    GridLayout layout{n, 2, w, h, kGap, {}, {}};
    std::vector<std::vector<uint8_t>> tiles(static_cast<size_t>(2 * n));
    for (int k = 0; k < n; ++k) {
        const auto& r = runs[static_cast<size_t>(k)];
        tiles[static_cast<size_t>(k)] = to_image8(r.image).pixels;
        tiles[static_cast<size_t>(n + k)] = colorize_rgb(map_image(r.map), range, lut);
    }
    for (int i = 0; i < 2 * n; ++i) layout.cells.push_back({i % n, i / n});
    return {{layout.width(), layout.height(), 3, compose_grid(layout, tiles, kBackground)}, range, kGap};
}

nlohmann::json lora_sweep_runs_json(const std::vector<LoraSweepRun>& runs) {
    auto out = nlohmann::json::array();
    if (runs.empty()) return out;
    const auto& first = runs.front();
    const double base = std::max(1e-12, first.map.abs().mean().item<double>());
    for (const auto& r : runs) {
        const auto [cx, cy] = centroid(r.map);
        const auto stats = map_stats(r.map);
        const double p = psnr(first.image, r.image);
        out.push_back({{"scale", r.scale},
                       {"centroid", {cx, cy}},
                       {"stats", {{"max", stats.max}, {"mean", stats.mean}, {"entropy", stats.entropy}}},
                       {"map_change", (r.map - first.map).abs().mean().item<double>() / base},
                       {"image_psnr_db", std::isfinite(p) ? nlohmann::json(p) : nlohmann::json("inf")}});
    }
    return out;
}

} // namespace attnscope
