// The image decoders: parity with diffusers' AutoencoderKL and AutoencoderTiny (fixtures made by
// tools/make_vae_fixtures.py on random small configs, the reference run in float64) from every checkpoint
// layout, and the errors a user meets with a bad file or bad latents.
#include "model/taesd_decoder.h"
#include "model/vae_decoder.h"
#include "test_util.h"

#include <fstream>

namespace attnscope {
namespace {

namespace fs = std::filesystem;

const fs::path kData = ATTNSCOPE_TEST_DATA;

SafetensorsFile io() {
    return SafetensorsFile((kData / "vae_small_io.safetensors").string());
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

VaeConfig fixture_config() {
    const auto path = kData / "vae_small" / "vae" / "config.json";
    return vae_config_from_json(read_text(path), path.string());
}

TensorMap read_all(const fs::path& path) {
    const SafetensorsFile f(path.string());
    TensorMap out;
    for (const auto& name : f.names()) out[name] = f.load(name);
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// The VAE fixture in each layout a user may hand over. Single files carry no config.json, and the fixture's
// 4 norm groups are not SD's 32, so those get the config explicitly as a user would.
class VaeParity : public ::testing::TestWithParam<std::string> {
  protected:
    test::TempDir dir;

    VaeDecoder load(at::ScalarType dtype, at::Device device = at::kCPU) const {
        const auto& layout = GetParam();
        const auto diffusers_file = kData / "vae_small" / "vae" / "diffusion_pytorch_model.safetensors";
        if (layout == "model_folder") return VaeDecoder::load((kData / "vae_small").string(), dtype, device);
        if (layout == "vae_folder")
            return VaeDecoder::load((kData / "vae_small" / "vae").string(), dtype, device);
        if (layout == "diffusers_file")
            return VaeDecoder::load(diffusers_file.string(), dtype, device, fixture_config());
        if (layout == "ldm_checkpoint")
            return VaeDecoder::load((kData / "vae_small_ldm.safetensors").string(), dtype, device,
                                    fixture_config());
        TensorMap renamed;
        if (layout == "legacy_attention_names") {
            const std::pair<std::string, std::string> renames[] = {{".to_q.", ".query."},
                                                                   {".to_k.", ".key."},
                                                                   {".to_v.", ".value."},
                                                                   {".to_out.0.", ".proj_attn."}};
            for (const auto& [name, t] : read_all(diffusers_file)) {
                auto key = name;
                for (const auto& [now, old] : renames)
                    if (const auto at = key.find(now); at != std::string::npos)
                        key.replace(at, now.size(), old);
                renamed[key] = t;
            }
        } else if (layout == "ldm_standalone") {
            const std::string prefix = kLdmVaePrefix;
            for (const auto& [key, t] : read_all(kData / "vae_small_ldm.safetensors"))
                renamed[starts_with(key, prefix) ? key.substr(prefix.size()) : key] = t;
        } else {
            ADD_FAILURE() << "unknown layout " << layout;
        }
        write_safetensors(dir.file("vae.safetensors"), renamed);
        return VaeDecoder::load(dir.file("vae.safetensors"), dtype, device, fixture_config());
    }
};

TEST_P(VaeParity, MatchesTheReferenceExactlyInFloat64) {
    const auto vae = load(at::kDouble);
    EXPECT_EQ(vae.config(), fixture_config());
    const auto image = vae.decode(io().load("latents"));
    const auto reference = io().load("vae_image");
    EXPECT_EQ(image.scalar_type(), at::kDouble);
    EXPECT_EQ(image.sizes().vec(), reference.sizes().vec());
    const double err = test::rel_l2(image, reference);
    EXPECT_LT(err, 1e-10);
    std::printf("VAE %s float64: rel L2 %.3g\n", GetParam().c_str(), err);
}

TEST_P(VaeParity, MatchesTheReferenceInFloat32) {
    const double err = test::rel_l2(load(at::kFloat).decode(io().load("latents")), io().load("vae_image"));
    EXPECT_LT(err, 1e-5);
    std::printf("VAE %s float32: rel L2 %.3g\n", GetParam().c_str(), err);
}

// Reduced precision, as far from the float64 reference as diffusers itself lands on an H100 (VAE / TAESD:
// fp16 1.9e-3 / 3.6e-3, bf16 1.6e-2 / 3.2e-2), with room for a different but equally exact rounding order.
constexpr std::pair<at::ScalarType, double> kGpuCases[] = {
    {at::kFloat, 1e-5}, {at::kHalf, 1e-2}, {at::kBFloat16, 1e-1}};

TEST_P(VaeParity, MatchesTheReferenceOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    const test::NoTf32 exact;
    for (const auto& [dtype, tolerance] : kGpuCases) {
        const auto image = load(dtype, at::kCUDA).decode(io().load("latents", dtype, at::kCUDA));
        EXPECT_TRUE(image.is_cuda());
        const double err = test::rel_l2(image, io().load("vae_image"));
        EXPECT_LT(err, tolerance) << at::toString(dtype);
        std::printf("VAE %s CUDA %s: rel L2 %.3g\n", GetParam().c_str(), at::toString(dtype), err);
    }
}

INSTANTIATE_TEST_SUITE_P(Layouts, VaeParity,
                         ::testing::Values("model_folder", "vae_folder", "diffusers_file",
                                           "legacy_attention_names", "ldm_checkpoint", "ldm_standalone"));

class TaesdParity : public ::testing::TestWithParam<std::string> {
  protected:
    TaesdDecoder load(at::ScalarType dtype, at::Device device = at::kCPU) const {
        const auto& layout = GetParam();
        const auto path = layout == "diffusers_folder" ? kData / "taesd_small"
                          : layout == "diffusers_file"
                              ? kData / "taesd_small" / "diffusion_pytorch_model.safetensors"
                              : kData / "taesd_small_decoder.safetensors";
        return TaesdDecoder::load(path.string(), dtype, device);
    }
};

TEST_P(TaesdParity, MatchesTheReferenceExactlyInFloat64) {
    const auto taesd = load(at::kDouble);
    EXPECT_EQ(taesd.latent_channels(), 4);
    EXPECT_EQ(taesd.upscale(), 8);
    const auto image = taesd.decode(io().load("latents"));
    const auto reference = io().load("taesd_image");
    EXPECT_EQ(image.sizes().vec(), reference.sizes().vec());
    const double err = test::rel_l2(image, reference);
    EXPECT_LT(err, 1e-10);
    std::printf("TAESD %s float64: rel L2 %.3g\n", GetParam().c_str(), err);
}

TEST_P(TaesdParity, MatchesTheReferenceInFloat32) {
    const double err = test::rel_l2(load(at::kFloat).decode(io().load("latents")), io().load("taesd_image"));
    EXPECT_LT(err, 1e-5);
    std::printf("TAESD %s float32: rel L2 %.3g\n", GetParam().c_str(), err);
}

TEST_P(TaesdParity, MatchesTheReferenceOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    const test::NoTf32 exact;
    for (const auto& [dtype, tolerance] : kGpuCases) {
        const auto image = load(dtype, at::kCUDA).decode(io().load("latents", dtype, at::kCUDA));
        const double err = test::rel_l2(image, io().load("taesd_image"));
        EXPECT_LT(err, tolerance) << at::toString(dtype);
        std::printf("TAESD %s CUDA %s: rel L2 %.3g\n", GetParam().c_str(), at::toString(dtype), err);
    }
}

INSTANTIATE_TEST_SUITE_P(Layouts, TaesdParity,
                         ::testing::Values("diffusers_folder", "diffusers_file", "madebyollin"));

TEST(VaeConfig, SdPresetAndDiffusersConfigJson) {
    const auto sd = VaeConfig::sd();
    EXPECT_EQ(sd.downscale(), 8);
    EXPECT_NE(sd.describe().find("blocks (128, 256, 512, 512)"), std::string::npos) << sd.describe();
    EXPECT_NE(sd.describe().find("scaling factor 0.18215"), std::string::npos) << sd.describe();

    const auto c = fixture_config();
    EXPECT_EQ(c.block_out_channels, (std::vector<int>{16, 16, 32, 32}));
    EXPECT_EQ(c.layers_per_block, 2);
    EXPECT_EQ(c.norm_num_groups, 4);
    EXPECT_EQ(c.latent_channels, 4);
    EXPECT_EQ(c.scaling_factor, 0.18215);
    EXPECT_EQ(vae_config_from_json(R"({"block_out_channels": [64, 64], "scaling_factor": 0.13025})", "x")
                  .scaling_factor,
              0.13025);
}

TEST(VaeConfig, RefusesWhatTheDecoderDoesNotImplement) {
    const auto refuse = [](const std::string& json, const std::string& message) {
        ATTNSCOPE_EXPECT_THROW_WITH(vae_config_from_json(json, "cfg.json"), std::runtime_error, message);
    };
    refuse(R"({"act_fn": "gelu"})", "cfg.json: unsupported act_fn 'gelu'");
    refuse(R"({"_class_name": "AutoencoderTiny"})", "load it as TAESD");
    refuse(R"({"shift_factor": 0.1159})", "unsupported shift_factor 0.1159");
    refuse(R"({"use_post_quant_conv": false})", "unsupported use_post_quant_conv false");
    refuse(R"({"block_out_channels": [64, 48], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"]})",
           "block_out_channels[1] = 48 is not divisible by norm_num_groups 32");
    refuse(R"({"block_out_channels": [64], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"]})",
           "lists 2 up_block_types for 1 block_out_channels");
    refuse(R"({"layers_per_block": "two"})", "cfg.json: \"layers_per_block\" must be a whole number");
    // Numbers an int cannot hold are refused, not cast (undefined behaviour under UBSan).
    refuse(R"({"norm_num_groups": 1e300})", "\"norm_num_groups\" must be a whole number that fits an int");
    refuse(R"({"block_out_channels": [64, 4294967360]})", "\"block_out_channels\" must be a whole number");
    refuse(R"({"scaling_factor": "big"})", "has a field of the wrong type");
    refuse("{", "cfg.json: is not valid JSON");
}

// An original checkpoint records no config: levels, widths and depth come from the shapes, norm groups and
// the scaling factor from SD's convention.
TEST(VaeDecoder, InfersTheConfigOfAnOriginalCheckpoint) {
    VaeConfig c;
    c.block_out_channels = {32, 32, 64, 64};
    c.layers_per_block = 1;
    const auto vae = VaeDecoder::random(c, 7, at::kFloat, at::kCPU);
    test::TempDir dir;
    write_safetensors(dir.file("sd.safetensors"), vae.state_dict_ldm());
    const auto loaded = VaeDecoder::load(dir.file("sd.safetensors"), at::kFloat, at::kCPU);
    EXPECT_EQ(loaded.config(), c) << loaded.config().describe();

    const auto latents = at::randn({2, 4, 3, 5});
    const auto image = loaded.decode(latents);
    EXPECT_EQ(image.sizes().vec(), (std::vector<int64_t>{2, 3, 24, 40}));
    EXPECT_TRUE(at::equal(image, vae.decode(latents)));
    // One image of the batch decodes alone to the same pixels, up to fp32 rounding: the CPU's convolution
    // kernels block a batch of one differently (1.0-1.2e-6 on an AVX2 EPYC, under 1e-6 where CI ran before).
    EXPECT_LT(test::rel_l2(vae.decode(latents.narrow(0, 1, 1)), image.narrow(0, 1, 1)), 1e-5);

    ATTNSCOPE_EXPECT_THROW_WITH(
        VaeDecoder::load((kData / "vae_small_ldm.safetensors").string(), at::kFloat, at::kCPU),
        std::runtime_error,
        "block_out_channels[0] = 16 is not divisible by norm_num_groups 32 (the file does "
        "not record norm groups; SD's 32 was assumed: give the model's vae/config.json)");
}

TEST(VaeDecoder, RejectsBadLatents) {
    const auto vae = VaeDecoder::load((kData / "vae_small").string(), at::kFloat, at::kCPU);
    ATTNSCOPE_EXPECT_THROW_WITH(vae.decode(at::zeros({1, 3, 6, 10})), std::invalid_argument,
                                "latents must be (B, 4, h, w), got (1, 3, 6, 10)");
    ATTNSCOPE_EXPECT_THROW_WITH(vae.decode(at::zeros({4, 6, 10})), std::invalid_argument, "got (4, 6, 10)");
    ATTNSCOPE_EXPECT_THROW_WITH(vae.decode(at::zeros({1, 4, 6, 10}, at::kLong)), std::invalid_argument,
                                "latents must be floating point");
    const auto half = VaeDecoder::load((kData / "vae_small").string(), at::kHalf, at::kCPU);
    ATTNSCOPE_EXPECT_THROW_WITH(half.decode(at::zeros({1, 4, 6, 10})), std::invalid_argument, "needs CUDA");
}

TEST(VaeLoadErrors, NameTheFileAndKey) {
    test::TempDir dir;
    const auto load = [](const std::string& path, std::optional<VaeConfig> c = fixture_config()) {
        return VaeDecoder::load(path, at::kFloat, at::kCPU, c);
    };
    const auto diffusers = read_all(kData / "vae_small" / "vae" / "diffusion_pytorch_model.safetensors");
    const auto ldm = read_all(kData / "vae_small_ldm.safetensors");

    auto missing = ldm;
    const std::string shortcut = "first_stage_model.decoder.up.1.block.0.nin_shortcut.weight";
    ASSERT_EQ(missing.erase(shortcut), 1u);
    write_safetensors(dir.file("missing.safetensors"), missing);
    ATTNSCOPE_EXPECT_THROW_WITH(
        load(dir.file("missing.safetensors")), std::runtime_error,
        "missing.safetensors: missing VAE decoder weight '" + shortcut +
            "' (diffusers name 'decoder.up_blocks.2.resnets.0.conv_shortcut.weight')");

    auto wrong = diffusers;
    wrong["decoder.conv_in.weight"] = at::zeros({32, 4, 1, 1});
    write_safetensors(dir.file("wrong.safetensors"), wrong);
    ATTNSCOPE_EXPECT_THROW_WITH(
        load(dir.file("wrong.safetensors")), std::runtime_error,
        "VAE weight 'decoder.conv_in.weight' has shape (32, 4, 1, 1), expected (32, 4, 3, 3)");
    auto wrong_ldm = ldm;
    wrong_ldm["first_stage_model.decoder.mid.attn_1.q.weight"] = at::zeros({32, 16, 1, 1});
    write_safetensors(dir.file("wrong_ldm.safetensors"), wrong_ldm);
    ATTNSCOPE_EXPECT_THROW_WITH(
        load(dir.file("wrong_ldm.safetensors")), std::runtime_error,
        "'first_stage_model.decoder.mid.attn_1.q.weight' has shape (32, 16, 1, 1), expected "
        "(32, 32, 1, 1)");

    auto ints = diffusers;
    ints["decoder.conv_norm_out.bias"] = at::zeros({16}, at::kInt);
    write_safetensors(dir.file("ints.safetensors"), ints);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("ints.safetensors")), std::runtime_error,
                                "'decoder.conv_norm_out.bias' is stored as I32");

    const auto bytes = test::read_bytes((kData / "vae_small_ldm.safetensors").string());
    test::write_bytes(dir.file("truncated.safetensors"), bytes.substr(0, bytes.size() / 2));
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("truncated.safetensors")), std::runtime_error, "truncated");
    try {
        load(dir.file("truncated.safetensors"));
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("truncated.safetensors"), std::string::npos) << e.what();
    }

    ATTNSCOPE_EXPECT_THROW_WITH(load((kData / "taesd_small_decoder.safetensors").string()),
                                std::runtime_error,
                                "holds a TAESD decoder, not the Stable Diffusion VAE: load it as TAESD");
    ATTNSCOPE_EXPECT_THROW_WITH(load((kData / "taesd_small").string(), std::nullopt), std::runtime_error,
                                "holds a TAESD decoder");
    write_safetensors(dir.file("unet.safetensors"), {{"conv_in.weight", at::zeros({4, 4, 3, 3})}});
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("unet.safetensors")), std::runtime_error,
                                "does not hold a Stable Diffusion VAE decoder: found none of "
                                "'decoder.mid_block.resnets.0.conv1.weight'");
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("nowhere")), std::runtime_error, "nowhere: does not exist");
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.path().string()), std::runtime_error,
                                "without vae/diffusion_pytorch_model.safetensors");

    Weights incomplete;
    for (const auto& [key, t] : diffusers)
        if (key != "decoder.mid_block.attentions.0.to_v.bias") incomplete.set(key, t.to(at::kFloat));
    ATTNSCOPE_EXPECT_THROW_WITH(VaeDecoder(fixture_config(), incomplete), std::invalid_argument,
                                "VAE weight 'decoder.mid_block.attentions.0.to_v.bias' is missing");
}

TEST(TaesdDecoder, RandomHasTheReleasedTopology) {
    const auto taesd = TaesdDecoder::random(3, at::kFloat, at::kCPU);
    EXPECT_EQ(taesd.describe(),
              "TAESD decoder (4 latent channels, blocks 3+3+3+1, widths 64/64/64/64, 8x up-sampling)");
    EXPECT_TRUE(taesd.weights().contains("19.weight"));
    EXPECT_TRUE(taesd.weights().contains("17.weight"));
    EXPECT_FALSE(taesd.weights().contains("17.bias"));

    test::TempDir dir;
    write_safetensors(dir.file("taesd_decoder.safetensors"), taesd.weights().all());
    const auto loaded = TaesdDecoder::load(dir.path().string(), at::kFloat, at::kCPU);
    const auto latents = at::randn({2, 4, 3, 5});
    const auto image = loaded.decode(latents);
    EXPECT_EQ(image.sizes().vec(), (std::vector<int64_t>{2, 3, 24, 40}));
    EXPECT_TRUE(at::equal(image, taesd.decode(latents)));

    ATTNSCOPE_EXPECT_THROW_WITH(taesd.decode(at::zeros({1, 16, 6, 10})), std::invalid_argument,
                                "latents must be (B, 4, h, w), got (1, 16, 6, 10)");
    const auto wide = TaesdDecoder::random(3, at::kFloat, at::kCPU, 16);
    EXPECT_EQ(wide.decode(at::zeros({1, 16, 2, 2})).sizes().vec(), (std::vector<int64_t>{1, 3, 16, 16}));
}

TEST(TaesdLoadErrors, NameTheFileAndKey) {
    test::TempDir dir;
    const auto load = [](const std::string& path) { return TaesdDecoder::load(path, at::kFloat, at::kCPU); };
    const auto sequential = read_all(kData / "taesd_small_decoder.safetensors");
    const auto diffusers = read_all(kData / "taesd_small" / "diffusion_pytorch_model.safetensors");

    auto missing = sequential;
    ASSERT_EQ(missing.erase("8.conv.2.weight"), 1u);
    write_safetensors(dir.file("missing.safetensors"), missing);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("missing.safetensors")), std::runtime_error,
                                "missing.safetensors: missing TAESD weight '8.conv.2.weight'");

    auto missing_diffusers = diffusers;
    ASSERT_EQ(missing_diffusers.erase("decoder.layers.16.weight"), 1u);
    write_safetensors(dir.file("missing_diffusers.safetensors"), missing_diffusers);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("missing_diffusers.safetensors")), std::runtime_error,
                                "missing TAESD weight 'decoder.layers.16.weight' (the convolution after an "
                                "up-sampling) or 'decoder.layers.15.weight' (the output convolution)");

    auto wrong = sequential;
    wrong["13.conv.0.weight"] = at::zeros({16, 16, 1, 1});
    write_safetensors(dir.file("wrong.safetensors"), wrong);
    ATTNSCOPE_EXPECT_THROW_WITH(
        load(dir.file("wrong.safetensors")), std::runtime_error,
        "TAESD weight '13.conv.0.weight' has shape (16, 16, 1, 1), expected (16, 16, 3, 3)");

    auto extra = sequential;
    extra["20.weight"] = at::zeros({3, 3, 3, 3});
    write_safetensors(dir.file("extra.safetensors"), extra);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("extra.safetensors")), std::runtime_error,
                                "unexpected TAESD weight '20.weight'");

    const auto bytes = test::read_bytes((kData / "taesd_small_decoder.safetensors").string());
    test::write_bytes(dir.file("truncated.safetensors"), bytes.substr(0, bytes.size() - 1000));
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("truncated.safetensors")), std::runtime_error, "truncated");

    ATTNSCOPE_EXPECT_THROW_WITH(load((kData / "vae_small_ldm.safetensors").string()), std::runtime_error,
                                "holds the full Stable Diffusion VAE, not TAESD: load it as a VAE");
    ATTNSCOPE_EXPECT_THROW_WITH(load((kData / "vae_small").string()), std::runtime_error,
                                "describes the full Stable Diffusion VAE (AutoencoderKL), not TAESD");

    fs::create_directories(dir.path() / "tiny");
    write_safetensors(dir.file("tiny/diffusion_pytorch_model.safetensors"), diffusers);
    test::write_bytes(dir.file("tiny/config.json"),
                      R"({"_class_name": "AutoencoderTiny", "act_fn": "gelu"})");
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("tiny")), std::runtime_error,
                                "config.json: unsupported act_fn \"gelu\"");

    Weights incomplete;
    for (const auto& [key, t] : sequential)
        if (key != "19.weight") incomplete.set(key, t.to(at::kFloat));
    ATTNSCOPE_EXPECT_THROW_WITH(TaesdDecoder{incomplete}, std::invalid_argument,
                                "or '19.weight' (the output convolution)");
}

} // namespace
} // namespace attnscope
