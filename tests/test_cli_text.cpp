// `attnscope text` end to end: given token ids against transformers' float64 reference, a prompt through
// the model folder's own tokenizer, and its answers to bad input.
#include "io/safetensors_file.h"
#include "test_util.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

#include <fstream>

namespace attnscope {
namespace {

namespace fs = std::filesystem;
const std::string kData = ATTNSCOPE_TEST_DATA;

struct Case {
    const char* model; // with any extra option
    const char* inputs;
    const char* dtype;
    double tolerance;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.model << " " << c.dtype;
}

class CliText : public ::testing::TestWithParam<Case> {};

TEST_P(CliText, ReproducesTheReference) {
    const auto& c = GetParam();
    test::TempDir dir;
    const auto r = test::run_cli("text --model " + kData + "/" + c.model + " --ids " + kData + "/" +
                                 c.inputs + " --out " + dir.file("out.safetensors") + " --dtype " + c.dtype);
    ASSERT_EQ(r.rc, 0) << r.output;
    const SafetensorsFile out(dir.file("out.safetensors")), ref(kData + "/" + c.inputs);
    EXPECT_LT(test::rel_l2(out.load("encoder_hidden_states"), ref.load("last_hidden_state")), c.tolerance);
    EXPECT_TRUE(at::equal(out.load("input_ids"), ref.load("input_ids", at::kLong)));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CliText,
    ::testing::Values(Case{"text_encoder_v1_small", "text_encoder_v1_small_io.safetensors", "f64", 1e-10},
                      Case{"text_encoder_v1_small", "text_encoder_v1_small_io.safetensors", "f32", 1e-5},
                      Case{"text_encoder_v2_small", "text_encoder_v2_small_io.safetensors", "f32", 1e-5},
                      Case{"text_encoder_v2_small_openclip.safetensors --heads 4",
                           "text_encoder_v2_small_io.safetensors", "f64", 1e-10}),
    [](const auto& info) { return "case" + std::to_string(info.index) + "_" + info.param.dtype; });

TEST(CliTextPrompt, UsesTheModelFoldersTokenizer) {
    test::TempDir dir;
    ClipTextConfig config;
    config.hidden_size = 32;
    config.num_heads = 4;
    config.num_layers = 1;
    config.intermediate_size = 64;
    const auto model = ClipTextModel::random(config, 5, at::kFloat, at::kCPU);
    fs::create_directories(dir.path() / "text_encoder");
    fs::create_directories(dir.path() / "tokenizer");
    write_safetensors((dir.path() / "text_encoder" / "model.safetensors").string(),
                      model.state_dict(ClipTextLayout::Diffusers));
    std::ofstream(dir.path() / "text_encoder" / "config.json") << config.to_json();
    for (const char* f : {"vocab.json", "merges.txt"})
        fs::copy_file(fs::path(ATTNSCOPE_ASSETS_SOURCE) / "clip-tokenizer" / f, dir.path() / "tokenizer" / f);

    const auto r = test::run_cli("text --model " + dir.path().string() +
                                 " --prompt 'a photo of a cat' --out " + dir.file("out.safetensors"));
    ASSERT_EQ(r.rc, 0) << r.output;
    const SafetensorsFile out(dir.file("out.safetensors"));
    const auto ids = ClipTokenizer(dir.path()).encode("a photo of a cat").ids;
    const auto expected_ids = at::tensor(ids, at::kLong).unsqueeze(0);
    EXPECT_TRUE(at::equal(out.load("input_ids"), expected_ids));
    EXPECT_TRUE(at::equal(out.load("encoder_hidden_states"), model.forward(expected_ids)));
    EXPECT_EQ(out.load("encoder_hidden_states").sizes(), (at::IntArrayRef{1, 77, 32}));
}

TEST(CliTextErrors, OneClearLineAndNoOutputFile) {
    test::TempDir dir;
    const std::string common =
        "text --model " + kData + "/text_encoder_v1_small --out " + dir.file("out.safetensors");
    auto r = test::run_cli(common);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("either --prompt"), std::string::npos) << r.output;

    write_safetensors(dir.file("in.safetensors"), {{"ids", at::zeros({1, 77}, at::kLong)}});
    r = test::run_cli(common + " --ids " + dir.file("in.safetensors"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("no tensor 'input_ids'"), std::string::npos) << r.output;

    write_safetensors(dir.file("in.safetensors"), {{"input_ids", at::zeros({1, 77})}});
    r = test::run_cli(common + " --ids " + dir.file("in.safetensors"));
    EXPECT_NE(r.output.find("'input_ids' is F32, expected an integer type"), std::string::npos) << r.output;

    r = test::run_cli("text --model " + dir.file("nothing") +
                      " --prompt x --tokenizer " ATTNSCOPE_ASSETS_SOURCE "/clip-tokenizer --out " +
                      dir.file("out.safetensors"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find(dir.file("nothing")), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("out.safetensors")));
}

} // namespace
} // namespace attnscope
