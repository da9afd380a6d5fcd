#pragma once
// What attnscope takes from a diffusers folder's scheduler/scheduler_config.json: the prediction type the
// U-Net was trained for (the schedule itself is SD's, core/sched/scheduler.h). No LibTorch, so a user's file
// reaches this reader under the fuzzer (tests/fuzz/fuzz_scheduler_config.cpp) as it does in the U-Net loader.
#include "model/unet_config.h"

#include <optional>
#include <string>

namespace attnscope {

// The "prediction_type" the config names, or nothing when it names none. Throws std::runtime_error
// "<label>: ..." for text that is not a JSON object or a prediction type that is not a known string.
std::optional<Prediction> scheduler_prediction_from_json(const std::string& json_text,
                                                         const std::string& label);

} // namespace attnscope
