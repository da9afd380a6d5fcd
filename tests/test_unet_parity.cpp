// Parity with diffusers' UNet2DConditionModel: fixtures made by tools/make_unet_fixtures.py on random
// small configs (SD v1, SD v2, SDXL), the reference run in float64. Both checkpoint layouts must give the
// same numbers.
#include "attention/probs_recorder.h"
#include "attention/router.h"
#include "model/unet_loader.h"
#include "test_util.h"

namespace attnscope {
namespace {

namespace fs = std::filesystem;

struct Case {
    std::string name;
    KeyLayout layout;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name << " " << to_string(c.layout);
}

class UNetParity : public ::testing::TestWithParam<Case> {
  protected:
    fs::path data = ATTNSCOPE_TEST_DATA;

    UNetCheckpoint open() const {
        const auto& c = GetParam();
        if (c.layout == KeyLayout::Diffusers) return open_unet_checkpoint((data / c.name).string());
        // The original layout records no head counts; take them from the fixture's config.json.
        UNetOpenOptions o;
        o.config = read_unet_config((data / c.name / "unet" / "config.json").string());
        return open_unet_checkpoint((data / (c.name + "_ldm.safetensors")).string(), o);
    }

    SafetensorsFile io() const {
        return SafetensorsFile((data / (GetParam().name + "_io.safetensors")).string());
    }

    // SDXL's pooled text embedding and micro-conditioning, where the fixture has them.
    static AddedConditions added(const SafetensorsFile& inputs, at::ScalarType dtype, at::Device device) {
        if (!inputs.contains("time_ids")) return {};
        return {inputs.load("text_embeds", dtype, device), inputs.load("time_ids", at::kFloat, device)};
    }

    // The fixture's forward pass on the CPU with the reference backend: the output and every site's P.
    std::pair<at::Tensor, std::map<std::string, at::Tensor>> run(at::ScalarType dtype) const {
        const auto inputs = io();
        const auto unet = load_unet(open(), dtype, at::kCPU);
        AttentionRouter router;
        router.set_default_backend("math");
        ProbsRecorder rec;
        router.add_observer(&rec);
        auto out =
            unet.forward(inputs.load("sample", dtype), inputs.load("timestep", dtype),
                         inputs.load("encoder_hidden_states", dtype), router, added(inputs, dtype, at::kCPU));
        EXPECT_EQ(rec.probs().size(), 2u * unet.site_count());
        for (const auto& [key, p] : rec.probs()) {
            EXPECT_TRUE(inputs.contains(key)) << key;
            EXPECT_EQ(p.sizes(), inputs.load(key).sizes()) << key;
        }
        return {out, rec.probs()};
    }
};

TEST_P(UNetParity, MatchesTheReferenceInFloat32) {
    EXPECT_EQ(open().layout, GetParam().layout);
    const auto [out, probs] = run(at::kFloat);
    const double err = test::rel_l2(out, io().load("out"));
    EXPECT_LT(err, 1e-5);
    double worst = 0;
    for (const auto& [key, p] : probs) {
        const double e = test::rel_l2(p, io().load(key));
        EXPECT_LT(e, 1e-5) << key;
        worst = std::max(worst, e);
    }
    std::printf("%s (%s): output rel L2 %.3g, worst P rel L2 %.3g\n", GetParam().name.c_str(),
                to_string(GetParam().layout).c_str(), err, worst);
}

TEST_P(UNetParity, MatchesTheReferenceExactlyInFloat64) {
    const auto [out, probs] = run(at::kDouble);
    EXPECT_LT(test::rel_l2(out, io().load("out")), 1e-10);
    // The reference probabilities are stored in fp32: their rounding (2^-24 relative) is the floor here.
    for (const auto& [key, p] : probs) EXPECT_LT(test::rel_l2(p, io().load(key)), 1e-6) << key;
}

// Channels-last memory (UNet::use_channels_last, its own GroupNorm over NHWC groups) computes the same U-Net.
// In fp64 not to the last digits: LibTorch's GroupNorm (the reference's too) takes the variance as
// E[x^2] - E[x]^2, which cancels to about 5e-8 here; ours is the mean squared deviation.
TEST_P(UNetParity, MatchesTheReferenceInChannelsLast) {
    const auto inputs = io();
    for (const auto& [dtype, tolerance] : {std::pair{at::kDouble, 1e-6}, std::pair{at::kFloat, 1e-5}}) {
        auto unet = load_unet(open(), dtype, at::kCPU);
        unet.use_channels_last();
        AttentionRouter router;
        router.set_default_backend("math");
        const auto out =
            unet.forward(inputs.load("sample", dtype), inputs.load("timestep", dtype),
                         inputs.load("encoder_hidden_states", dtype), router, added(inputs, dtype, at::kCPU));
        EXPECT_TRUE(out.is_contiguous());
        EXPECT_LT(test::rel_l2(out, inputs.load("out")), tolerance) << at::toString(dtype);
    }
}

TEST_P(UNetParity, MatchesTheReferenceOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    const auto inputs = io();
    // fp32 is checked at full fp32 accuracy: TF32 convolutions and matmuls (a speed default) are turned off.
    const bool tf32_conv = at::globalContext().allowTF32CuDNN(),
               tf32_mm = at::globalContext().allowTF32CuBLAS();
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
    const std::pair<at::ScalarType, double> cases[] = {
        {at::kFloat, 1e-5}, {at::kHalf, 5e-3}, {at::kBFloat16, 3e-2}};
    for (const auto& [dtype, tolerance] : cases) {
        auto unet = load_unet(open(), dtype, at::kCUDA);
        for (const char* backend : {"math", "sdpa", "sdpa, channels last"}) {
            if (std::string(backend) == "sdpa, channels last") unet.use_channels_last();
            AttentionRouter router;
            router.set_default_backend(unet.channels_last() ? "sdpa" : backend);
            const auto out =
                unet.forward(inputs.load("sample", dtype, at::kCUDA), inputs.load("timestep", at::kFloat),
                             inputs.load("encoder_hidden_states", dtype, at::kCUDA), router,
                             added(inputs, dtype, at::kCUDA));
            const double err = test::rel_l2(out, inputs.load("out"));
            EXPECT_LT(err, tolerance) << backend << " " << at::toString(dtype);
            std::printf("%s CUDA %s %s: output rel L2 %.3g\n", GetParam().name.c_str(), at::toString(dtype),
                        backend, err);
        }
    }
    at::globalContext().setAllowTF32CuDNN(tf32_conv);
    at::globalContext().setAllowTF32CuBLAS(tf32_mm);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, UNetParity,
    ::testing::Values(Case{"unet_v1_small", KeyLayout::Diffusers}, Case{"unet_v1_small", KeyLayout::Ldm},
                      Case{"unet_v2_small", KeyLayout::Diffusers}, Case{"unet_v2_small", KeyLayout::Ldm},
                      Case{"unet_xl_small", KeyLayout::Diffusers}, Case{"unet_xl_small", KeyLayout::Ldm}),
    [](const auto& info) {
        return info.param.name + (info.param.layout == KeyLayout::Ldm ? "_ldm" : "_diffusers");
    });

} // namespace
} // namespace attnscope
