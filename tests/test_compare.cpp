// Comparing two runs of one generation: the image measures against hand computations, the lockstep
// comparison of backends and precisions on the small pipeline (same inputs and free running, from the start
// and from a shared step), the maps of both runs and the divergence grid's picture; on a GPU, our kernels.
#include "compare/divergence_grid.h"
#include "compare/image_metrics.h"
#include "compare/lockstep.h"
#include "compare/map_comparison.h"
#include "test_compare_fixtures.h"

#include <cmath>
#include <limits>

namespace attnscope {
namespace {

constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

// SSIM as the paper's weighted sums, one window position at a time, in float64: (C, H, W) images.
double ssim_loops(const at::Tensor& a, const at::Tensor& b) {
    const auto x = a.to(at::kDouble).contiguous(), y = b.to(at::kDouble).contiguous();
    const auto X = x.accessor<double, 3>(), Y = y.accessor<double, 3>();
    double w[11][11], total = 0;
    for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j)
            total += w[i][j] = std::exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / 4.5);
    double sum = 0;
    int64_t windows = 0;
    for (int64_t c = 0; c < x.size(0); ++c)
        for (int64_t r = 0; r + 11 <= x.size(1); ++r)
            for (int64_t s = 0; s + 11 <= x.size(2); ++s, ++windows) {
                double mx = 0, my = 0, vx = 0, vy = 0, cov = 0;
                for (int i = 0; i < 11; ++i)
                    for (int j = 0; j < 11; ++j) {
                        mx += w[i][j] / total * X[c][r + i][s + j];
                        my += w[i][j] / total * Y[c][r + i][s + j];
                    }
                for (int i = 0; i < 11; ++i)
                    for (int j = 0; j < 11; ++j) {
                        const double dx = X[c][r + i][s + j] - mx, dy = Y[c][r + i][s + j] - my;
                        vx += w[i][j] / total * dx * dx;
                        vy += w[i][j] / total * dy * dy;
                        cov += w[i][j] / total * dx * dy;
                    }
                sum += (2 * mx * my + kC1) * (2 * cov + kC2) / ((mx * mx + my * my + kC1) * (vx + vy + kC2));
            }
    return sum / static_cast<double>(windows);
}

TEST(ImageMetrics, IdenticalImagesHaveInfinitePsnrAndSsimOne) {
    at::manual_seed(3);
    const auto image = at::rand({1, 3, 32, 24});
    EXPECT_EQ(psnr(image, image), std::numeric_limits<double>::infinity());
    EXPECT_EQ(ssim(image, image), 1.0);
    const auto c = compare_images(image, image.clone());
    EXPECT_TRUE(std::isinf(c.psnr_db));
    EXPECT_EQ(c.ssim.value(), 1.0);
    EXPECT_EQ(c.max_abs, 0.0);
    EXPECT_EQ(c.difference.abs().max().item<float>(), 0.0f);
}

TEST(ImageMetrics, ImagesHoldingNanAreNotCalledIdentical) {
    // A guidance scale of 1e30 gives NaN images on both sides of a comparison; their MSE is NaN, not 0.
    const auto nan = at::full({1, 3, 16, 16}, std::nan(""), at::kDouble);
    EXPECT_TRUE(std::isnan(psnr(nan, nan)));
    EXPECT_TRUE(std::isnan(psnr(nan, at::zeros_like(nan))));
}

TEST(ImageMetrics, HandComputedCases) {
    // A constant shift of 0.1 everywhere: MSE 0.01, so 20 dB.
    const auto grey = at::full({3, 16, 16}, 0.5, at::kDouble),
               lighter = at::full({3, 16, 16}, 0.6, at::kDouble);
    EXPECT_NEAR(psnr(grey, lighter), 20.0, 1e-9);
    // Flat images have no variance or covariance: SSIM is the luminance term alone,
    // (2 * 0.5 * 0.6 + C1) / (0.5^2 + 0.6^2 + C1) = 0.6001 / 0.6101.
    EXPECT_NEAR(ssim(grey, lighter), 0.6001 / 0.6101, 1e-12);
    // A texture shifted by d keeps its variance and covariance (the structure term is 1), so each window
    // gives 1 - d^2 / (mx^2 + (mx + d)^2 + C1): the loops compute that from the window means.
    at::manual_seed(4);
    const auto texture = at::rand({2, 20, 17}, at::kDouble) * 0.6 + 0.2;
    const auto shifted = texture + 0.05;
    EXPECT_NEAR(ssim(texture, shifted), ssim_loops(texture, shifted), 1e-12);
    EXPECT_LT(ssim(texture, shifted), 1.0);
    EXPECT_GT(ssim(texture, shifted), 0.9);
}

TEST(ImageMetrics, SsimEqualsThePapersSumsOnRandomImages) {
    at::manual_seed(5);
    const auto a = at::rand({3, 23, 19}, at::kDouble),
               b = (a + 0.2 * at::randn({3, 23, 19}, at::kDouble)).clamp(0, 1);
    EXPECT_NEAR(ssim(a, b), ssim_loops(a, b), 1e-12);
    EXPECT_NEAR(ssim(a.unsqueeze(0).to(at::kFloat), b.unsqueeze(0)), ssim_loops(a, b), 1e-6);
}

TEST(ImageMetrics, RefusesWhatItCannotMeasure) {
    ATTNSCOPE_EXPECT_THROW_WITH(ssim(at::zeros({3, 8, 8}), at::zeros({3, 8, 8})), std::invalid_argument,
                                "SSIM needs images of at least 11x11 pixels, got 8x8");
    ATTNSCOPE_EXPECT_THROW_WITH(psnr(at::zeros({3, 8, 8}), at::zeros({3, 8, 16})), std::invalid_argument,
                                "cannot compare images of shapes (3, 8, 8) and (3, 8, 16)");
    const auto small = compare_images(at::zeros({3, 8, 8}), at::full({3, 8, 8}, 0.25));
    EXPECT_FALSE(small.ssim.has_value());
    EXPECT_EQ(small.gain, 4.0);
    EXPECT_EQ(small.difference.max().item<float>(), 1.0f);
}

TEST(Divergence, MeasuresAgainstTheReference) {
    const auto a = at::tensor({3.0, 4.0}), b = at::tensor({3.0, 4.5});
    const auto d = divergence(a, b);
    EXPECT_DOUBLE_EQ(d.max_abs, 0.5);
    EXPECT_DOUBLE_EQ(d.mean_abs, 0.25);
    EXPECT_DOUBLE_EQ(d.rel_l2, 0.1); // 0.5 / 5
    EXPECT_EQ(divergence(at::zeros({2}), at::zeros({2})).rel_l2, 0.0);
    EXPECT_TRUE(std::isinf(divergence(at::zeros({2}), at::ones({2})).rel_l2));
}

// The whole grid: every step compared, every site 1..16, self and cross.
void expect_complete_grid(const LockstepComparison& c, int first_step, int steps) {
    EXPECT_EQ(c.output_errors().size(), static_cast<std::size_t>((steps - first_step) * 16 * 2));
    for (int step = first_step; step < steps; ++step)
        for (int index = 1; index <= 16; ++index)
            for (const auto kind : {AttentionKind::Self, AttentionKind::Cross})
                EXPECT_EQ(c.output_errors().count({step, index, kind}), 1u)
                    << "step " << step << " index " << index << " " << to_string(kind);
    EXPECT_EQ(c.latents_divergence().size(), static_cast<std::size_t>(steps - first_step));
}

double worst(const std::map<CaptureKey, Divergence>& errors, double Divergence::*field) {
    double w = 0;
    for (const auto& [key, e] : errors) w = std::max(w, e.*field);
    return w;
}

TEST(Lockstep, MathAgainstSdpaOnTheSameInputsAgreesToFloat32Rounding) {
    Session a(test::small_pipeline(), test::small_settings());
    a.router().set_default_backend("math");
    LockstepComparison c(a, {nullptr, "sdpa"}, CompareMode::SameInputs);
    while (!c.done()) c.step();
    expect_complete_grid(c, 0, 3);
    EXPECT_LT(worst(c.output_errors(), &Divergence::max_abs), 1e-5);
    EXPECT_LT(worst(c.output_errors(), &Divergence::rel_l2), 1e-5);
    EXPECT_GT(worst(c.output_errors(), &Divergence::rel_l2), 0.0) << "the two backends did run";
    EXPECT_EQ(c.b().router().last_used().at({1, AttentionKind::Self}), "sdpa");
    EXPECT_EQ(a.router().last_used().at({1, AttentionKind::Self}), "math");
    EXPECT_LT(c.latents_divergence().at(2).rel_l2, 1e-4);
    const auto images = compare_images(a.image(), c.b().image());
    EXPECT_GT(images.psnr_db, 60);
    EXPECT_GT(*images.ssim, 0.999);
}

TEST(Lockstep, FreeRunningIdenticalBackendsDoNotDiverge) {
    Session a(test::small_pipeline(), test::small_settings(2, SchedulerKind::EulerAncestral));
    a.router().set_default_backend("math");
    LockstepComparison c(a, {nullptr, "math"}, CompareMode::FreeRunning);
    while (!c.done()) c.step();
    expect_complete_grid(c, 0, 2);
    EXPECT_EQ(worst(c.output_errors(), &Divergence::max_abs), 0.0);
    EXPECT_EQ(c.latents_divergence().at(1).max_abs, 0.0);
    EXPECT_TRUE(std::isinf(psnr(a.image(), c.b().image())));
}

TEST(Lockstep, FreeRunningBackendsRecordWhatTheirOwnInputsGave) {
    Session a(test::small_pipeline(), test::small_settings(2));
    a.router().set_default_backend("math");
    LockstepComparison c(a, {nullptr, "sdpa"}, CompareMode::FreeRunning);
    while (!c.done()) c.step();
    expect_complete_grid(c, 0, 2);
    EXPECT_GT(worst(c.output_errors(), &Divergence::rel_l2), 0.0);
    EXPECT_LT(worst(c.output_errors(), &Divergence::rel_l2), 1e-4);
}

TEST(Lockstep, Float32AgainstFloat64MeasuresFloat32Rounding) {
    Session a(test::small_pipeline(), test::small_settings(2));
    a.router().set_default_backend("math");
    LockstepComparison c(a, {test::small_pipeline(at::kDouble), "math"}, CompareMode::SameInputs);
    EXPECT_EQ(c.b().latents().scalar_type(), at::kDouble);
    EXPECT_TRUE(at::equal(c.b().latents().to(at::kFloat), a.latents())) << "the same initial latents";
    while (!c.done()) c.step();
    expect_complete_grid(c, 0, 2);
    const double rel = worst(c.output_errors(), &Divergence::rel_l2);
    EXPECT_GT(rel, 1e-9);
    EXPECT_LT(rel, 1e-6);
    // The runs themselves drift further apart (fp32 everywhere else), yet stay close.
    EXPECT_LT(c.latents_divergence().at(1).rel_l2, 1e-4);
}

TEST(Lockstep, StartsFromASharedStep) {
    Session a(test::small_pipeline(), test::small_settings());
    a.router().set_default_backend("math");
    a.step();
    LockstepComparison c(a, {nullptr, "sdpa"}, CompareMode::SameInputs);
    EXPECT_EQ(c.from_step(), 1);
    EXPECT_EQ(c.b().current_step(), 1);
    EXPECT_TRUE(at::equal(c.b().latents(), a.latents()));
    while (!c.done()) c.step();
    expect_complete_grid(c, 1, 3);
    EXPECT_EQ(c.output_errors().begin()->first.step, 1);
}

TEST(Lockstep, RefusesUnknownBackendsAndSessionsSteppedApart) {
    Session a(test::small_pipeline(), test::small_settings(2));
    ATTNSCOPE_EXPECT_THROW_WITH(LockstepComparison(a, {nullptr, "flash2"}, CompareMode::SameInputs),
                                std::invalid_argument, "unknown attention backend 'flash2'");
    LockstepComparison c(a, {nullptr, "sdpa"}, CompareMode::FreeRunning);
    a.step();
    ATTNSCOPE_EXPECT_THROW_WITH(c.step(), std::logic_error, "the compared sessions are at steps 1 and 0");
}

TEST(MapComparison, BothRunsMapsAndTheirDifference) {
    Session a(test::small_pipeline(), test::small_settings(2));
    a.router().set_default_backend("math");
    CaptureStore capture_a, capture_b;
    a.router().add_observer(&capture_a);
    {
        LockstepComparison c(a, {nullptr, "sdpa"}, CompareMode::FreeRunning);
        c.b().router().add_observer(&capture_b);
        while (!c.done()) {
            capture_a.begin_step(a.current_step());
            capture_b.begin_step(a.current_step());
            c.step();
        }
        MapRequest r;
        r.steps = {1};
        r.indices = {1, 7, 16};
        r.tokens = {2}; // "red"
        r.out_width = r.out_height = 64;
        const auto maps = compare_maps(capture_a, capture_b, r);
        EXPECT_EQ(maps.a.sizes(), (at::IntArrayRef{64, 64}));
        EXPECT_TRUE(at::equal(maps.abs_diff, (maps.a - maps.b).abs()));
        EXPECT_GT(maps.a.sum().item<float>(), 0.0f);
        EXPECT_LT(maps.abs_diff.max().item<float>(), 1e-5f);
        // P_B is the map of B's own run.
        EXPECT_TRUE(at::equal(maps.b, attention_map(capture_b, r)));
    }
    a.router().remove_observer(&capture_a);
}

TEST(DivergenceGrid, ColoursEachStepAndSiteByLog10Error) {
    std::map<CaptureKey, Divergence> errors;
    for (int step = 0; step < 3; ++step)
        for (int index = 1; index <= 16; ++index)
            for (const auto kind : {AttentionKind::Self, AttentionKind::Cross})
                errors[{step, index, kind}] = {};
    errors[{2, 16, AttentionKind::Cross}].rel_l2 = 1.0; // the top of the scale
    errors[{1, 1, AttentionKind::Self}].rel_l2 = 1e-4;  // its middle
    Lut lut{};
    for (int i = 0; i < 256; ++i) lut[i] = {static_cast<uint8_t>(i), 0, 0};
    const int cell = 6, gap = 2;
    const auto image = divergence_grid_image(errors, lut, cell);
    EXPECT_EQ(image.width, gap + 3 * cell + gap);
    EXPECT_EQ(image.height, gap + 2 * (16 * cell + gap));
    EXPECT_EQ(image.channels, 3);
    const auto red = [&](int x, int y) { return image.pixels[(y * image.width + x) * 3]; };
    const int self_top = gap, cross_top = gap + 16 * cell + gap;
    EXPECT_EQ(red(gap + 0 * cell, self_top), 0);                        // zero error: the bottom
    EXPECT_EQ(red(gap + 1 * cell + 3, self_top + 3), 128);              // log10 1e-4 = -4 of -8..0
    EXPECT_EQ(red(gap + 2 * cell + 5, cross_top + 15 * cell + 5), 255); // step 2, index 16, cross
    EXPECT_EQ(red(gap + 2 * cell + 5, self_top + 15 * cell + 5), 0);
    EXPECT_EQ(red(0, 0), 255) << "the background";
    EXPECT_THROW(divergence_grid_image({}, lut), std::invalid_argument);
}

#ifdef ATTNSCOPE_HAVE_CUDA
// Our kernels on real shapes: SD v1.5's topology (random weights) at 256x256 in fp16 on the GPU. flash
// agrees with the math reference to fp16 rounding; int8 is visibly less exact, and that shows in the grid.
TEST(LockstepCuda, FlashAndInt8AgainstTheReference) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device (or a CPU-only LibTorch): the kernels cannot run";
    const auto pipeline = random_pipeline("sd15", 0, at::kHalf, at::Device(at::kCUDA, 0));
    auto settings = test::small_settings(2);
    settings.width = settings.height = 256;
    const auto rel_l2 = [&](const char* a_backend, const char* b_backend) {
        Session a(pipeline, settings);
        a.router().set_default_backend(a_backend);
        LockstepComparison c(a, {nullptr, b_backend}, CompareMode::SameInputs);
        while (!c.done()) c.step();
        expect_complete_grid(c, 0, 2);
        return worst(c.output_errors(), &Divergence::rel_l2);
    };
    const double flash = rel_l2("math", "flash"), int8 = rel_l2("math", "int8");
    std::printf("worst rel L2 of O against math: flash %.3g, int8 %.3g\n", flash, int8);
    EXPECT_LT(flash, 5e-3);
    EXPECT_LT(int8, 0.2);
    EXPECT_GT(int8, flash);
}
#else
TEST(LockstepCuda, FlashAndInt8AgainstTheReference) {
    GTEST_SKIP()
        << "this build has no CUDA kernels (ATTNSCOPE_HAVE_CUDA is off): flash and int8 do not exist";
}
#endif

} // namespace
} // namespace attnscope
