#pragma once
// A LoRA-scale sweep: one generation (settings and seed) run again with one of the pipeline's LoRAs at each
// of several scales, following where some tokens attend: their cross-attention summed over the sites (each
// up-sampled to the image), the mean of the heads, the prompt's half, averaged over the steps. What
// `attnscope lora-sweep` writes and the visualizer's Sweep tab shows.
#include "render/colormap.h"
#include "render/map_image.h"
#include "session/session.h"
#include "util/progress.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attnscope {

struct LoraSweepRun {
    double scale = 0;
    at::Tensor image; // (1, 3, H, W) in [0, 1] on the CPU
    at::Tensor map;   // (H, W) fp32 on the CPU
};

// `scales` evenly from 0 to `last`, `count` of them (2..64; std::invalid_argument otherwise).
std::vector<double> sweep_scales(int count, double last);

// Runs `settings` once per scale with the pipeline's LoRA number `lora` (0-based) at that scale, then puts
// its scale back. `tokens`: prompt positions, summed. `progress` may throw to stop (the scale is put back
// then too). Throws std::invalid_argument for a LoRA or token the pipeline or prompt does not have.
std::vector<LoraSweepRun> sweep_lora(const std::shared_ptr<const Pipeline>& pipeline,
                                     const GenerationSettings& settings, size_t lora,
                                     const std::vector<double>& scales, const std::vector<int64_t>& tokens,
                                     const ProgressFn& progress = {});

// The strip: the images in the first row, the maps (all on one range, through `lut`) in the second.
struct LoraSweepStrip {
    Image8 strip;
    ValueRange range; // of every map together
    int gap = 0;
};
LoraSweepStrip lora_sweep_strip(const std::vector<LoraSweepRun>& runs, const Lut& lut);

// Per run: scale, centroid (the map's centre of mass in [0, 1) of width and height), stats (max, mean,
// entropy), map_change (mean |map - the first run's| / mean |the first run's|) and image_psnr_db against the
// first run's image ("inf" when equal).
nlohmann::json lora_sweep_runs_json(const std::vector<LoraSweepRun>& runs);

} // namespace attnscope
