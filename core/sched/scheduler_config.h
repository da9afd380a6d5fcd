#pragma once
// What attnscope takes from a diffusers folder's scheduler/scheduler_config.json: the prediction type the
// U-Net was trained for and, for SDXL-family models, the timestep spacing (the schedule itself is SD's,
// core/sched/scheduler.h). No LibTorch, so a user's file
// reaches this reader under the fuzzer (tests/fuzz/fuzz_scheduler_config.cpp) as it does in the U-Net loader.
#include "model/unet_config.h"

#include <optional>
#include <string>

namespace attnscope {

// How a scheduler config spaces the inference timesteps. ClassDefault: SD v1/v2's configs name none, so DDIM
// and PNDM space "leading" (steps_offset 1) and the Euler pair "linspace". Leading: SDXL's config names it
// for every class. Trailing: SDXL-Turbo's and SD-Turbo's (t = 999 down in equal strides, 1-4 steps).
// DPM++ 2M Karras takes its timesteps from its Karras sigmas, so every other class follows this.
enum class TimestepSpacing { ClassDefault, Leading, Trailing };

// The "timestep_spacing" the config names ("linspace" is ClassDefault), or nothing when it names none.
// Throws std::runtime_error "<label>: ..." for another value.
std::optional<TimestepSpacing> scheduler_spacing_from_json(const std::string& json_text,
                                                           const std::string& label);

// The "prediction_type" the config names, or nothing when it names none. Throws std::runtime_error
// "<label>: ..." for text that is not a JSON object or a prediction type that is not a known string.
std::optional<Prediction> scheduler_prediction_from_json(const std::string& json_text,
                                                         const std::string& label);

} // namespace attnscope
