// The config.json readers a user's model folder reaches (core/model/*_config.cpp, core/text/clip_text_config,
// core/sched/scheduler_config), without LibTorch: what their fuzzers and readers found, kept found. The readers' ordinary
// behaviour is tested beside the models that use them (test_vae_decoder.cpp, test_clip_text_model.cpp, ...).
#include "sched/scheduler_config.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

std::string scheduler_refusal(const std::string& json) {
    try {
        const auto p = scheduler_prediction_from_json(json, "scheduler_config.json");
        return p ? "(" + to_string(*p) + ")" : "(none)";
    } catch (const std::runtime_error& e) {
        return e.what();
    }
}

// The U-Net loader read scheduler_config.json's prediction_type itself: an unknown type escaped as
// std::invalid_argument without the file's name, and a file that was not an object was silently ignored.
TEST(SchedulerConfig, PredictionTypeIsReadOrRefusedNamingTheFile) {
    EXPECT_EQ(scheduler_refusal(R"({"prediction_type": "v_prediction"})"), "(v_prediction)");
    EXPECT_EQ(scheduler_refusal(R"({"prediction_type": "epsilon", "steps_offset": 1})"), "(epsilon)");
    EXPECT_EQ(scheduler_refusal(R"({"_class_name": "DDIMScheduler"})"), "(none)");
    EXPECT_EQ(scheduler_refusal(R"({"prediction_type": "sample"})"),
              "scheduler_config.json: unknown prediction type 'sample' (known: epsilon, v_prediction)");
    EXPECT_EQ(scheduler_refusal(R"({"prediction_type": 1})"),
              "scheduler_config.json: \"prediction_type\" must be a string");
    EXPECT_EQ(scheduler_refusal("[]"), "scheduler_config.json: is not a JSON object");
}

} // namespace
} // namespace attnscope
