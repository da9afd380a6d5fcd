// The config.json readers a user's model folder reaches (core/model/*_config.cpp, core/text/clip_text_config,
// core/sched/scheduler_config), without LibTorch: what their fuzzers and readers found, kept found. The
// readers' ordinary behaviour is tested beside the models that use them (test_vae_decoder.cpp,
// test_clip_text_model.cpp, ...).
#include "model/taesd_config.h"
#include "sched/scheduler_config.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

std::string refusal(void (*check)(const std::string&), const std::string& json) {
    try {
        check(json);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "(accepted)";
}

void check_taesd(const std::string& json) {
    check_taesd_config(json, "config.json");
}

// upsampling_scaling_factor was read with get<int>: 1e300 was undefined behaviour (UBSan under
// fuzz_taesd_config) and 2.5 was truncated to the supported 2 and accepted.
TEST(TaesdConfig, AnUpsamplingFactorIsComparedNotCast) {
    EXPECT_EQ(refusal(check_taesd, R"({"upsampling_scaling_factor": 2})"), "(accepted)");
    EXPECT_EQ(refusal(check_taesd, R"({"upsampling_scaling_factor": 2.0})"), "(accepted)");
    EXPECT_EQ(refusal(check_taesd, R"({"upsampling_scaling_factor": 1e300})"),
              "config.json: unsupported upsampling_scaling_factor 1e+300");
    EXPECT_EQ(refusal(check_taesd, R"({"upsampling_scaling_factor": 2.5})"),
              "config.json: unsupported upsampling_scaling_factor 2.5");
    EXPECT_EQ(refusal(check_taesd, R"({"upsampling_scaling_factor": "2"})"),
              "config.json: unsupported upsampling_scaling_factor \"2\"");
}

// A config that is JSON but not an object was reported as "a field of the wrong type".
TEST(TaesdConfig, ANonObjectIsNamedAsSuch) {
    EXPECT_EQ(refusal(check_taesd, "[1, 2]"), "config.json: is not a JSON object");
    EXPECT_EQ(refusal(check_taesd, "{\"act_fn\": ").rfind("config.json: is not valid JSON: ", 0), 0u);
}

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
