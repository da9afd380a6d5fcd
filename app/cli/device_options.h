#pragma once
// --device and --tf32, which every command that computes takes (the visualizer's too).
#include "command_line.h"

#include <ATen/ATen.h>

namespace attnscope::cli {

inline constexpr const char* kTf32Help =
    "allow TF32 for fp32 convolutions and matmuls on CUDA (faster, ~1e-4 "
    "relative error; off: IEEE fp32)";

// `fallback` is --device's default: "cpu" for the commands, "auto" (cuda where a GPU is visible) for the gui.
void add_device_options(CommandLine& args, const std::string& fallback = "cpu");

// The device --device names, checked against this build. With --tf32, TF32 is turned on, for the whole
// process: LibTorch's switches are global.
at::Device chosen_device(const CommandLine& args);

} // namespace attnscope::cli
