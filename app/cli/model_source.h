#pragma once
// The U-Net a command works on: loaded from --model PATH, or built with random weights from --preset.
#include "args.h"
#include "model/unet.h"
#include "progress_bar.h"

#include <string>

namespace attnscope::cli {

struct ModelChoice {
    UNet unet;
    std::string origin; // "random weights, preset sd15 (seed 0)" or the checkpoint's path and layout
};

ModelChoice choose_model(const Args& args, at::ScalarType dtype, at::Device device, ProgressBar& progress);

inline const std::set<std::string> kModelOptions{"model", "config", "preset", "seed", "prediction"};

} // namespace attnscope::cli
