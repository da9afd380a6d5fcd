// The CLIP text encoder: a float64 loop reference for a tiny config, the three checkpoint layouts, load
// errors, and parity with transformers' CLIPTextModel on fixtures from tools/make_text_encoder_fixtures.py.
#include "test_util.h"
#include "text/clip_text_model.h"

#include <cmath>
#include <fstream>
#include <vector>

namespace attnscope {
namespace {

namespace fs = std::filesystem;

ClipTextConfig config(int vocab, int hidden, int layers, int heads, int intermediate, int positions,
                      ClipActivation act) {
    ClipTextConfig c;
    c.vocab_size = vocab;
    c.hidden_size = hidden;
    c.num_layers = layers;
    c.num_heads = heads;
    c.intermediate_size = intermediate;
    c.max_positions = positions;
    c.act = act;
    return c;
}

ClipTextConfig tiny_config(ClipActivation act) {
    return config(11, 4, 1, 2, 6, 5, act);
}

// Wide enough (128 = 2 heads of 64) that single files need no head count to load.
ClipTextConfig small_config(ClipActivation act) {
    return config(100, 128, 2, 2, 256, 77, act);
}

at::Tensor random_ids(int64_t batch, int64_t tokens, int64_t vocab, uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randint(vocab, {batch, tokens}, gen, at::TensorOptions().dtype(at::kLong));
}

// The whole forward pass in plain float64 loops, written straight from the model's definition.
std::vector<double> loop_reference(const ClipTextModel& m, const at::Tensor& ids) {
    const auto& c = m.config();
    const int H = c.hidden_size, I = c.intermediate_size, nh = c.num_heads, d = H / nh;
    const int64_t B = ids.size(0), T = ids.size(1);
    const auto W = [&](const std::string& n) {
        return m.weights()[n].to(at::kCPU, at::kDouble).contiguous();
    };
    using Mat = std::vector<std::vector<double>>; // (T, width)
    const auto linear = [&](const std::string& p, const Mat& x) {
        const auto w = W(p + ".weight"), b = W(p + ".bias");
        const auto wa = w.accessor<double, 2>();
        const auto ba = b.accessor<double, 1>();
        Mat y(x.size(), std::vector<double>(w.size(0)));
        for (std::size_t t = 0; t < x.size(); ++t)
            for (int64_t o = 0; o < w.size(0); ++o) {
                double s = ba[o];
                for (int64_t i = 0; i < w.size(1); ++i) s += wa[o][i] * x[t][i];
                y[t][o] = s;
            }
        return y;
    };
    const auto norm = [&](const std::string& p, const Mat& x) {
        const auto g = W(p + ".weight"), b = W(p + ".bias");
        Mat y = x;
        for (std::size_t t = 0; t < x.size(); ++t) {
            double mean = 0, var = 0;
            for (int i = 0; i < H; ++i) mean += x[t][i] / H;
            for (int i = 0; i < H; ++i) var += (x[t][i] - mean) * (x[t][i] - mean) / H;
            for (int i = 0; i < H; ++i)
                y[t][i] = (x[t][i] - mean) / std::sqrt(var + c.layer_norm_eps) * g[i].item<double>() +
                          b[i].item<double>();
        }
        return y;
    };
    std::vector<double> out;
    const auto tok_t = W("text_model.embeddings.token_embedding.weight");
    const auto pos_t = W("text_model.embeddings.position_embedding.weight");
    const auto tok = tok_t.accessor<double, 2>();
    const auto pos = pos_t.accessor<double, 2>();
    const auto ids_a = ids.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
        int64_t end = 0; // the row's first end token (0 without one)
        for (int64_t t = T - 1; t >= 0; --t)
            if (ids_a[b][t] == c.end_token()) end = t;
        Mat x(T, std::vector<double>(H));
        for (int64_t t = 0; t < T; ++t)
            for (int i = 0; i < H; ++i) x[t][i] = tok[ids_a[b][t]][i] + pos[t][i];
        for (int l = 0; l < c.num_layers; ++l) {
            const std::string p = "text_model.encoder.layers." + std::to_string(l) + ".";
            const auto h = norm(p + "layer_norm1", x);
            const auto q = linear(p + "self_attn.q_proj", h), k = linear(p + "self_attn.k_proj", h),
                       v = linear(p + "self_attn.v_proj", h);
            Mat attn(T, std::vector<double>(H, 0.0));
            for (int hd = 0; hd < nh; ++hd)
                for (int64_t i = 0; i < T; ++i) {
                    // Causal: keys up to the query only; else up to the end token as well.
                    const int64_t last = c.causal ? i : std::max(i, end);
                    std::vector<double> s(last + 1);
                    double mx = -1e300, z = 0;
                    for (int64_t j = 0; j <= last; ++j) {
                        double dot = 0;
                        for (int e = 0; e < d; ++e) dot += q[i][hd * d + e] * k[j][hd * d + e];
                        s[j] = dot / std::sqrt(static_cast<double>(d));
                        mx = std::max(mx, s[j]);
                    }
                    for (auto& sj : s) z += (sj = std::exp(sj - mx));
                    for (int64_t j = 0; j <= last; ++j)
                        for (int e = 0; e < d; ++e) attn[i][hd * d + e] += s[j] / z * v[j][hd * d + e];
                }
            const auto o = linear(p + "self_attn.out_proj", attn);
            for (int64_t t = 0; t < T; ++t)
                for (int i = 0; i < H; ++i) x[t][i] += o[t][i];
            auto f = linear(p + "mlp.fc1", norm(p + "layer_norm2", x));
            for (auto& row : f)
                for (int i = 0; i < I; ++i) {
                    const double u = row[i];
                    row[i] = c.act == ClipActivation::QuickGelu
                                 ? u / (1 + std::exp(-1.702 * u))
                                 : 0.5 * u * (1 + std::erf(u / std::sqrt(2.0)));
                }
            const auto g = linear(p + "mlp.fc2", f);
            for (int64_t t = 0; t < T; ++t)
                for (int i = 0; i < H; ++i) x[t][i] += g[t][i];
        }
        for (const auto& row : norm("text_model.final_layer_norm", x))
            out.insert(out.end(), row.begin(), row.end());
    }
    return out;
}

class ClipTextLoopReference : public ::testing::TestWithParam<ClipActivation> {};

TEST_P(ClipTextLoopReference, MatchesPlainLoopsInFloat64) {
    const auto model = ClipTextModel::random(tiny_config(GetParam()), 7, at::kDouble, at::kCPU);
    const auto ids = random_ids(2, 5, 11, 3);
    const auto out = model.forward(ids);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 5, 4}));
    auto ref = loop_reference(model, ids);
    const auto expected =
        at::from_blob(ref.data(), {2, 5, 4}, at::TensorOptions().dtype(at::kDouble)).clone();
    EXPECT_LT(test::rel_l2(out, expected), 1e-10);
    // Shorter inputs use the first positions only.
    const auto short_ids = ids.narrow(1, 0, 3).contiguous();
    EXPECT_LT(test::rel_l2(model.forward(short_ids), expected.narrow(1, 0, 3)), 1e-10);
}

TEST_P(ClipTextLoopReference, FloatAndBfloat16StayClose) {
    const auto ids = random_ids(2, 77, 100, 5);
    const auto ref = ClipTextModel::random(small_config(GetParam()), 1, at::kDouble, at::kCPU).forward(ids);
    const auto f32 = ClipTextModel::random(small_config(GetParam()), 1, at::kFloat, at::kCPU).forward(ids);
    EXPECT_EQ(f32.scalar_type(), at::kFloat);
    EXPECT_LT(test::rel_l2(f32, ref), 1e-5);
    const auto bf16 =
        ClipTextModel::random(small_config(GetParam()), 1, at::kBFloat16, at::kCPU).forward(ids);
    EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
    EXPECT_LT(test::rel_l2(bf16, ref), 5e-2);
}

INSTANTIATE_TEST_SUITE_P(Activations, ClipTextLoopReference,
                         ::testing::Values(ClipActivation::QuickGelu, ClipActivation::Gelu),
                         [](const auto& info) { return to_string(info.param); });

TEST(ClipTextModel, IsCausal) {
    const auto model =
        ClipTextModel::random(small_config(ClipActivation::QuickGelu), 2, at::kDouble, at::kCPU);
    const auto ids = random_ids(1, 77, 100, 9);
    const auto out = model.forward(ids);
    for (int64_t j : {0, 1, 40, 76}) {
        auto changed = ids.clone();
        changed[0][j] = (ids[0][j].item<int64_t>() + 1) % 100;
        const auto out2 = model.forward(changed);
        EXPECT_TRUE(at::equal(out.narrow(1, 0, j), out2.narrow(1, 0, j))) << "token " << j;
        EXPECT_FALSE(at::equal(out.narrow(1, j, 1), out2.narrow(1, j, 1))) << "token " << j;
    }
}

TEST(ClipTextModel, WithoutTheCausalMaskTheCaptionSeesItselfButNotThePadding) {
    auto c = tiny_config(ClipActivation::QuickGelu);
    c.causal = false;
    const auto model = ClipTextModel::random(c, 7, at::kDouble, at::kCPU);
    auto ids = random_ids(2, 5, 10, 3); // no end token (10) unless placed
    ids[0][2] = 10;                     // row 0: caption 0..2, padding 3..4; row 1: no end, causal
    auto ref = loop_reference(model, ids);
    const auto expected =
        at::from_blob(ref.data(), {2, 5, 4}, at::TensorOptions().dtype(at::kDouble)).clone();
    const auto out = model.forward(ids);
    EXPECT_LT(test::rel_l2(out, expected), 1e-10);
    const auto first_token_after = [&](int64_t row, int64_t j) {
        auto changed = ids.clone();
        changed[row][j] = (ids[row][j].item<int64_t>() + 1) % 10;
        return model.forward(changed)[row][0];
    };
    EXPECT_FALSE(at::equal(out[0][0], first_token_after(0, 1))); // a later word of the caption
    EXPECT_TRUE(at::equal(out[0][0], first_token_after(0, 4)));  // the padding
    EXPECT_TRUE(at::equal(out[1][0], first_token_after(1, 1)));  // no end token: causal
}

TEST(ClipTextConfig, TheCausalKeyIsWrittenOnlyWhenOff) {
    auto c = ClipTextConfig::sd1();
    EXPECT_EQ(c.to_json().find("causal"), std::string::npos);
    EXPECT_TRUE(clip_text_config_from_json(c.to_json(), "sd1").causal);
    c.causal = false;
    const auto back = clip_text_config_from_json(c.to_json(), "tiny");
    EXPECT_FALSE(back.causal);
    EXPECT_EQ(back, c);
    EXPECT_NE(back, ClipTextConfig::sd1());
    EXPECT_THROW(clip_text_config_from_json(R"({"causal": "no"})", "bad"), std::runtime_error);
}

TEST(ClipTextModel, PresetsAreTheStableDiffusionEncoders) {
    const auto v1 = ClipTextConfig::sd1();
    EXPECT_EQ(v1.hidden_size, 768);
    EXPECT_EQ(v1.num_layers, 12);
    EXPECT_EQ(v1.num_heads, 12);
    EXPECT_EQ(v1.act, ClipActivation::QuickGelu);
    const auto v2 = ClipTextConfig::sd2();
    EXPECT_EQ(v2.hidden_size, 1024);
    EXPECT_EQ(v2.num_layers, 23);
    EXPECT_EQ(v2.num_heads, 16);
    EXPECT_EQ(v2.intermediate_size, 4096);
    EXPECT_EQ(v2.act, ClipActivation::Gelu);
    EXPECT_EQ(clip_text_config_from_json(v2.to_json(), "v2"), v2);
    EXPECT_EQ(clip_text_parameters(v1).size(), 2u + 12u * 16u + 2u);
}

TEST(ClipTextModel, RejectsBadInputs) {
    const auto model = ClipTextModel::random(tiny_config(ClipActivation::Gelu), 1, at::kFloat, at::kCPU);
    ATTNSCOPE_EXPECT_THROW_WITH(model.forward(at::zeros({2, 6}, at::kLong)), std::invalid_argument,
                                "6 tokens");
    ATTNSCOPE_EXPECT_THROW_WITH(model.forward(at::full({1, 5}, 11, at::kLong)), std::invalid_argument,
                                "vocabulary of 11");
    ATTNSCOPE_EXPECT_THROW_WITH(model.forward(at::zeros({5}, at::kLong)), std::invalid_argument, "(5)");
    ATTNSCOPE_EXPECT_THROW_WITH(model.forward(at::zeros({1, 5})), std::invalid_argument, "integers");
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// One random model written in all three layouts; each must load to bitwise the same outputs.
class ClipTextLayouts : public ::testing::TestWithParam<ClipActivation> {};

TEST_P(ClipTextLayouts, AllLoadIdentically) {
    const auto config = small_config(GetParam());
    const auto model = ClipTextModel::random(config, 11, at::kFloat, at::kCPU);
    const auto ids = random_ids(2, 77, 100, 4);
    const auto expected = model.forward(ids);
    test::TempDir dir;
    fs::create_directories(dir.path() / "sd" / "text_encoder");
    write_safetensors(dir.file("sd/text_encoder/model.safetensors"),
                      model.state_dict(ClipTextLayout::Diffusers));
    write_text(dir.file("sd/text_encoder/config.json"), config.to_json());
    write_safetensors(dir.file("v1.safetensors"), model.state_dict(ClipTextLayout::LdmV1));
    write_safetensors(dir.file("bare.safetensors"), model.state_dict(ClipTextLayout::DiffusersUnprefixed));
    write_safetensors(dir.file("v2.safetensors"), model.state_dict(ClipTextLayout::OpenClip));
    EXPECT_EQ(model.state_dict(ClipTextLayout::OpenClip)
                  .count("cond_stage_model.model.transformer.resblocks.2.attn.in_proj_weight"),
              1u);

    // Single files record no activation: SD v1 ones are quick_gelu, SD v2 ones gelu.
    const bool v1_style = GetParam() == ClipActivation::QuickGelu;
    ClipTextLoadOptions given;
    given.config = config;
    const auto check = [&](const std::string& path, const ClipTextLoadOptions& options) {
        SCOPED_TRACE(path);
        const auto loaded = ClipTextModel::load(path, at::kFloat, at::kCPU, options);
        EXPECT_EQ(loaded.config(), config) << loaded.config().describe();
        EXPECT_EQ(loaded.weights().size(), model.weights().size());
        EXPECT_TRUE(at::equal(loaded.forward(ids), expected));
    };
    check(dir.file("sd"), {});
    check(dir.file("sd/text_encoder"), {});
    check(dir.file("sd/text_encoder/model.safetensors"), given);
    check(dir.file("bare.safetensors"), given);
    check(dir.file("v1.safetensors"), v1_style ? ClipTextLoadOptions{} : given);
    check(dir.file("v2.safetensors"), v1_style ? given : ClipTextLoadOptions{});

    // Without skipping, the OpenCLIP file's extra layer would run and change the result.
    ClipTextLoadOptions all_layers;
    all_layers.openclip_skipped_layers = 0;
    const auto unskipped = ClipTextModel::load(dir.file("v2.safetensors"), at::kFloat, at::kCPU, all_layers);
    EXPECT_EQ(unskipped.config().num_layers, 3);
    EXPECT_FALSE(at::equal(unskipped.forward(ids), expected));

    // Loading converts: a float64 load of the float32 file matches a float64 copy of the model.
    const auto f64 = ClipTextModel::load(dir.file("v1.safetensors"), at::kDouble, at::kCPU, given);
    EXPECT_EQ(f64.dtype(), at::kDouble);
    EXPECT_LT(test::rel_l2(f64.forward(ids), expected), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Activations, ClipTextLayouts,
                         ::testing::Values(ClipActivation::QuickGelu, ClipActivation::Gelu),
                         [](const auto& info) { return to_string(info.param); });

TEST(ClipTextLoadErrors, NameTheFileAndKey) {
    const auto config = small_config(ClipActivation::QuickGelu);
    const auto model = ClipTextModel::random(config, 1, at::kFloat, at::kCPU);
    test::TempDir dir;
    const auto load = [&](const std::string& path, ClipTextLoadOptions o = {}) {
        return ClipTextModel::load(path, at::kFloat, at::kCPU, o);
    };

    auto missing = model.state_dict(ClipTextLayout::LdmV1);
    const std::string fc2 = "cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc2.bias";
    ASSERT_EQ(missing.erase(fc2), 1u);
    write_safetensors(dir.file("missing.safetensors"), missing);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("missing.safetensors")), std::runtime_error,
                                "missing.safetensors: missing text encoder weight '" + fc2 + "'");

    auto wrong = model.state_dict(ClipTextLayout::Diffusers);
    const std::string q = "text_model.encoder.layers.0.self_attn.q_proj.weight";
    wrong[q] = at::zeros({128, 64});
    write_safetensors(dir.file("wrong.safetensors"), wrong);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("wrong.safetensors")), std::runtime_error,
                                "'" + q + "' has shape (128, 64), expected (128, 128)");

    auto stacked = model.state_dict(ClipTextLayout::OpenClip);
    const std::string in_proj = "cond_stage_model.model.transformer.resblocks.1.attn.in_proj_bias";
    stacked[in_proj] = at::zeros({128});
    write_safetensors(dir.file("v2.safetensors"), stacked);
    ClipTextLoadOptions given;
    given.config = config;
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("v2.safetensors"), given), std::runtime_error,
                                "'" + in_proj + "' has shape (128), expected (384)");

    auto ints = model.state_dict(ClipTextLayout::Diffusers);
    ints["text_model.final_layer_norm.bias"] = at::zeros({128}, at::kInt);
    write_safetensors(dir.file("ints.safetensors"), ints);
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("ints.safetensors")), std::runtime_error,
                                "'text_model.final_layer_norm.bias' is stored as I32");

    write_safetensors(dir.file("unet.safetensors"), {{"conv_in.weight", at::zeros({4, 4, 3, 3})}});
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("unet.safetensors")), std::runtime_error,
                                "does not hold a CLIP text encoder: found none of "
                                "'text_model.embeddings.token_embedding.weight'");
    try {
        load(dir.file("unet.safetensors"));
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("'conv_in.weight'"), std::string::npos) << e.what();
    }

    fs::create_directories(dir.path() / "te");
    write_safetensors(dir.file("te/model.safetensors"), model.state_dict(ClipTextLayout::Diffusers));
    auto bad_act = config;
    write_text(dir.file("te/config.json"), "{\"hidden_act\": \"relu\", \"hidden_size\": 128}");
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("te")), std::runtime_error, "unsupported hidden_act 'relu'");
    bad_act.num_heads = 3;
    write_text(dir.file("te/config.json"), bad_act.to_json());
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("te")), std::runtime_error,
                                "config.json: hidden_size 128 is not divisible by num_attention_heads 3");

    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("nowhere")), std::runtime_error, "nowhere: does not exist");
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.path().string()), std::runtime_error,
                                "without text_encoder/model.safetensors");
    test::write_bytes(dir.file("model.ckpt"), "x");
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("model.ckpt")), std::runtime_error, "pickled");

    // Narrow encoders need their head count given: 64 per head is only what released CLIPs use.
    auto narrow = ClipTextModel::random(tiny_config(ClipActivation::QuickGelu), 1, at::kFloat, at::kCPU);
    write_safetensors(dir.file("narrow.safetensors"), narrow.state_dict(ClipTextLayout::LdmV1));
    ATTNSCOPE_EXPECT_THROW_WITH(load(dir.file("narrow.safetensors")), std::runtime_error,
                                "give the head count explicitly");
    ClipTextLoadOptions heads;
    heads.num_heads = 2;
    EXPECT_EQ(load(dir.file("narrow.safetensors"), heads).config(), tiny_config(ClipActivation::QuickGelu));
}

// Parity with transformers' CLIPTextModel (fixtures from tools/make_text_encoder_fixtures.py).
class ClipTextParity : public ::testing::TestWithParam<std::string> {
  protected:
    fs::path data = ATTNSCOPE_TEST_DATA;
    fs::path folder() const { return data / ("text_encoder_" + GetParam() + "_small"); }
    fs::path io_path() const { return data / ("text_encoder_" + GetParam() + "_small_io.safetensors"); }

    void SetUp() override {
        if (!fs::is_directory(folder()) || !fs::is_regular_file(io_path()))
            GTEST_SKIP() << "no fixture " << folder() << " (make it with "
                         << "python3 tools/make_text_encoder_fixtures.py tests/data)";
    }

    void check(const ClipTextModel& model, at::ScalarType dtype, double tolerance) const {
        const SafetensorsFile io(io_path().string());
        const auto out = model.forward(io.load("input_ids"));
        const auto ref = io.load("last_hidden_state");
        ASSERT_EQ(out.sizes(), ref.sizes());
        EXPECT_EQ(out.scalar_type(), dtype);
        const double err = test::rel_l2(out, ref);
        EXPECT_LE(err, tolerance);
        std::printf("%s %s: rel L2 %.3g\n", GetParam().c_str(), c10::toString(dtype), err);
    }
};

TEST_P(ClipTextParity, DiffusersFolderMatchesTheReference) {
    for (const auto& [dtype, tol] : {std::pair{at::kDouble, 1e-10}, std::pair{at::kFloat, 1e-5}}) {
        const auto model = ClipTextModel::load(folder().string(), dtype, at::kCPU);
        EXPECT_EQ(model.config(), read_clip_text_config((folder() / "config.json").string()));
        check(model, dtype, tol);
    }
}

TEST_P(ClipTextParity, OpenClipFileTakesThePenultimateLayer) {
    const auto file = data / ("text_encoder_" + GetParam() + "_small_openclip.safetensors");
    if (!fs::is_regular_file(file)) GTEST_SKIP() << "no OpenCLIP fixture for " << GetParam();
    const auto config = read_clip_text_config((folder() / "config.json").string());
    ClipTextLoadOptions o;
    o.num_heads = config.num_heads; // the rest, layer count included, comes from the shapes
    for (const auto& [dtype, tol] : {std::pair{at::kDouble, 1e-10}, std::pair{at::kFloat, 1e-5}}) {
        const auto model = ClipTextModel::load(file.string(), dtype, at::kCPU, o);
        EXPECT_EQ(model.config(), config) << model.config().describe();
        check(model, dtype, tol);
    }
}

TEST_P(ClipTextParity, MatchesTheReferenceOnTheGpu) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    for (const auto& [dtype, tol] : {std::pair{at::kFloat, 1e-5}, std::pair{at::kHalf, 5e-3}}) {
        const auto model = ClipTextModel::load(folder().string(), dtype, at::kCUDA);
        check(model, dtype, tol);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ClipTextParity, ::testing::Values("v1", "v2"));

// SDXL's pair against transformers' CLIPTextModel and CLIPTextModelWithProjection in float64: both
// encoders' penultimate layers (which SDXL concatenates) and the second's projected pool, from a diffusers
// folder (text_encoder/, text_encoder_2/) and from an SDXL single file holding both.
TEST(SdxlTextEncoders, MatchTransformersFromBothLayouts) {
    const fs::path data = ATTNSCOPE_TEST_DATA;
    const SafetensorsFile io((data / "text_encoder_xl_small_io.safetensors").string());
    const auto ids = io.load("input_ids");
    ClipTextLoadOptions first, second;
    second.slot = TextEncoderSlot::Second;
    first.num_heads = second.num_heads = 4; // single files record no head count
    for (const auto& path :
         {data / "text_encoder_xl_small", data / "text_encoder_xl_small_sgm.safetensors"}) {
        SCOPED_TRACE(path.string());
        for (const auto& [dtype, tol] : {std::pair{at::kDouble, 1e-10}, std::pair{at::kFloat, 1e-5}}) {
            const auto a = ClipTextModel::load(path.string(), dtype, at::kCPU, first).encode(ids);
            const auto b = ClipTextModel::load(path.string(), dtype, at::kCPU, second).encode(ids);
            EXPECT_LT(test::rel_l2(a.penultimate, io.load("te1.penultimate")), tol);
            EXPECT_LT(test::rel_l2(a.last_hidden_state, io.load("te1.last_hidden_state")), tol);
            EXPECT_FALSE(a.text_embeds.defined()); // the first encoder has no projection
            EXPECT_LT(test::rel_l2(b.penultimate, io.load("te2.penultimate")), tol);
            EXPECT_LT(test::rel_l2(b.last_hidden_state, io.load("te2.last_hidden_state")), tol);
            EXPECT_LT(test::rel_l2(b.text_embeds, io.load("te2.text_embeds")), tol);
            std::printf("%s %s: te2 text_embeds rel L2 %.3g\n", path.filename().c_str(), c10::toString(dtype),
                        test::rel_l2(b.text_embeds, io.load("te2.text_embeds")));
        }
    }
}

// The second slot refuses what has no second encoder, naming what it looked for.
TEST(SdxlTextEncoders, ASecondEncoderThatIsNotThereIsNamed) {
    const fs::path data = ATTNSCOPE_TEST_DATA;
    ClipTextLoadOptions second;
    second.slot = TextEncoderSlot::Second;
    ATTNSCOPE_EXPECT_THROW_WITH(
        ClipTextModel::load((data / "text_encoder_v2_small_openclip.safetensors").string(), at::kFloat,
                            at::kCPU, second),
        std::runtime_error, "does not hold SDXL's second text encoder");
    ATTNSCOPE_EXPECT_THROW_WITH(
        ClipTextModel::load((data / "pipeline_v1_small").string(), at::kFloat, at::kCPU, second),
        std::runtime_error, "text_encoder_2");
}

} // namespace
} // namespace attnscope
