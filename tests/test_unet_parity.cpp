// Parity with diffusers' UNet2DConditionModel: fixtures made by tools/make_unet_fixtures.py on random
// small configs, the reference run in float64. Both checkpoint layouts must give the same numbers.
#include "attention/router.h"
#include "model/unet_loader.h"
#include "test_util.h"

#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

namespace fs = std::filesystem;

struct Capture final : AttentionObserver {
    std::map<std::string, at::Tensor> probs;
    void on_attention(const AttentionSite& s, const AttentionTensors& t) override {
        char key[32];
        std::snprintf(key, sizeof key, "p.%02d.%s", s.index, to_string(s.kind));
        probs[key] = t.probs;
    }
    bool wants_probs() const override { return true; }
};

struct Case {
    std::string name;
    KeyLayout layout;
};

class UNetParity : public ::testing::TestWithParam<Case> {
  protected:
    fs::path data = ATTNSCOPE_TEST_DATA;

    UNetCheckpoint open() const {
        const auto& c = GetParam();
        if (c.layout == KeyLayout::Diffusers) return open_unet_checkpoint((data / c.name).string());
        // The original layout records no head counts; take them from the fixture's config.json.
        UNetOpenOptions o;
        std::ifstream in(data / c.name / "unet" / "config.json");
        o.config = unet_config_from_json(nlohmann::json::parse(in), "config.json");
        return open_unet_checkpoint((data / (c.name + "_ldm.safetensors")).string(), o);
    }
};

TEST_P(UNetParity, MatchesTheReferenceInFloat32) {
    const auto ck = open();
    EXPECT_EQ(ck.layout, GetParam().layout);
    const SafetensorsFile io((data / (GetParam().name + "_io.safetensors")).string());
    const auto unet = load_unet(ck, at::kFloat, at::kCPU);
    AttentionRouter router;
    router.set_default_backend("math");
    Capture cap;
    router.add_observer(&cap);
    const auto out = unet.forward(io.load("sample", at::kFloat), io.load("timestep", at::kFloat),
                                  io.load("encoder_hidden_states", at::kFloat), router);
    const double err = test::rel_l2(out, io.load("out"));
    EXPECT_LT(err, 1e-5);
    ASSERT_EQ(cap.probs.size(), 32u);
    double worst = 0;
    for (const auto& [key, p] : cap.probs) {
        ASSERT_TRUE(io.contains(key)) << key;
        const auto ref = io.load(key);
        ASSERT_EQ(p.sizes(), ref.sizes()) << key;
        const double e = test::rel_l2(p, ref);
        EXPECT_LT(e, 1e-5) << key;
        worst = std::max(worst, e);
    }
    RecordProperty("output_rel_l2", std::to_string(err));
    RecordProperty("worst_probs_rel_l2", std::to_string(worst));
    std::printf("%s (%s): output rel L2 %.3g, worst P rel L2 %.3g\n", GetParam().name.c_str(),
                to_string(GetParam().layout).c_str(), err, worst);
}

TEST_P(UNetParity, MatchesTheReferenceExactlyInFloat64) {
    const SafetensorsFile io((data / (GetParam().name + "_io.safetensors")).string());
    const auto unet = load_unet(open(), at::kDouble, at::kCPU);
    AttentionRouter router;
    router.set_default_backend("math");
    Capture cap;
    router.add_observer(&cap);
    const auto out = unet.forward(io.load("sample", at::kDouble), io.load("timestep", at::kDouble),
                                  io.load("encoder_hidden_states", at::kDouble), router);
    EXPECT_LT(test::rel_l2(out, io.load("out")), 1e-10);
    // The reference probabilities are stored in fp32: their rounding (2^-24 relative) is the floor here.
    for (const auto& [key, p] : cap.probs) EXPECT_LT(test::rel_l2(p, io.load(key)), 1e-6) << key;
}

TEST_P(UNetParity, MatchesTheReferenceInFloat16OnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    const SafetensorsFile io((data / (GetParam().name + "_io.safetensors")).string());
    const auto unet = load_unet(open(), at::kHalf, at::kCUDA);
    for (const char* backend : {"math", "sdpa"}) {
        AttentionRouter router;
        router.set_default_backend(backend);
        const auto out =
            unet.forward(io.load("sample", at::kHalf, at::kCUDA), io.load("timestep", at::kFloat),
                         io.load("encoder_hidden_states", at::kHalf, at::kCUDA), router);
        const double err = test::rel_l2(out, io.load("out"));
        EXPECT_LT(err, 5e-3) << backend;
        std::printf("%s fp16 CUDA %s: output rel L2 %.3g\n", GetParam().name.c_str(), backend, err);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, UNetParity,
    ::testing::Values(Case{"unet_v1_small", KeyLayout::Diffusers}, Case{"unet_v1_small", KeyLayout::Ldm},
                      Case{"unet_v2_small", KeyLayout::Diffusers}, Case{"unet_v2_small", KeyLayout::Ldm}),
    [](const auto& info) {
        return info.param.name + (info.param.layout == KeyLayout::Ldm ? "_ldm" : "_diffusers");
    });

} // namespace
} // namespace attnscope
