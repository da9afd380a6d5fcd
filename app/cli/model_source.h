#pragma once
// The U-Net a command works on: loaded from --model PATH, or built with random weights from --preset.
#include "command_line.h"
#include "model/unet.h"
#include "progress_bar.h"

#include <string>

namespace attnscope::cli {

struct ModelChoice {
    UNet unet;
    std::string origin; // "random weights, preset sd15 (seed 0)" or the checkpoint's path and layout
};

ModelChoice choose_model(const CommandLine& args, at::ScalarType dtype, at::Device device,
                         ProgressBar& progress);

// --model --config --preset --seed --prediction
void add_model_options(CommandLine& args);

} // namespace attnscope::cli
