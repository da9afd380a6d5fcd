// Our GEGLU kernel (model/fused_geglu.h) against float64 a * gelu(g) of the same rounded projection, at the
// SD feed-forward widths (1280 to 5120), a width that is no multiple of 8 (one value a load), and where it
// does not run.
#include "model/fused_geglu.h"
#include "test_util.h"

#include <ATen/CPUGeneratorImpl.h>

namespace attnscope {
namespace {

TEST(FusedGeglu, MatchesFloat64OnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    const auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
    for (const auto dtype : {at::kHalf, at::kBFloat16})
        for (const auto& shape : std::vector<std::vector<int64_t>>{
                 {2, 4096, 2 * 1280}, {2, 256, 2 * 5120}, {2, 77, 2 * 12}, {3, 5, 2 * 1}}) {
            const auto proj64 = at::randn(shape, gen, at::kDouble) * 3;
            const auto proj = proj64.to(at::kCUDA, dtype);
            const auto ag = proj.to(at::kCPU, at::kDouble).chunk(2, -1);
            const auto want = ag[0] * 0.5 * ag[1] * (1 + at::erf(ag[1] / std::sqrt(2.0)));
            const auto got = fused_geglu(proj);
            const std::string label =
                std::string(c10::toString(dtype)) + " width " + std::to_string(shape[2] / 2);
            ASSERT_TRUE(got.defined()) << label;
            EXPECT_EQ(got.sizes(), want.sizes()) << label;
            EXPECT_LT(test::rel_l2(got.to(at::kCPU, at::kDouble), want), dtype == at::kHalf ? 1e-3 : 8e-3)
                << label;
        }
}

TEST(FusedGeglu, LeavesWhatItDoesNotTakeToLibTorch) {
    EXPECT_FALSE(fused_geglu(at::randn({4, 8})).defined()); // the CPU
    if (!test::has_cuda()) return;
    const auto proj = at::randn({4, 16}, at::TensorOptions().device(at::kCUDA).dtype(at::kHalf));
    EXPECT_FALSE(fused_geglu(proj.to(at::kFloat)).defined());               // fp32
    EXPECT_FALSE(fused_geglu(proj.narrow(1, 0, 15)).defined());             // odd width (and strided)
    EXPECT_FALSE(fused_geglu(proj.t().contiguous().t()).defined());         // not contiguous
    EXPECT_FALSE(fused_geglu(proj.clone().requires_grad_(true)).defined()); // being trained
}

} // namespace
} // namespace attnscope
