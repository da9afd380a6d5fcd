// The generation session end to end against diffusers' StableDiffusionPipeline
// (tools/make_pipeline_fixtures.py): the same seed draws the same noise, and every step's latents and the
// final image match, for both checkpoint layouts, SD v1 and v2 conventions and every scheduler; then
// rewinding, and the errors users meet.
#include "io/safetensors_file.h"
#include "session/session.h"
#include "small_pipeline.h"
#include "test_util.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

const std::string kData = ATTNSCOPE_TEST_DATA;

const SafetensorsFile& reference() {
    static const SafetensorsFile f(kData + "/pipeline_reference.safetensors");
    return f;
}

std::shared_ptr<const Pipeline> pipeline(const std::string& model) {
    static std::map<std::string, std::shared_ptr<const Pipeline>> cache;
    auto& p = cache[model];
    if (p) return p;
    PipelineOptions options;
    if (model.find(".safetensors") != std::string::npos) {
        // A single file does not record the small model's norm groups and head counts: its folder twin does.
        const auto folder = kData + "/" + model.substr(0, model.find(".safetensors"));
        options.unet.config = read_unet_config(folder + "/unet/config.json");
        options.text.config = read_clip_text_config(folder + "/text_encoder/config.json");
        options.vae_config =
            vae_config_from_json(test::read_bytes(folder + "/vae/config.json"), "vae config");
    }
    p = load_pipeline(kData + "/" + model, options);
    return p;
}

GenerationSettings reference_settings(SchedulerKind scheduler) {
    return test::reference_settings(reference(), scheduler);
}

TEST(TorchCpuGenerator, DrawsWhatPyTorchDrawsForTheSameSeed) {
    const std::pair<const char*, at::ScalarType> dtypes[] = {{"float32", at::kFloat},
                                                             {"float64", at::kDouble},
                                                             {"float16", at::kHalf},
                                                             {"bfloat16", at::kBFloat16}};
    for (const uint64_t seed : {0, 42, 1234}) {
        for (const auto& [name, dtype] : dtypes) {
            const auto ref = reference().load("noise." + std::to_string(seed) + "." + name);
            const auto ours = TorchCpuGenerator(seed).randn(ref.sizes(), dtype).to(at::kDouble);
            // float32: PyTorch's vectorized log/sin/cos may differ from libm by an ulp; the rest is exact.
            const double tolerance = dtype == at::kFloat ? 2e-6 : 0.0;
            EXPECT_LE((ours - ref).abs().max().item<double>(), tolerance) << "seed " << seed << " " << name;
        }
        TorchCpuGenerator g(seed);
        const auto first = reference().load("noise." + std::to_string(seed) + ".float32");
        g.randn(first.sizes());
        const auto next = g.randn(first.sizes()).to(at::kDouble);
        EXPECT_LE(
            (next - reference().load("noise." + std::to_string(seed) + ".next")).abs().max().item<double>(),
            2e-6)
            << "the generator's state must carry on between draws";
    }
}

struct Run {
    const char* model;     // folder or file under tests/data
    const char* reference; // run name in the reference file
    SchedulerKind scheduler;
};

void PrintTo(const Run& r, std::ostream* os) {
    *os << r.model << " " << to_string(r.scheduler);
}

class SessionParity : public ::testing::TestWithParam<Run> {};

TEST_P(SessionParity, EveryStepMatchesDiffusers) {
    const auto& run = GetParam();
    Session session(pipeline(run.model), reference_settings(run.scheduler));
    const std::string prefix = std::string(run.reference) + "." + to_string(run.scheduler);
    int reference_steps = 0;
    while (reference().contains(prefix + ".latents." + std::to_string(reference_steps + 1)))
        ++reference_steps;
    ASSERT_EQ(session.total_steps(), reference_steps);
    while (!session.done()) {
        const auto info = session.step();
        const auto ref = reference().load(prefix + ".latents." + std::to_string(info.index + 1));
        EXPECT_LT(test::rel_l2(session.latents(), ref), 1e-5) << "after step " << info.index + 1;
        EXPECT_GT(info.unet_ms, 0);
        EXPECT_GE(info.step_ms, info.unet_ms);
    }
    // diffusers gives (1, H, W, 3); ours is (1, 3, H, W).
    const auto image = session.image(Decoder::Full).permute({0, 2, 3, 1});
    const auto ref_image = reference().load(prefix + ".image");
    EXPECT_LT((image.to(at::kDouble) - ref_image).abs().max().item<double>(), 5e-5);
}

// SDXL against StableDiffusionXLPipeline (tools/make_sdxl_pipeline_fixtures.py): both encoders, zeros for the
// absent negative prompt, the micro-conditioning, leading spacing and the VAE's own scaling, from the
// diffusers folder and from the single file.
class SdxlSessionParity : public ::testing::TestWithParam<std::pair<const char*, SchedulerKind>> {};

TEST_P(SdxlSessionParity, EveryStepMatchesDiffusers) {
    const auto [model, scheduler] = GetParam();
    static const SafetensorsFile ref(kData + "/pipeline_xl_reference.safetensors");
    PipelineOptions options;
    if (std::string(model).find(".safetensors") != std::string::npos) {
        const auto folder = kData + "/pipeline_xl_small";
        options.unet.config = read_unet_config(folder + "/unet/config.json");
        options.text.config = read_clip_text_config(folder + "/text_encoder/config.json");
        options.text_2.config = read_clip_text_config(folder + "/text_encoder_2/config.json");
        options.vae_config =
            vae_config_from_json(test::read_bytes(folder + "/vae/config.json"), "vae config");
    }
    const auto pipeline = load_pipeline(kData + "/" + model, options);
    ASSERT_TRUE(pipeline->sdxl());
    Session session(pipeline, test::reference_settings(ref, scheduler));
    const std::string prefix = "pipeline_xl_small." + to_string(scheduler);
    ASSERT_EQ(session.total_steps(), 4);
    while (!session.done()) {
        const auto info = session.step();
        const auto expected = ref.load(prefix + ".latents." + std::to_string(info.index + 1));
        EXPECT_LT(test::rel_l2(session.latents(), expected), 1e-5) << "after step " << info.index + 1;
    }
    const auto image = session.image(Decoder::Full).permute({0, 2, 3, 1});
    EXPECT_LT((image.to(at::kDouble) - ref.load(prefix + ".image")).abs().max().item<double>(), 5e-5);
}

INSTANTIATE_TEST_SUITE_P(Pipelines, SdxlSessionParity,
                         ::testing::Values(std::pair{"pipeline_xl_small", SchedulerKind::Euler},
                                           std::pair{"pipeline_xl_small", SchedulerKind::EulerAncestral},
                                           std::pair{"pipeline_xl_small.safetensors", SchedulerKind::Euler}),
                         [](const auto& info) {
                             return std::string(info.param.first).find(".safetensors") != std::string::npos
                                        ? "single_file_" + to_string(info.param.second)
                                        : "folder_" + to_string(info.param.second);
                         });

// What a user meets with the wrong files: an SDXL folder without its second text encoder, an inpainting
// U-Net. One line each, naming the problem.
TEST(LoadPipeline, SaysWhatAnSdxlModelLacks) {
    namespace fs = std::filesystem;
    test::TempDir dir;
    const auto xl = dir.path() / "xl";
    fs::copy(kData + "/pipeline_xl_small", xl, fs::copy_options::recursive);
    test::remove_tree(xl / "text_encoder_2");
    try {
        load_pipeline(xl.string(), {});
        ADD_FAILURE() << "loaded an SDXL model without its second text encoder";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("text_encoder_2"), std::string::npos) << what;
        EXPECT_NE(what.find("an SDXL model has two text encoders"), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
}

TEST(LoadPipeline, RefusesAnInpaintingUNet) {
    namespace fs = std::filesystem;
    test::TempDir dir;
    const auto inpaint = dir.path() / "inpaint";
    fs::copy(kData + "/pipeline_v1_small", inpaint, fs::copy_options::recursive);
    auto config = read_unet_config((inpaint / "unet" / "config.json").string());
    config.in_channels = 9;
    const auto unet = UNet::random(config, 1, at::kFloat, at::kCPU);
    std::ofstream(inpaint / "unet" / "config.json") << unet_config_to_json(config).dump();
    write_safetensors((inpaint / "unet" / "diffusion_pytorch_model.safetensors").string(),
                      unet_state_dict(unet, KeyLayout::Diffusers));
    ATTNSCOPE_EXPECT_THROW_WITH(load_pipeline(inpaint.string(), {}), std::runtime_error,
                                "an inpainting U-Net");
}

// SDXL's VAE overflows fp16: asked for fp16, an SDXL pipeline decodes (and encodes) in fp32 unless the VAE's
// config says it is fixed for fp16 (force_upcast false); SD v1/v2 and bf16 keep the asked dtype, as
// diffusers.
PipelineOptions options_in(at::ScalarType dtype, at::Device device = at::kCPU) {
    PipelineOptions o;
    o.dtype = dtype;
    o.device = device;
    return o;
}

TEST(LoadPipeline, RunsSdxlsVaeInFp32UnlessItIsFixedForFp16) {
    namespace fs = std::filesystem;
    const auto xl = load_pipeline(kData + "/pipeline_xl_small", options_in(at::kHalf));
    EXPECT_EQ(xl->unet.dtype(), at::kHalf);
    ASSERT_TRUE(xl->vae && xl->vae_encoder);
    EXPECT_EQ(xl->vae->dtype(), at::kFloat);
    EXPECT_EQ(xl->vae_encoder->dtype(), at::kFloat);
    EXPECT_NE(xl->describe().find("in Float (SDXL's VAE overflows Half)"), std::string::npos)
        << xl->describe();
    EXPECT_EQ(load_pipeline(kData + "/pipeline_xl_small", options_in(at::kBFloat16))->vae->dtype(),
              at::kBFloat16);
    EXPECT_EQ(load_pipeline(kData + "/pipeline_v1_small", options_in(at::kHalf))->vae->dtype(), at::kHalf);

    test::TempDir dir;
    const auto fixed = dir.path() / "fixed";
    fs::copy(kData + "/pipeline_xl_small", fixed, fs::copy_options::recursive);
    const auto config = fixed / "vae" / "config.json";
    auto j = nlohmann::json::parse(test::read_bytes(config.string()));
    j["force_upcast"] = false;
    std::ofstream(config) << j.dump();
    const auto fp16 = load_pipeline(fixed.string(), options_in(at::kHalf));
    EXPECT_EQ(fp16->vae->dtype(), at::kHalf);
    EXPECT_EQ(fp16->vae_encoder->dtype(), at::kHalf);
    EXPECT_EQ(fp16->describe().find("overflows"), std::string::npos);
}

// On the GPU, in fp16: the U-Net and the text encoders in half precision, the VAE in fp32, and the run
// decodes to a finite picture. (Its picture is not compared with diffusers' fp32 one: fp16's drift over the
// steps flips pixels this random model drives past the clamp, up to a whole unit.)
TEST(LoadPipeline, AnSdxlFp16SessionOnCudaDecodesInFp32) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    static const SafetensorsFile ref(kData + "/pipeline_xl_reference.safetensors");
    const auto pipeline = load_pipeline(kData + "/pipeline_xl_small", options_in(at::kHalf, at::kCUDA));
    EXPECT_EQ(pipeline->unet.dtype(), at::kHalf);
    EXPECT_EQ(pipeline->vae->dtype(), at::kFloat);
    Session session(pipeline, test::reference_settings(ref, SchedulerKind::Euler));
    while (!session.done()) session.step();
    EXPECT_TRUE(session.image(Decoder::Full).isfinite().all().item<bool>());
}

// A Turbo model's folder names trailing spacing: a one-step run without guidance starts at t = 999.
TEST(LoadPipeline, FollowsATurboModelsTrailingSpacing) {
    namespace fs = std::filesystem;
    test::TempDir dir;
    const auto turbo = dir.path() / "turbo";
    fs::copy(kData + "/pipeline_xl_small", turbo, fs::copy_options::recursive);
    const auto config = turbo / "scheduler" / "scheduler_config.json";
    auto j = nlohmann::json::parse(test::read_bytes(config.string()));
    EXPECT_EQ(j["timestep_spacing"], "leading");
    EXPECT_EQ(load_pipeline(turbo.string(), {})->spacing, TimestepSpacing::Leading);
    j["timestep_spacing"] = "trailing";
    std::ofstream(config) << j.dump();
    const auto pipeline = load_pipeline(turbo.string(), {});
    EXPECT_EQ(pipeline->spacing, TimestepSpacing::Trailing);
    auto settings = test::reference_settings(reference(), SchedulerKind::EulerAncestral);
    settings.steps = 1;
    settings.guidance_scale = 0.0;
    Session session(pipeline, settings);
    EXPECT_FALSE(session.guided());
    EXPECT_EQ(session.scheduler().timesteps(), std::vector<double>{999});
    session.step();
    EXPECT_TRUE(session.done());
}

INSTANTIATE_TEST_SUITE_P(
    Pipelines, SessionParity,
    ::testing::Values(Run{"pipeline_v1_small", "pipeline_v1_small", SchedulerKind::DDIM},
                      Run{"pipeline_v1_small", "pipeline_v1_small", SchedulerKind::Euler},
                      Run{"pipeline_v1_small", "pipeline_v1_small", SchedulerKind::EulerAncestral},
                      Run{"pipeline_v1_small", "pipeline_v1_small", SchedulerKind::DPMPP2MKarras},
                      Run{"pipeline_v1_small", "pipeline_v1_small", SchedulerKind::PNDM},
                      Run{"pipeline_v1_small.safetensors", "pipeline_v1_small", SchedulerKind::DDIM},
                      Run{"pipeline_v1_small.safetensors", "pipeline_v1_small",
                          SchedulerKind::EulerAncestral},
                      Run{"pipeline_v2_small", "pipeline_v2_small", SchedulerKind::DDIM},
                      Run{"pipeline_v2_small", "pipeline_v2_small", SchedulerKind::EulerAncestral}),
    [](const auto& info) {
        std::string name = std::string(info.param.model) + "_" + to_string(info.param.scheduler);
        for (auto& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return name;
    });

TEST(Session, RewindingAndRunningOnRepeatsTheSameSteps) {
    for (const auto kind :
         {SchedulerKind::DPMPP2MKarras, SchedulerKind::EulerAncestral, SchedulerKind::PNDM}) {
        Session session(pipeline("pipeline_v1_small"), reference_settings(kind));
        while (!session.done()) session.step();
        std::vector<at::Tensor> first;
        for (int k = 0; k <= session.total_steps(); ++k) first.push_back(session.latents_before(k).clone());
        session.rewind(2);
        EXPECT_EQ(session.current_step(), 2);
        EXPECT_EQ(session.history().size(), 2u);
        EXPECT_TRUE(at::equal(session.latents(), first[2]));
        while (!session.done()) session.step();
        for (int k = 3; k <= session.total_steps(); ++k)
            EXPECT_TRUE(at::equal(session.latents_before(k), first[k])) << to_string(kind) << " step " << k;
        session.rewind(0);
        EXPECT_TRUE(at::equal(session.latents(), first[0]));
    }
}

TEST(Session, KeepsEveryStepsEstimateAndDecodesIt) {
    Session session(pipeline("pipeline_v1_small"), reference_settings(SchedulerKind::DDIM));
    session.step();
    session.step();
    EXPECT_EQ(session.x0_at(1).sizes(), session.latents().sizes());
    const auto preview = session.preview(1);
    EXPECT_EQ(preview.sizes(), (at::IntArrayRef{1, 3, 48, 64}));
    EXPECT_GE(preview.min().item<float>(), 0.0f);
    EXPECT_LE(preview.max().item<float>(), 1.0f);
    EXPECT_THROW(session.x0_at(2), std::out_of_range);
}

TEST(Session, WithoutGuidanceRunsTheConditionalHalfOnly) {
    auto s = reference_settings(SchedulerKind::DDIM);
    s.guidance_scale = 1.0;
    Session session(pipeline("pipeline_v1_small"), s);
    EXPECT_FALSE(session.guided());
    session.step();
    EXPECT_EQ(session.negative_tokens().ids.size(), 0u);
    EXPECT_TRUE(at::isfinite(session.latents()).all().item<bool>());
}

TEST(Session, RefusesBadSettingsNamingThem) {
    const auto p = pipeline("pipeline_v1_small");
    auto s = reference_settings(SchedulerKind::DDIM);
    s.width = 68;
    ATTNSCOPE_EXPECT_THROW_WITH(Session(p, s), std::invalid_argument,
                                "width 68 is not a positive multiple of 8");
    s = reference_settings(SchedulerKind::DDIM);
    s.steps = 0;
    ATTNSCOPE_EXPECT_THROW_WITH(Session(p, s), std::invalid_argument, "steps 0 is outside 1..1000");
    s = reference_settings(SchedulerKind::DDIM);
    s.guidance_scale = std::nan("");
    ATTNSCOPE_EXPECT_THROW_WITH(Session(p, s), std::invalid_argument, "guidance scale");
    s = reference_settings(SchedulerKind::DDIM);
    s.prompt = "caf\xc3";
    ATTNSCOPE_EXPECT_THROW_WITH(Session(p, s), std::invalid_argument, "prompt: ");
    s = reference_settings(SchedulerKind::DDIM);
    s.steps = 1;
    Session one(p, s);
    one.step();
    ATTNSCOPE_EXPECT_THROW_WITH(one.step(), std::logic_error, "all 1 steps are done");
    EXPECT_THROW(one.rewind(2), std::out_of_range);
}

TEST(Session, TakesTheModelsGuidanceUnlessTold) {
    auto s = reference_settings(SchedulerKind::DDIM);
    s.guidance_scale.reset();
    EXPECT_EQ(Session(pipeline("pipeline_v1_small"), s).guidance_scale(), 7.5); // declares none
    EXPECT_EQ(Session(pipeline("pipeline_xl_small"), s).guidance_scale(), 5.0); // SDXL's pipeline default
    const auto embedded = load_pipeline(std::string(ATTNSCOPE_ASSETS_SOURCE) + "/tiny-sd", {});
    s.width = s.height = 0;
    Session own(embedded, s);
    EXPECT_EQ(own.guidance_scale(), 4.0);
    EXPECT_EQ(own.settings().guidance_scale, 4.0);
    EXPECT_TRUE(own.guided());
    s.guidance_scale = 1.0;
    EXPECT_FALSE(Session(embedded, s).guided());
}

TEST(Session, DefaultsToTheModelsOwnSize) {
    auto s = reference_settings(SchedulerKind::DDIM);
    s.width = s.height = 0;
    Session session(pipeline("pipeline_v1_small"), s);
    EXPECT_EQ(session.settings().width, 64); // sample_size 8 latents x 8
    EXPECT_EQ(session.settings().height, 64);
}

} // namespace
} // namespace attnscope
