#pragma once
// The small SD v1 pipeline fixture (tests/data/pipeline_v1_small), loaded once per process, and the guided
// generation the capture and walk-through tests run on it: 3 steps at 64x48 with a negative prompt.
#include "io/safetensors_file.h"
#include "session/session.h"

#include <memory>
#include <string>

namespace attnscope::test {

inline std::shared_ptr<const Pipeline> small_pipeline() {
    static const auto p = load_pipeline(std::string(ATTNSCOPE_TEST_DATA) + "/pipeline_v1_small", {});
    return p;
}

inline GenerationSettings small_settings() {
    GenerationSettings s;
    s.prompt = "a red circle left of a blue square";
    s.negative_prompt = "blurry";
    s.steps = 3;
    s.width = 64;
    s.height = 48;
    s.seed = 7;
    return s;
}

// The settings a diffusers reference run was made with, from its file's metadata (prompt, negative_prompt,
// seed, steps, guidance_scale, width, height).
inline GenerationSettings reference_settings(const SafetensorsFile& reference, SchedulerKind scheduler) {
    const auto meta = [&](const char* key) { return reference.header().metadata.at(key); };
    GenerationSettings s;
    s.prompt = meta("prompt");
    s.negative_prompt = meta("negative_prompt");
    s.seed = std::stoull(meta("seed"));
    s.steps = std::stoi(meta("steps"));
    s.guidance_scale = std::stod(meta("guidance_scale"));
    s.width = std::stoi(meta("width"));
    s.height = std::stoi(meta("height"));
    s.scheduler = scheduler;
    return s;
}

} // namespace attnscope::test
