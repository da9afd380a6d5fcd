#pragma once
// The small SD v1-style pipeline (tests/data/pipeline_v1_small, 64x64 pixels) and short settings that the
// comparison and intervention tests run: a few seconds a generation on two cores.
#include "session/session.h"
#include "test_util.h"

#include <map>

namespace attnscope::test {

inline std::shared_ptr<const Pipeline> small_pipeline(at::ScalarType dtype = at::kFloat) {
    static std::map<at::ScalarType, std::shared_ptr<const Pipeline>> cache;
    auto& p = cache[dtype];
    if (!p) {
        PipelineOptions options;
        options.dtype = dtype;
        p = load_pipeline(std::string(ATTNSCOPE_TEST_DATA) + "/pipeline_v1_small", options);
    }
    return p;
}

inline GenerationSettings small_settings(int steps = 3, SchedulerKind scheduler = SchedulerKind::DDIM) {
    GenerationSettings s;
    s.prompt = "a red circle left of a blue square";
    s.negative_prompt = "blurry";
    s.seed = 1234;
    s.steps = steps;
    s.guidance_scale = 7.5;
    s.scheduler = scheduler;
    return s;
}

} // namespace attnscope::test
