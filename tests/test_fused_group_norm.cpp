// Our GroupNorm(+SiLU) kernel on channels-last activations (model/fused_group_norm.h) against the float64
// GroupNorm of the same rounded input, at the U-Net's group sizes (1 to 80 channels a group, odd pixel
// counts, SDXL's 128x128 maps in 152 chunks), channel counts that are no multiple of 8 (one channel a load),
// an offset mean (the variance is centred), a per-(item, channel) shift added before normalizing, and where
// it does not run.
#include "model/fused_group_norm.h"
#include "test_util.h"

#include <ATen/CPUGeneratorImpl.h>

namespace attnscope {
namespace {

struct Case {
    int64_t batch, channels, height, width, groups;
    double offset;
};

TEST(FusedGroupNorm, MatchesFloat64GroupNormOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    const auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    for (const auto dtype : {at::kHalf, at::kBFloat16})
        for (const Case c :
             {Case{2, 320, 64, 64, 32, 0.0}, Case{2, 1280, 8, 8, 32, 0.0}, Case{1, 32, 7, 9, 32, 0.0},
              Case{2, 640, 13, 11, 32, 50.0}, Case{3, 96, 5, 5, 8, -3.0}, Case{1, 320, 128, 128, 32, 2.0},
              Case{2, 2560, 16, 16, 32, 0.0}, Case{2, 36, 9, 7, 4, 1.0}, Case{1, 12, 3, 3, 12, 0.0}})
            for (const bool silu : {false, true})
                for (const bool shifted : {false, true}) {
                    const auto x64 =
                        at::randn({c.batch, c.channels, c.height, c.width}, gen, at::kDouble) * 2 + c.offset;
                    const auto x = x64.to(at::kCUDA, dtype).contiguous(at::MemoryFormat::ChannelsLast);
                    const auto gamma = (at::rand({c.channels}, gen, at::kDouble) + 0.5).to(at::kCUDA, dtype);
                    const auto beta = at::randn({c.channels}, gen, at::kDouble).to(at::kCUDA, dtype);
                    // A resnet's conv1 bias plus its timestep projection: one value per (item, channel).
                    const auto shift =
                        shifted
                            ? (at::randn({c.batch, c.channels}, gen, at::kDouble) * 3).to(at::kCUDA, dtype)
                            : at::Tensor();
                    auto in = x.to(at::kCPU, at::kDouble);
                    if (shifted) in = in + shift.to(at::kCPU, at::kDouble).unsqueeze(-1).unsqueeze(-1);
                    auto want = at::group_norm(in, c.groups, gamma.to(at::kCPU, at::kDouble),
                                               beta.to(at::kCPU, at::kDouble), 1e-5);
                    if (silu) want = at::silu(want);
                    const auto got = fused_group_norm_nhwc(x, gamma, beta, c.groups, 1e-5, silu, shift);
                    const std::string label =
                        std::string(c10::toString(dtype)) + " C " + std::to_string(c.channels) + " groups " +
                        std::to_string(c.groups) + " offset " + std::to_string(c.offset) +
                        (silu ? " silu" : "") + (shifted ? " shifted" : "");
                    ASSERT_TRUE(got.defined()) << label;
                    EXPECT_TRUE(got.is_contiguous(at::MemoryFormat::ChannelsLast)) << label;
                    // The output's own rounding: fp16 keeps 11 bits, bf16 8.
                    EXPECT_LT(test::rel_l2(got.to(at::kCPU, at::kDouble), want),
                              dtype == at::kHalf ? 1e-3 : 8e-3)
                        << label;
                }
}

TEST(FusedGroupNorm, LeavesWhatItDoesNotTakeToLibTorch) {
    const auto x = at::randn({1, 64, 4, 4}).contiguous(at::MemoryFormat::ChannelsLast);
    const auto w = at::ones({64});
    EXPECT_FALSE(fused_group_norm_nhwc(x, w, w, 32, 1e-5, true).defined()); // the CPU
    if (!test::has_cuda()) return;
    const auto cuda = [](const at::Tensor& t, at::ScalarType type) { return t.to(at::kCUDA, type); };
    EXPECT_FALSE(fused_group_norm_nhwc(cuda(x, at::kFloat), cuda(w, at::kFloat), cuda(w, at::kFloat), 32,
                                       1e-5,
                                       true)
                     .defined()); // fp32
    EXPECT_FALSE(fused_group_norm_nhwc(cuda(x, at::kHalf).contiguous(), cuda(w, at::kHalf),
                                       cuda(w, at::kHalf), 32, 1e-5, true)
                     .defined()); // NCHW
    EXPECT_FALSE(
        fused_group_norm_nhwc(cuda(x, at::kHalf), cuda(w, at::kHalf), cuda(w, at::kHalf), 48, 1e-5, true)
            .defined()); // 64 channels in 48 groups
    EXPECT_FALSE(fused_group_norm_nhwc(cuda(x, at::kHalf), cuda(w, at::kHalf), cuda(w, at::kHalf), 32, 1e-5,
                                       true, cuda(at::ones({1, 32}), at::kHalf))
                     .defined()); // a shift for 32 channels
}

} // namespace
} // namespace attnscope
