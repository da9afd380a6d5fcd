// Starting from the user's picture: reading it (stb_image, with one line for anything unreadable), fitting it
// to the generation's size, the VAE encoder against diffusers' AutoencoderKL in float64, and image-to-image
// against diffusers' StableDiffusionImg2ImgPipeline step for step (fixtures: tools/make_img2img_fixtures.py).
#include "io/image_file.h"
#include "io/png_file.h"
#include "model/taesd_encoder.h"
#include "model/vae_encoder.h"
#include "session/image_input.h"
#include "session/session.h"
#include "small_pipeline.h"
#include "test_util.h"

#include <cctype>

namespace attnscope {
namespace {

namespace fs = std::filesystem;

const fs::path kData = ATTNSCOPE_TEST_DATA;

const SafetensorsFile& reference() {
    static const SafetensorsFile f((kData / "img2img_reference.safetensors").string());
    return f;
}

std::string meta(const std::string& key) {
    return reference().header().metadata.at(key);
}

VaeConfig fixture_config() {
    const auto path = kData / "vae_small" / "vae" / "config.json";
    return vae_config_from_json(test::read_bytes(path.string()), path.string());
}

TEST(VaeEncoder, MatchesDiffusersInFloat64FromBothLayouts) {
    const auto image = reference().load("vae_encode.image");
    const auto mean = reference().load("vae_encode.mean");
    const auto std = reference().load("vae_encode.std");
    for (const auto& path : {kData / "vae_small", kData / "vae_small_ldm.safetensors"}) {
        const auto encoder = VaeEncoder::load(path.string(), at::kDouble, at::kCPU, fixture_config());
        const auto posterior = encoder.encode(image);
        EXPECT_LT((posterior.mean - mean).abs().max().item<double>(), 1e-10) << path;
        EXPECT_LT((posterior.std - std).abs().max().item<double>(), 1e-10) << path;
        const auto noise = TorchCpuGenerator(42).randn(mean.sizes(), at::kDouble);
        EXPECT_LT(
            (posterior.sample(noise) - reference().load("vae_encode.sample.42")).abs().max().item<double>(),
            1e-10)
            << "latent_dist.sample(generator seeded 42)";
    }
}

// On the GPU in each precision, as far from the float64 reference as the decoder's own GPU test allows.
TEST(VaeEncoder, MatchesTheReferenceOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    const test::NoTf32 exact;
    const auto mean = reference().load("vae_encode.mean");
    for (const auto& [dtype, tolerance] :
         {std::pair<at::ScalarType, double>{at::kFloat, 1e-5}, {at::kHalf, 1e-2}, {at::kBFloat16, 1e-1}}) {
        const auto encoder = VaeEncoder::load((kData / "vae_small").string(), dtype, at::kCUDA);
        const auto posterior = encoder.encode(reference().load("vae_encode.image").to(at::kCUDA));
        EXPECT_TRUE(posterior.mean.is_cuda());
        const double err = test::rel_l2(posterior.mean, mean);
        EXPECT_LT(err, tolerance) << at::toString(dtype);
        std::printf("VAE encoder CUDA %s: rel L2 %.3g\n", at::toString(dtype), err);
    }
}

TEST(VaeEncoder, RefusesAFileWithTheDecoderOnlyAndImagesOfTheWrongSize) {
    test::TempDir dir;
    const auto decoder = VaeDecoder::load((kData / "vae_small").string(), at::kFloat, at::kCPU);
    write_safetensors(dir.file("decoder_only.safetensors"), decoder.state_dict_ldm());
    ATTNSCOPE_EXPECT_THROW_WITH(
        VaeEncoder::load(dir.file("decoder_only.safetensors"), at::kFloat, at::kCPU, fixture_config()),
        std::runtime_error, "holds the VAE's decoder but not its encoder");
    const auto encoder = VaeEncoder::load((kData / "vae_small").string(), at::kFloat, at::kCPU);
    ATTNSCOPE_EXPECT_THROW_WITH(encoder.encode(at::zeros({1, 3, 50, 64})), std::invalid_argument,
                                "multiples of 8");
    ATTNSCOPE_EXPECT_THROW_WITH(encoder.encode(at::zeros({1, 4, 48, 64})), std::invalid_argument,
                                "(B, 3, H, W)");
}

// Where TAESD's encoder is found: in a diffusers AutoencoderTiny folder (its encoder.layers.*), or as
// TAESD's encoder against diffusers' AutoencoderTiny.encode in float64 (tools/make_img2img_fixtures.py).
TEST(TaesdEncoder, MatchesDiffusersInFloat64) {
    const auto encoder = TaesdEncoder::load((kData / "taesd_small").string(), at::kDouble, at::kCPU);
    const auto expected = reference().load("taesd_encode.latents");
    const auto latents = encoder.encode(reference().load("vae_encode.image"));
    ASSERT_EQ(latents.sizes(), expected.sizes());
    EXPECT_LT(test::rel_l2(latents, expected), 1e-10);
}

// madebyollin's taesd_encoder.safetensors beside taesd_decoder.safetensors, in either layout the same
// weights.
TEST(TaesdEncoder, IsFoundBesideItsDecoderInEitherLayout) {
    test::TempDir dir;
    TensorMap madebyollin;
    {
        const SafetensorsFile f((kData / "taesd_small" / "diffusion_pytorch_model.safetensors").string());
        for (const auto& name : f.names())
            if (name.rfind("encoder.layers.", 0) == 0) madebyollin[name.substr(15)] = f.load(name);
    }
    write_safetensors(dir.file("taesd_encoder.safetensors"), madebyollin);
    const auto image = at::rand({1, 3, 16, 24}, at::kDouble) * 2 - 1;
    const auto from_diffusers = TaesdEncoder::load((kData / "taesd_small").string(), at::kDouble, at::kCPU);
    const auto from_file = TaesdEncoder::load(dir.file("taesd_encoder.safetensors"), at::kDouble, at::kCPU);
    EXPECT_EQ(from_diffusers.downscale(), 8);
    EXPECT_TRUE(at::equal(from_diffusers.encode(image), from_file.encode(image)));
    EXPECT_TRUE(TaesdEncoder::beside((kData / "taesd_small").string(), at::kFloat, at::kCPU));
    EXPECT_FALSE(
        TaesdEncoder::beside((kData / "taesd_small_decoder.safetensors").string(), at::kFloat, at::kCPU));
    std::filesystem::copy_file(kData / "taesd_small_decoder.safetensors",
                               dir.file("taesd_decoder.safetensors"));
    EXPECT_TRUE(TaesdEncoder::beside(dir.file("taesd_decoder.safetensors"), at::kFloat, at::kCPU));
    ATTNSCOPE_EXPECT_THROW_WITH(
        TaesdEncoder::load((kData / "taesd_small_decoder.safetensors").string(), at::kFloat, at::kCPU),
        std::runtime_error, "does not hold a TAESD encoder");
}

// A TAESD encoder built by hand so that its output is known without running one: identity centre taps,
// residual blocks whose convolutions are zero (so relu(0 + x) = x for the image's non-negative values), three
// bias-free stride-2 convolutions (every second pixel), and a last convolution that passes RGB through and
// adds a constant fourth latent.
TEST(TaesdEncoder, RunsTheLayersItReadsFromTheWeights) {
    Weights w;
    const auto identity = [](int64_t out, int64_t in) {
        auto k = at::zeros({out, in, 3, 3}, at::kDouble);
        for (int64_t c = 0; c < std::min(out, in); ++c) k[c][c][1][1] = 1.0;
        return k;
    };
    const auto block = [&](int i) {
        for (const char* c : {".conv.0", ".conv.2", ".conv.4"}) {
            w.set(std::to_string(i) + c + ".weight", at::zeros({3, 3, 3, 3}, at::kDouble));
            w.set(std::to_string(i) + c + ".bias", at::zeros({3}, at::kDouble));
        }
    };
    w.set("0.weight", identity(3, 3));
    w.set("0.bias", at::zeros({3}, at::kDouble));
    block(1);
    for (const int stride_conv : {2, 6, 10}) {
        w.set(std::to_string(stride_conv) + ".weight", identity(3, 3));
        for (int b = 1; b <= 3; ++b) block(stride_conv + b);
    }
    w.set("14.weight", identity(4, 3));
    w.set("14.bias", at::tensor({0.0, 0.0, 0.0, 0.5}, at::kDouble));
    const TaesdEncoder encoder(std::move(w));
    EXPECT_EQ(encoder.downscale(), 8);
    EXPECT_EQ(encoder.latent_channels(), 4);
    const auto image = at::rand({1, 3, 16, 24}, at::kDouble) * 2 - 1;
    const auto latents = encoder.encode(image);
    ASSERT_EQ(latents.sizes(), at::IntArrayRef({1, 4, 2, 3}));
    const auto expected_rgb = ((image + 1) / 2)
                                  .index({at::indexing::Slice(), at::indexing::Slice(),
                                          at::indexing::Slice(at::indexing::None, at::indexing::None, 8),
                                          at::indexing::Slice(at::indexing::None, at::indexing::None, 8)});
    EXPECT_LT((latents.narrow(1, 0, 3) - expected_rgb).abs().max().item<double>(), 1e-15);
    EXPECT_TRUE(at::all(latents.narrow(1, 3, 1) == 0.5).item<bool>());
    ATTNSCOPE_EXPECT_THROW_WITH(encoder.encode(at::zeros({1, 3, 12, 24})), std::invalid_argument,
                                "multiples of 8");
}

Image8 image8(int w, int h, int c, std::vector<uint8_t> pixels) {
    return {w, h, c, std::move(pixels)};
}

TEST(FitImage, TakesAPictureOfTheSizePixelForPixel) {
    const auto rgb = image8(2, 1, 3, {0, 255, 51, 102, 153, 204});
    const auto t = fit_image(rgb, 2, 1);
    ASSERT_EQ(t.sizes(), at::IntArrayRef({1, 3, 1, 2}));
    const float expected[3][2] = {{-1.0f, 102 / 255.0f * 2 - 1},
                                  {1.0f, 153 / 255.0f * 2 - 1},
                                  {51 / 255.0f * 2 - 1, 204 / 255.0f * 2 - 1}};
    for (int c = 0; c < 3; ++c)
        for (int x = 0; x < 2; ++x) EXPECT_FLOAT_EQ(t[0][c][0][x].item<float>(), expected[c][x]);
    // Gray is repeated into RGB; alpha is dropped.
    const auto gray_alpha = fit_image(image8(1, 1, 2, {255, 0}), 1, 1);
    EXPECT_EQ(gray_alpha.sizes(), at::IntArrayRef({1, 3, 1, 1}));
    EXPECT_TRUE(at::all(gray_alpha == 1.0f).item<bool>());
    EXPECT_TRUE(at::all(fit_image(image8(1, 1, 4, {0, 0, 0, 255}), 1, 1) == -1.0f).item<bool>());
}

TEST(FitImage, CoversTheSizeKeepingTheAspectAndCutsOutTheMiddle) {
    // 8x4, columns 0-3 black, 4-5 white, 6-7 black: to 4x4 it grows to 8x4 (covering), then columns 2-5 stay.
    std::vector<uint8_t> px;
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 8; ++x)
            for (int c = 0; c < 3; ++c) px.push_back(x == 4 || x == 5 ? 255 : 0);
    const auto middle = fit_image(image8(8, 4, 3, px), 4, 4);
    ASSERT_EQ(middle.sizes(), at::IntArrayRef({1, 3, 4, 4}));
    for (int x = 0; x < 4; ++x)
        EXPECT_FLOAT_EQ(middle[0][0][1][x].item<float>(), x == 2 || x == 3 ? 1.0f : -1.0f) << "column " << x;
    // 8x8 halves black | white, shrunk to 4x4: the halves stay, each output pixel the mean of what it covers.
    px.clear();
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x)
            for (int c = 0; c < 3; ++c) px.push_back(x < 4 ? 0 : 255);
    const auto half = fit_image(image8(8, 8, 3, px), 4, 4);
    EXPECT_NEAR(half[0][1][2][0].item<float>(), -1.0f, 1e-6);
    EXPECT_NEAR(half[0][1][2][3].item<float>(), 1.0f, 1e-6);
    EXPECT_NEAR(half.mean().item<double>(), 0.0, 1e-6);
}

TEST(FitImage, WithoutASizeARunTakesThePicturesAspectAtTheNativePixelCount) {
    EXPECT_EQ(size_for_picture(image8(4000, 3000, 3, {}), 512, 512), std::make_pair(576, 448));
    EXPECT_EQ(size_for_picture(image8(64, 48, 3, {}), 64, 64), std::make_pair(64, 64));
    EXPECT_EQ(size_for_picture(image8(100, 1000, 3, {}), 64, 64), std::make_pair(64, 192));
    EXPECT_EQ(size_for_picture(image8(768, 768, 3, {}), 768, 768), std::make_pair(768, 768));
}

TEST(ImageFile, ReadsPngAndRefusesWhatItCannotReadInOneLine) {
    test::TempDir dir;
    const auto picture = read_image((kData / "img2img_init.png").string());
    EXPECT_EQ(picture.width, 64);
    EXPECT_EQ(picture.height, 48);
    EXPECT_EQ(picture.channels, 3);

    const auto png = test::read_bytes((kData / "img2img_init.png").string());
    test::write_bytes(dir.file("cut.png"), png.substr(0, png.size() / 2));
    ATTNSCOPE_EXPECT_THROW_WITH(read_image(dir.file("cut.png")), std::runtime_error,
                                "cut.png: this PNG file is corrupt or truncated");
    test::write_bytes(dir.file("a.gif"), "GIF89a\x01\x00\x01\x00");
    ATTNSCOPE_EXPECT_THROW_WITH(read_image(dir.file("a.gif")), std::runtime_error,
                                "a.gif: a GIF image; attnscope reads PNG, JPEG and BMP images");
    test::write_bytes(dir.file("empty.png"), "");
    EXPECT_THROW(read_image(dir.file("empty.png")), std::runtime_error);
    // A PNG header that claims 20000 x 100 pixels is refused before any pixel is allocated.
    std::string huge = png.substr(0, 16);
    const char ihdr[] = {0, 0, 0x4e, 0x20, 0, 0, 0, 100, 8, 2, 0, 0, 0};
    huge += std::string(ihdr, sizeof ihdr) + std::string(4, '\0');
    test::write_bytes(dir.file("huge.png"), huge);
    ATTNSCOPE_EXPECT_THROW_WITH(read_image(dir.file("huge.png")), std::runtime_error,
                                "is 20000x100 pixels; images up to 16384 pixels a side");
    ATTNSCOPE_EXPECT_THROW_WITH(read_image(dir.file("missing.png")), std::runtime_error, "missing.png");
}

TEST(ImageStart, StrengthPicksTheFirstStepAsDiffusersDoes) {
    EXPECT_EQ(first_step_for_strength(5, 0.6), 2);
    EXPECT_EQ(first_step_for_strength(10, 0.3), 7);    // 10 * 0.3 = 3.0000000000000004
    EXPECT_EQ(first_step_for_strength(100, 0.29), 72); // 100 * 0.29 = 28.999999999999996
    EXPECT_EQ(first_step_for_strength(20, 1.0), 0);
    ATTNSCOPE_EXPECT_THROW_WITH(first_step_for_strength(4, 0.1), std::invalid_argument, "runs no step");
    EXPECT_THROW(first_step_for_strength(5, 0.0), std::invalid_argument);
    EXPECT_THROW(first_step_for_strength(5, 1.5), std::invalid_argument);
    EXPECT_THROW(first_step_for_strength(5, std::nan("")), std::invalid_argument);
}

GenerationSettings reference_settings(SchedulerKind scheduler) {
    auto s = test::reference_settings(reference(), scheduler);
    const auto path = (kData / "img2img_init.png").string();
    s.start_image =
        StartImage{std::make_shared<const Image8>(read_image(path)), path, std::stod(meta("strength"))};
    return s;
}

class ImageToImageParity : public ::testing::TestWithParam<SchedulerKind> {};

TEST_P(ImageToImageParity, EveryStepMatchesDiffusersImg2Img) {
    Session session(test::small_pipeline(), reference_settings(GetParam()));
    const std::string prefix = "pipeline_v1_small." + to_string(GetParam());
    int reference_steps = 0;
    while (reference().contains(prefix + ".latents." + std::to_string(reference_steps + 1)))
        ++reference_steps;
    ASSERT_EQ(session.total_steps(), reference_steps);
    EXPECT_EQ(session.first_scheduled_step(), 2);
    while (!session.done()) {
        const auto info = session.step();
        const auto ref = reference().load(prefix + ".latents." + std::to_string(info.index + 1));
        EXPECT_LT(test::rel_l2(session.latents(), ref), 1e-5) << "after step " << info.index + 1;
    }
    const auto image = session.image(Decoder::Full).permute({0, 2, 3, 1});
    EXPECT_LT((image.to(at::kDouble) - reference().load(prefix + ".image")).abs().max().item<double>(), 5e-5);
    // A branch from the middle repeats the rest exactly: it joins the same shortened schedule.
    const auto last = session.latents().clone();
    auto branch = session.branch(1);
    while (!branch.done()) branch.step();
    EXPECT_TRUE(at::equal(branch.latents(), last));
}

// The same runs on the GPU in fp32: the draws come from the CPU generator as diffusers' do, so the latents
// follow the reference to fp32 rounding.
TEST_P(ImageToImageParity, FollowsDiffusersOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    const test::NoTf32 exact;
    PipelineOptions o;
    o.device = at::kCUDA;
    static const auto gpu = load_pipeline((kData / "pipeline_v1_small").string(), o);
    Session session(gpu, reference_settings(GetParam()));
    const std::string prefix = "pipeline_v1_small." + to_string(GetParam());
    while (!session.done()) {
        const auto info = session.step();
        const auto ref = reference().load(prefix + ".latents." + std::to_string(info.index + 1));
        EXPECT_LT(test::rel_l2(session.latents(), ref), 1e-4) << "after step " << info.index + 1;
    }
}

INSTANTIATE_TEST_SUITE_P(Schedulers, ImageToImageParity, ::testing::ValuesIn(all_scheduler_kinds()),
                         [](const auto& info) { return to_string(info.param); });

TEST(ImageStart, AModelWithoutAnEncoderSaysSoInOneLine) {
    test::TempDir dir;
    const auto folder = fs::path(dir.file("model"));
    fs::copy(kData / "pipeline_v1_small", folder, fs::copy_options::recursive);
    const auto vae = folder / "vae" / "diffusion_pytorch_model.safetensors";
    const auto decoder = VaeDecoder::load((folder / "vae").string(), at::kFloat, at::kCPU);
    TensorMap only_decoder;
    for (const auto& [name, t] : decoder.weights().all()) only_decoder[name] = t;
    write_safetensors(vae.string(), only_decoder);
    const auto pipeline = load_pipeline(folder.string(), {});
    EXPECT_FALSE(pipeline->vae_encoder);
    ATTNSCOPE_EXPECT_THROW_WITH(Session(pipeline, reference_settings(SchedulerKind::DDIM)),
                                std::invalid_argument, "cannot read a picture");
    // With a TAESD that has an encoder, pictures go through it.
    PipelineOptions with_taesd;
    with_taesd.taesd = (kData / "taesd_small").string();
    const auto fast = load_pipeline(folder.string(), with_taesd);
    ASSERT_TRUE(fast->taesd_encoder);
    Session session(fast, reference_settings(SchedulerKind::DDIM));
    session.step();
    EXPECT_TRUE(at::isfinite(session.latents()).all().item<bool>());
}

} // namespace
} // namespace attnscope
