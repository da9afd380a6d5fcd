// libFuzzer target for the reader of a diffusers folder's scheduler/scheduler_config.json
// (core/sched/scheduler_config.cpp, as the U-Net loader reads it): any bytes either give a prediction type
// (or none) or are rejected with std::runtime_error naming the file. Nothing else escapes. Built and run by
// tools/fuzz.sh.
#include "sched/scheduler_config.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    try {
        const auto p = scheduler_prediction_from_json(std::string(reinterpret_cast<const char*>(data), size),
                                                      "scheduler_config.json");
        if (p && parse_prediction(to_string(*p)) != *p) __builtin_trap();
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("scheduler_config.json: ", 0) != 0) __builtin_trap();
    }
    return 0;
}
