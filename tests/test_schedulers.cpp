#include "io/safetensors_file.h"
#include "sched/scheduler.h"
#include "test_util.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnscope {
namespace {

const Prediction kPredictions[] = {Prediction::Epsilon, Prediction::VPrediction};

// diffusers' names; spelled out rather than taken from model/unet_config.cpp so that this test links with the
// scheduler and safetensors sources alone.
std::string prediction_name(Prediction p) {
    return p == Prediction::Epsilon ? "epsilon" : "v_prediction";
}

std::string label(SchedulerKind kind, Prediction prediction, int steps) {
    return to_string(kind) + "." + prediction_name(prediction) + "." + std::to_string(steps);
}

// ---- hand-checkable facts ---------------------------------------------------------------------------------

TEST(Schedulers, ParsesNamesAndRejectsUnknownOnes) {
    for (const SchedulerKind kind : all_scheduler_kinds()) EXPECT_EQ(parse_scheduler(to_string(kind)), kind);
    EXPECT_EQ(parse_scheduler("euler_a"), SchedulerKind::EulerAncestral);
    EXPECT_EQ(parse_scheduler("dpmpp_2m_karras"), SchedulerKind::DPMPP2MKarras);
    try {
        parse_scheduler("lms");
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("'lms'"), std::string::npos) << what;
        for (const char* name : {"ddim", "euler", "euler_a", "dpmpp_2m_karras", "pndm"}) {
            EXPECT_NE(what.find(name), std::string::npos) << what;
        }
    }
}

TEST(Schedulers, AlphasCumprodMatchesAFloat64Loop) {
    const auto& ac = sd_alphas_cumprod();
    ASSERT_EQ(ac.size(), 1000u);
    // beta_0 = (sqrt(0.00085))^2: only float32 rounding separates it from 1 - 0.00085.
    EXPECT_NEAR(ac.front(), 1.0 - 0.00085, 1e-7);
    double prod = 1.0;
    const double a = std::sqrt(0.00085);
    const double b = std::sqrt(0.012);
    for (int i = 0; i < 1000; ++i) {
        const double root = a + (b - a) * i / 999.0;
        prod *= 1.0 - root * root;
    }
    // The table is float32 (as diffusers'): a thousand roundings of 1 - beta leave a few 1e-6 relative.
    EXPECT_NEAR(ac.back() / prod, 1.0, 2e-5) << "float64 loop: " << prod << ", table: " << ac.back();
    for (std::size_t i = 1; i < ac.size(); ++i) ASSERT_LT(ac[i], ac[i - 1]);
}

TEST(Schedulers, DdimUsesLeadingSpacingWithOffset) {
    const auto s = make_scheduler(SchedulerKind::DDIM, Prediction::Epsilon, 50);
    ASSERT_EQ(s->num_steps(), 50);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(s->timesteps()[i], 981 - 20 * i);
    EXPECT_TRUE(s->sigmas().empty());
    EXPECT_EQ(s->init_noise_sigma(), 1.0);
}

TEST(Schedulers, EulerUsesLinspaceSpacingAndEndsAtSigmaZero) {
    for (const SchedulerKind kind : {SchedulerKind::Euler, SchedulerKind::EulerAncestral}) {
        const auto s = make_scheduler(kind, Prediction::Epsilon, 30);
        ASSERT_EQ(s->num_steps(), 30);
        EXPECT_EQ(s->timesteps().front(), 999.0);
        EXPECT_EQ(s->timesteps().back(), 0.0);
        EXPECT_NEAR(s->timesteps()[1], static_cast<float>(999.0 * 28 / 29), 0.0);
        ASSERT_EQ(s->sigmas().size(), 31u);
        EXPECT_EQ(s->sigmas().back(), 0.0);
        // sigma at t = 999 and t = 0 straight from the table.
        const auto& ac = sd_alphas_cumprod();
        EXPECT_NEAR(s->sigmas().front(), std::sqrt((1.0 - ac.back()) / ac.back()), 1e-5);
        EXPECT_NEAR(s->sigmas()[29], std::sqrt((1.0 - ac.front()) / ac.front()), 1e-7);
        EXPECT_EQ(s->init_noise_sigma(), s->sigmas().front());
        EXPECT_GT(s->init_noise_sigma(), 14.0);
    }
}

// SDXL's scheduler config spaces "leading" with steps_offset 1: 30 steps are 967, 934, ..., 34, 1, each sigma
// straight from the training table, and the first noise is sqrt(sigma_max^2 + 1) wide.
TEST(Schedulers, EulerLeadingSpacingIsSdxls) {
    const auto& ac = sd_alphas_cumprod();
    for (const SchedulerKind kind : {SchedulerKind::Euler, SchedulerKind::EulerAncestral}) {
        const auto s = make_scheduler(kind, Prediction::Epsilon, 30, TimestepSpacing::Leading);
        ASSERT_EQ(s->num_steps(), 30);
        for (int i = 0; i < 30; ++i) {
            const int t = (29 - i) * 33 + 1;
            EXPECT_EQ(s->timesteps()[i], t);
            EXPECT_NEAR(s->sigmas()[i], std::sqrt((1.0 - ac[t]) / ac[t]), 2e-6 * s->sigmas()[i]);
        }
        EXPECT_EQ(s->sigmas().back(), 0.0);
        const double top = s->sigmas().front();
        EXPECT_NEAR(s->init_noise_sigma(), std::sqrt(top * top + 1), 1e-5);
    }
    // DDIM was leading all along.
    EXPECT_EQ(
        make_scheduler(SchedulerKind::DDIM, Prediction::Epsilon, 30, TimestepSpacing::Leading)->timesteps(),
        make_scheduler(SchedulerKind::DDIM, Prediction::Epsilon, 30)->timesteps());
}

// SDXL-Turbo's and SD-Turbo's configs space "trailing": 1000 down in strides of 1000 / steps, rounded, minus
// 1 (3 steps: 999, 666, 332), and the first noise is sigma_max wide.
TEST(Schedulers, EulerTrailingSpacingIsTurbos) {
    const auto& ac = sd_alphas_cumprod();
    for (const auto& [steps, expected] :
         {std::pair{4, std::vector<double>{999, 749, 499, 249}},
          std::pair{3, std::vector<double>{999, 666, 332}}, std::pair{1, std::vector<double>{999}}}) {
        const auto s = make_scheduler(SchedulerKind::EulerAncestral, Prediction::Epsilon, steps,
                                      TimestepSpacing::Trailing);
        EXPECT_EQ(s->timesteps(), expected);
        const auto t = static_cast<size_t>(expected.back());
        EXPECT_NEAR(s->sigmas()[steps - 1], std::sqrt((1.0 - ac[t]) / ac[t]), 2e-6 * s->sigmas()[steps - 1]);
        EXPECT_EQ(s->init_noise_sigma(), s->sigmas().front());
    }
    EXPECT_EQ(scheduler_spacing_from_json(R"({"timestep_spacing": "trailing"})", "s"),
              TimestepSpacing::Trailing);
    EXPECT_EQ(scheduler_spacing_from_json(R"({"timestep_spacing": "linspace"})", "s"),
              TimestepSpacing::ClassDefault);
    EXPECT_EQ(scheduler_spacing_from_json(R"({"steps_offset": 1})", "s"), std::nullopt);
    ATTNSCOPE_EXPECT_THROW_WITH(scheduler_spacing_from_json(R"({"timestep_spacing": "spiral"})", "s.json"),
                                std::runtime_error, "s.json: unknown \"timestep_spacing\" spiral");
}

TEST(Schedulers, DpmKarrasSigmasSpanTheTrainingRange) {
    const auto s = make_scheduler(SchedulerKind::DPMPP2MKarras, Prediction::Epsilon, 20);
    ASSERT_EQ(s->num_steps(), 20);
    ASSERT_EQ(s->sigmas().size(), 21u);
    EXPECT_EQ(s->sigmas().back(), 0.0);
    EXPECT_EQ(s->timesteps().front(), 999.0);
    EXPECT_EQ(s->timesteps().back(), 0.0);
    for (int i = 1; i < 21; ++i) EXPECT_LT(s->sigmas()[i], s->sigmas()[i - 1]);
    for (int i = 1; i < 20; ++i) EXPECT_LE(s->timesteps()[i], s->timesteps()[i - 1]);
    EXPECT_EQ(s->init_noise_sigma(), 1.0);
}

TEST(Schedulers, PndmRepeatsTheSecondTimestep) {
    const auto s = make_scheduler(SchedulerKind::PNDM, Prediction::Epsilon, 50);
    ASSERT_EQ(s->num_steps(), 51);
    EXPECT_EQ(s->timesteps()[0], 981);
    EXPECT_EQ(s->timesteps()[1], 961);
    EXPECT_EQ(s->timesteps()[2], 961);
    EXPECT_EQ(s->timesteps()[3], 941);
    EXPECT_EQ(s->timesteps().back(), 1);
    EXPECT_TRUE(s->sigmas().empty());
}

TEST(Schedulers, RejectsBadStepCountsAndOutOfOrderSteps) {
    EXPECT_THROW(make_scheduler(SchedulerKind::Euler, Prediction::Epsilon, 0), std::invalid_argument);
    EXPECT_THROW(make_scheduler(SchedulerKind::DDIM, Prediction::Epsilon, 1001), std::invalid_argument);
    // Leading spacing + offset: 1000 steps would start at timestep 1000; 999 start at 999.
    for (const auto kind : {SchedulerKind::DDIM, SchedulerKind::PNDM}) {
        ATTNSCOPE_EXPECT_THROW_WITH(make_scheduler(kind, Prediction::Epsilon, 1000), std::invalid_argument,
                                    "1000 steps would start at timestep 1000, past the trained 0..999");
        EXPECT_EQ(make_scheduler(kind, Prediction::Epsilon, 999)->timesteps().front(), 999);
    }
    EXPECT_EQ(make_scheduler(SchedulerKind::Euler, Prediction::Epsilon, 1000)->num_steps(), 1000);
    const auto s = make_scheduler(SchedulerKind::DPMPP2MKarras, Prediction::Epsilon, 5);
    const at::Tensor x = at::randn({1, 4, 2, 2}, at::kDouble);
    EXPECT_THROW(s->step(x, 1, x), std::logic_error);
    EXPECT_THROW(s->step(x, 5, x), std::out_of_range);
    EXPECT_THROW(s->step(x, 0, x.reshape({4, 4})), std::invalid_argument);
    EXPECT_NO_THROW(s->step(x, 0, x));
    EXPECT_THROW(s->step(x, 0, x), std::logic_error);
    s->reset();
    EXPECT_NO_THROW(s->step(x, 0, x));
    EXPECT_THROW(s->step_with_noise(x, 1, x, x), std::logic_error); // deterministic
}

TEST(Schedulers, ScaleModelInputOnlyForTheEulerFamily) {
    const at::Tensor x = at::randn({1, 4, 3, 3}, at::kDouble);
    for (const SchedulerKind kind : all_scheduler_kinds()) {
        const auto s = make_scheduler(kind, Prediction::Epsilon, 10);
        const at::Tensor scaled = s->scale_model_input(x, 3);
        if (kind == SchedulerKind::Euler || kind == SchedulerKind::EulerAncestral) {
            const double sigma = s->sigmas()[3];
            EXPECT_TRUE(at::allclose(scaled, x / std::sqrt(sigma * sigma + 1), 1e-6, 0)) << to_string(kind);
        } else {
            EXPECT_TRUE(at::equal(scaled, x)) << to_string(kind);
        }
        EXPECT_THROW(s->scale_model_input(x, s->num_steps()), std::out_of_range);
    }
}

// A perfect model: the data x0 and the noise eps are fixed, and the model returns exactly the eps (or v) of
// its input. Every deterministic sampler then stays on the exact path x = alpha x0 + sigma eps (Euler: x0 +
// sigma eps) and predicts x0 at every step, whatever the step sizes: a check of the whole update algebra.
struct Level {
    double alpha; // VP signal scale of the level the sample is at
    double sigma; // VP noise scale
};

Level level_of(const Scheduler& s, int k) {
    if (s.sigmas().empty()) {
        const double ac = sd_alphas_cumprod()[static_cast<std::size_t>(s.timesteps()[k])];
        return {std::sqrt(ac), std::sqrt(1 - ac)};
    }
    const double sg = s.sigmas()[k];
    const double alpha = 1 / std::sqrt(sg * sg + 1);
    return {alpha, sg * alpha};
}

// Euler works in the variance-exploding space x / alpha.
bool exploding(SchedulerKind kind) {
    return kind == SchedulerKind::Euler || kind == SchedulerKind::EulerAncestral;
}

at::Tensor on_path(SchedulerKind kind, const Level& l, const at::Tensor& x0, const at::Tensor& eps) {
    const at::Tensor vp = x0 * l.alpha + eps * l.sigma;
    return exploding(kind) ? vp / l.alpha : vp;
}

TEST(Schedulers, PerfectModelStaysOnTheExactPath) {
    const at::Tensor x0 = at::randn({1, 4, 4, 4}, at::kDouble) * 0.5;
    const at::Tensor eps = at::randn({1, 4, 4, 4}, at::kDouble);
    for (const SchedulerKind kind : all_scheduler_kinds()) {
        for (const Prediction prediction : kPredictions) {
            // PNDM combines raw v outputs of different timesteps before converting them to epsilon (as
            // diffusers does), which is exact only for epsilon prediction.
            if (kind == SchedulerKind::PNDM && prediction == Prediction::VPrediction) continue;
            const auto s = make_scheduler(kind, prediction, 12);
            const std::string what = label(kind, prediction, 12);
            at::Tensor x = on_path(kind, level_of(*s, 0), x0, eps);
            for (int k = 0; k < s->num_steps(); ++k) {
                const Level l = level_of(*s, k);
                const at::Tensor out = prediction == Prediction::Epsilon ? eps : eps * l.alpha - x0 * l.sigma;
                // The scaled input is the VP sample for every scheduler.
                ASSERT_TRUE(
                    at::allclose(s->scale_model_input(x, k), x0 * l.alpha + eps * l.sigma, 1e-5, 1e-5))
                    << what << " step " << k;
                const StepResult r = kind == SchedulerKind::EulerAncestral
                                         ? s->step_with_noise(out, k, x, at::zeros_like(x))
                                         : s->step(out, k, x);
                ASSERT_EQ(r.prev_sample.scalar_type(), at::kDouble) << what;
                ASSERT_TRUE(at::allclose(r.pred_original_sample, x0, 1e-5, 1e-5)) << what << " step " << k;
                x = r.prev_sample;
                if (kind == SchedulerKind::EulerAncestral) {
                    // Without noise Euler a lands at sigma_down = sigma_next^2 / sigma, below the next level,
                    // so the exact path ends here.
                    const double sg = s->sigmas()[k];
                    const double next = s->sigmas()[k + 1];
                    ASSERT_TRUE(at::allclose(x, x0 + eps * (next * next / sg), 1e-5, 1e-5)) << what;
                    break;
                }
                if (k + 1 < s->num_steps()) {
                    ASSERT_TRUE(at::allclose(x, on_path(kind, level_of(*s, k + 1), x0, eps), 1e-5, 1e-5))
                        << what << " step " << k;
                }
            }
            if (kind == SchedulerKind::EulerAncestral) continue;
            // Sigma samplers end on x0; DDIM and PNDM one level short of it, at alphas_cumprod[0].
            const double a0 = sd_alphas_cumprod().front();
            const at::Tensor end = s->sigmas().empty() ? x0 * std::sqrt(a0) + eps * std::sqrt(1 - a0) : x0;
            EXPECT_TRUE(at::allclose(x, end, 1e-5, 1e-5)) << what;
        }
    }
}

TEST(Schedulers, AncestralNoiseComesFromTheGenerator) {
    const at::Tensor x = at::randn({1, 4, 4, 4}) * 14;
    const at::Tensor out = at::randn({1, 4, 4, 4});
    auto run = [&](uint64_t seed) {
        const auto s = make_scheduler(SchedulerKind::EulerAncestral, Prediction::Epsilon, 10);
        at::Generator gen = at::detail::createCPUGenerator(seed);
        return s->step(out, 0, x, &gen).prev_sample;
    };
    EXPECT_TRUE(at::equal(run(7), run(7)));
    EXPECT_FALSE(at::equal(run(7), run(8)));
    // And equals step_with_noise fed the same draw.
    const auto s = make_scheduler(SchedulerKind::EulerAncestral, Prediction::Epsilon, 10);
    at::Generator gen = at::detail::createCPUGenerator(7);
    const at::Tensor noise = at::randn({1, 4, 4, 4}, gen, at::kFloat);
    EXPECT_TRUE(at::equal(s->step_with_noise(out, 0, x, noise).prev_sample, run(7)));
}

TEST(Schedulers, KeepsTheModelOutputDtype) {
    for (const SchedulerKind kind : all_scheduler_kinds()) {
        const auto s = make_scheduler(kind, Prediction::Epsilon, 10);
        const at::Tensor x = at::randn({1, 4, 2, 2});
        const StepResult r = s->step(x, 0, x);
        EXPECT_EQ(r.prev_sample.scalar_type(), at::kFloat) << to_string(kind);
        EXPECT_EQ(r.pred_original_sample.scalar_type(), at::kFloat) << to_string(kind);
    }
}

// ---- diffusers reference
// ------------------------------------------------------------------------------------

std::optional<SafetensorsFile> reference(const char* name = "scheduler_reference.safetensors") {
    const std::filesystem::path path = std::filesystem::path(ATTNSCOPE_TEST_DATA) / name;
    if (!std::filesystem::exists(path)) return std::nullopt;
    return SafetensorsFile(path.string());
}

#define REQUIRE_REFERENCE(ref)                                                                               \
    const std::optional<SafetensorsFile> ref = reference();                                                  \
    if (!ref) {                                                                                              \
        GTEST_SKIP()                                                                                         \
            << "no " ATTNSCOPE_TEST_DATA "/scheduler_reference.safetensors: make it with "                   \
               "`PYTHONPATH=.ref/diffusers/src python3 tools/make_scheduler_fixtures.py tests/data`";        \
    }

void expect_table(const std::vector<double>& got, const at::Tensor& want, const std::string& what) {
    const at::Tensor w = want.to(at::kDouble).contiguous();
    ASSERT_EQ(static_cast<int64_t>(got.size()), w.numel()) << what;
    const double* p = w.data_ptr<double>();
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_LE(std::abs(got[i] - p[i]), 1e-9 * std::max(1.0, std::abs(p[i])))
            << what << "[" << i << "]: " << got[i] << " vs diffusers " << p[i];
    }
}

double rel_l2(const at::Tensor& got, const at::Tensor& want) {
    const at::Tensor g = got.to(at::kDouble);
    const at::Tensor w = want.to(at::kDouble);
    return (g - w).norm().item<double>() / std::max(w.norm().item<double>(), 1e-30);
}

TEST(SchedulersReference, AlphasCumprodIsBitExact) {
    REQUIRE_REFERENCE(ref);
    const auto& ac = sd_alphas_cumprod();
    expect_table(std::vector<double>(ac.begin(), ac.end()), ref->load("alphas_cumprod"), "alphas_cumprod");
}

TEST(SchedulersReference, TimestepsAndSigmas) {
    REQUIRE_REFERENCE(ref);
    for (const SchedulerKind kind : all_scheduler_kinds()) {
        for (const Prediction prediction : kPredictions) {
            for (const int steps : {20, 30, 50}) {
                const auto s = make_scheduler(kind, prediction, steps);
                const std::string key = label(kind, prediction, steps);
                expect_table(s->timesteps(), ref->load(key + ".timesteps"), key + ".timesteps");
                if (ref->contains(key + ".sigmas")) {
                    expect_table(s->sigmas(), ref->load(key + ".sigmas"), key + ".sigmas");
                } else {
                    EXPECT_TRUE(s->sigmas().empty()) << key;
                }
                expect_table({s->init_noise_sigma()}, ref->load(key + ".init_noise_sigma"),
                             key + ".init_noise_sigma");
            }
        }
    }
}

// The worst relative L2 error of the steps checked, and where.
struct Worst {
    double error = 0;
    std::string at;
};

// The first three steps of `s` against diffusers' trajectory under `key` ("ddim.epsilon.20.traj.").
void check_steps(const SafetensorsFile& ref, Scheduler& s, const std::string& key, at::ScalarType dtype,
                 double tol, Worst& worst) {
    auto check = [&](const at::Tensor& got, const std::string& name, const std::string& what) {
        const double err = rel_l2(got, ref.load(name));
        EXPECT_LE(err, tol) << what;
        if (err > worst.error) worst = {err, what};
    };
    for (int k = 0; k < 3; ++k) {
        const std::string n = std::to_string(k);
        const std::string at_k = key + "*." + n;
        const at::Tensor sample = ref.load(key + "sample." + n).to(dtype);
        const at::Tensor out = ref.load(key + "model_output." + n).to(dtype);
        check(s.scale_model_input(sample, k), key + "scaled_sample." + n, at_k + " scaled_sample");
        const StepResult r = ref.contains(key + "noise." + n)
                                 ? s.step_with_noise(out, k, sample, ref.load(key + "noise." + n))
                                 : s.step(out, k, sample);
        EXPECT_EQ(r.prev_sample.scalar_type(), dtype) << at_k;
        check(r.prev_sample, key + "prev_sample." + n, at_k + " prev_sample");
        check(r.pred_original_sample, key + "pred_original_sample." + n, at_k + " pred_original_sample");
    }
}

void check_trajectory(const SafetensorsFile& ref, const std::string& traj, at::ScalarType dtype, double tol) {
    Worst worst;
    for (const SchedulerKind kind : all_scheduler_kinds()) {
        for (const Prediction prediction : kPredictions) {
            const auto s = make_scheduler(kind, prediction, 20);
            check_steps(ref, *s, label(kind, prediction, 20) + "." + traj + ".", dtype, tol, worst);
        }
    }
    std::printf("[          ] %s: worst relative L2 error %.3g (%s)\n", traj.c_str(), worst.error,
                worst.at.c_str());
}

TEST(SchedulersReference, TrajectoryFloat64) {
    REQUIRE_REFERENCE(ref);
    check_trajectory(*ref, "traj", at::kDouble, 1e-6);
}

TEST(SchedulersReference, TrajectoryFloat32) {
    REQUIRE_REFERENCE(ref);
    check_trajectory(*ref, "traj_f32", at::kFloat, 1e-5);
}

// The spacings SDXL's config ("leading") and the Turbo models' ("trailing") name, for every class that
// follows them, against diffusers' own set_timesteps (scheduler_spacing_reference.safetensors); and four
// trailing steps of DDIM and PNDM, whose previous timestep is still t - 1000 // steps.
TEST(SchedulersReference, LeadingAndTrailingSpacing) {
    const auto ref = reference("scheduler_spacing_reference.safetensors");
    if (!ref) GTEST_SKIP() << "no scheduler_spacing_reference.safetensors (tools/make_scheduler_fixtures.py)";
    for (const SchedulerKind kind :
         {SchedulerKind::DDIM, SchedulerKind::Euler, SchedulerKind::EulerAncestral, SchedulerKind::PNDM})
        for (const auto& [spacing, name] : {std::pair{TimestepSpacing::Leading, "leading"},
                                            std::pair{TimestepSpacing::Trailing, "trailing"}})
            for (const int steps : {1, 3, 4, 16}) {
                const std::string key =
                    to_string(kind) + "." + name + "." + std::to_string(steps) + ".timesteps";
                expect_table(make_scheduler(kind, Prediction::Epsilon, steps, spacing)->timesteps(),
                             ref->load(key), key);
            }
    Worst worst;
    for (const SchedulerKind kind : {SchedulerKind::DDIM, SchedulerKind::PNDM}) {
        const auto s = make_scheduler(kind, Prediction::Epsilon, 4, TimestepSpacing::Trailing);
        check_steps(*ref, *s, to_string(kind) + ".epsilon.trailing.4.traj.", at::kDouble, 1e-6, worst);
    }
    std::printf("[          ] trailing: worst relative L2 error %.3g (%s)\n", worst.error, worst.at.c_str());
}

} // namespace
} // namespace attnscope
