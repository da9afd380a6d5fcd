#pragma once
// The small SD v1 pipeline fixture (tests/data/pipeline_v1_small), loaded once per process, and the guided
// generation the capture and walk-through tests run on it: 3 steps at 64x48 with a negative prompt.
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

} // namespace attnscope::test
