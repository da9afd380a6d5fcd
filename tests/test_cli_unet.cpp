// `attnscope unet` end to end: the real binary on the parity fixtures, compared with diffusers' float64
// reference, and its answers to bad input.
#include "io/safetensors_file.h"
#include "test_util.h"

namespace attnscope {
namespace {

test::CliResult run(const std::string& args) {
    return test::run_cli(args);
}

const std::string kData = ATTNSCOPE_TEST_DATA;

struct Case {
    const char* model;  // relative to tests/data
    const char* extra;  // extra options
    const char* inputs; // io fixture
    const char* dtype;
    double tolerance;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.model << " " << c.dtype;
}

class CliUnet : public ::testing::TestWithParam<Case> {};

TEST_P(CliUnet, ReproducesTheReference) {
    const auto& c = GetParam();
    test::TempDir dir;
    const auto r = run("unet --model " + kData + "/" + c.model + " " + c.extra + " --inputs " + kData + "/" +
                       c.inputs + " --out " + dir.file("out.safetensors") + " --dtype " + c.dtype);
    ASSERT_EQ(r.rc, 0) << r.output;
    const SafetensorsFile out(dir.file("out.safetensors")), ref(kData + "/" + c.inputs);
    EXPECT_LT(test::rel_l2(out.load("sample"), ref.load("out")), c.tolerance);
    const auto maps = [](const SafetensorsFile& f) {
        std::vector<std::string> p;
        for (const auto& name : f.names())
            if (name.rfind("p.", 0) == 0) p.push_back(name);
        return p;
    };
    for (const auto& name : maps(out))
        EXPECT_LT(test::rel_l2(out.load(name), ref.load(name)), std::max(c.tolerance, 1e-6)) << name;
    EXPECT_EQ(maps(out), maps(ref)); // every site of the reference, 32 for SD v1/v2, 56 for the SDXL one
    EXPECT_EQ(out.header().metadata.at("attnscope.dtype"), c.dtype);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CliUnet,
    ::testing::Values(Case{"unet_v1_small", "", "unet_v1_small_io.safetensors", "f64", 1e-10},
                      // Original checkpoints do not record norm groups or head counts: the fixture's differ
                      // from SD's convention, so its config is given.
                      Case{"unet_v1_small_ldm.safetensors",
                           "--config " ATTNSCOPE_TEST_DATA "/unet_v1_small/unet/config.json",
                           "unet_v1_small_io.safetensors", "f32", 1e-5},
                      Case{"unet_v2_small/unet", "", "unet_v2_small_io.safetensors", "f32", 1e-5},
                      Case{"unet_v2_small_ldm.safetensors",
                           "--config " ATTNSCOPE_TEST_DATA "/unet_v2_small/unet/config.json",
                           "unet_v2_small_io.safetensors", "f64", 1e-10},
                      // SDXL: text_embeds and time_ids come from the inputs file too.
                      Case{"unet_xl_small", "", "unet_xl_small_io.safetensors", "f64", 1e-10},
                      Case{"unet_xl_small_ldm.safetensors",
                           "--config " ATTNSCOPE_TEST_DATA "/unet_xl_small/unet/config.json",
                           "unet_xl_small_io.safetensors", "f32", 1e-5}),
    [](const auto& info) {
        return std::string("case") + std::to_string(info.index) + "_" + info.param.dtype;
    });

// fp32 on CUDA is IEEE fp32 unless --tf32 is given: LibTorch's default (TF32 convolutions) put these U-Nets
// 1.5e-4 away from float64 on an H100.
TEST(CliUnetCuda, Fp32IsIeeeFp32UnlessTf32IsAsked) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch is CPU-only or no GPU is visible";
    for (const char* model : {"unet_v1_small", "unet_v2_small", "unet_xl_small"}) {
        const std::string io = kData + "/" + model + "_io.safetensors";
        double err[2] = {0, 0};
        for (const bool tf32 : {false, true}) {
            test::TempDir dir;
            const auto r =
                run(std::string("unet --device cuda --dtype f32 --model ") + kData + "/" + model +
                    " --inputs " + io + " --out " + dir.file("out.safetensors") + (tf32 ? " --tf32" : ""));
            ASSERT_EQ(r.rc, 0) << r.output;
            err[tf32] = test::rel_l2(SafetensorsFile(dir.file("out.safetensors")).load("sample"),
                                     SafetensorsFile(io).load("out"));
        }
        std::printf("%s CUDA f32: rel L2 to float64 %.3g, with --tf32 %.3g\n", model, err[0], err[1]);
        EXPECT_LT(err[0], 1e-5) << model;
        EXPECT_GT(err[1], err[0]) << model << ": --tf32 changed nothing";
    }
}

TEST(CliUnetErrors, OneClearLineAndNoOutputFile) {
    test::TempDir dir;
    TensorMap no_sample{{"encoder_hidden_states", at::zeros({2, 77, 32})}, {"timestep", at::tensor({1.0f})}};
    write_safetensors(dir.file("in.safetensors"), no_sample);
    const std::string common =
        "unet --model " + kData + "/unet_v1_small --out " + dir.file("out.safetensors");
    auto r = run(common + " --inputs " + dir.file("in.safetensors"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("no tensor 'sample'"), std::string::npos) << r.output;

    auto bad = no_sample;
    bad["sample"] = at::zeros({2, 3, 6, 10});
    write_safetensors(dir.file("in.safetensors"), bad);
    r = run(common + " --inputs " + dir.file("in.safetensors"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("sample must be (B, 4, H, W), got (2, 3, 6, 10)"), std::string::npos) << r.output;

    bad["sample"] = at::zeros({2, 4, 6, 10}, at::kLong);
    write_safetensors(dir.file("in.safetensors"), bad);
    r = run(common + " --inputs " + dir.file("in.safetensors"));
    EXPECT_NE(r.output.find("'sample' is I64, expected a floating-point type"), std::string::npos)
        << r.output;

    bad["sample"] = at::zeros({2, 4, 6, 10});
    bad["encoder_hidden_states"] = at::zeros({2, 77, 31});
    write_safetensors(dir.file("in.safetensors"), bad);
    r = run(common + " --inputs " + dir.file("in.safetensors"));
    EXPECT_NE(r.output.find("encoder_hidden_states must be (2, S, 32), got (2, 77, 31)"), std::string::npos)
        << r.output;

    r = run(common + " --inputs " + kData + "/unet_v1_small_io.safetensors --backend sdpa");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("does not materialize probabilities; use --backend math"), std::string::npos)
        << r.output;

    // SDXL's U-Net: SD inputs lack its micro-conditioning; five numbers (the refiner's) are not six.
    const std::string xl = "unet --model " + kData + "/unet_xl_small --out " + dir.file("out.safetensors");
    r = run(xl + " --inputs " + kData + "/unet_v1_small_io.safetensors");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("no tensor 'text_embeds'"), std::string::npos) << r.output;
    const SafetensorsFile xl_io(kData + "/unet_xl_small_io.safetensors");
    TensorMap five;
    for (const char* name : {"sample", "timestep", "encoder_hidden_states", "text_embeds"})
        five[name] = xl_io.load(name);
    five["time_ids"] = xl_io.load("time_ids").narrow(1, 0, 5);
    write_safetensors(dir.file("in.safetensors"), five);
    r = run(xl + " --inputs " + dir.file("in.safetensors"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(
        r.output.find("SDXL's U-Net needs text_embeds (2, 12) and time_ids (2, 6), got (2, 12) and (2, 5)"),
        std::string::npos)
        << r.output;

    r = run("unet --model " + kData + "/unet_v1_small --inputs x");
    EXPECT_EQ(r.rc, 2);
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.safetensors")));
}

} // namespace
} // namespace attnscope
