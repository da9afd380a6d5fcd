// LoRA (core/model/lora.h) against merged weights computed here in float64: random LoRA files for a small SD
// v1 U-Net and text encoder, in kohya-ss and diffusers/PEFT naming, applied unmerged, must give what the
// model with W + scale * alpha / rank * up @ down gives; the scale changes live; files for another model are
// refused with the first key that does not fit, before anything changes.
#include "io/safetensors_file.h"
#include "model/lora.h"
#include "scratch_dir.h"
#include "small_models.h"
#include "test_util.h"

#include <atomic>
#include <cmath>
#include <memory>

namespace attnscope {
namespace {

ClipTextConfig small_text_config() {
    ClipTextConfig c;
    c.vocab_size = 64;
    c.hidden_size = 32; // small_v1_config's cross_attention_dim
    c.num_layers = 2;
    c.num_heads = 4;
    c.intermediate_size = 48;
    c.max_positions = 77;
    return c;
}

// One layer a test LoRA updates: the model's layer, the file's flat (kohya) name, rank and alpha (0: none
// in the file).
struct Target {
    bool unet;
    std::string module;
    int rank;
    double alpha;
};

const std::vector<Target>& targets() {
    static const std::vector<Target> t = {
        {true, "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", 4, 2.0}, // linear
        {true, "mid_block.attentions.0.transformer_blocks.0.attn2.to_k", 2, 0},       // linear, no alpha
        {true, "up_blocks.1.attentions.2.proj_in", 3, 6.0},                           // 1x1 convolution
        {true, "down_blocks.1.resnets.0.conv1", 2, 1.0},                              // 3x3 (LoCon)
        {false, "text_model.encoder.layers.1.self_attn.q_proj", 4, 8.0}};             // text encoder
    return t;
}

struct Models {
    UNet unet = UNet::random(test::small_v1_config(), 11, at::kDouble, at::kCPU);
    ClipTextModel text = ClipTextModel::random(small_text_config(), 12, at::kDouble, at::kCPU);
};

// Random down/up for every target, as float32 the way files keep them.
std::map<std::string, std::pair<at::Tensor, at::Tensor>> random_updates(const Models& m) {
    at::manual_seed(5);
    std::map<std::string, std::pair<at::Tensor, at::Tensor>> updates;
    for (const auto& t : targets()) {
        const auto& w = (t.unet ? m.unet.weights() : m.text.weights())[t.module + ".weight"];
        auto down_shape = w.sizes().vec(), up_shape = w.sizes().vec();
        down_shape[0] = t.rank;
        up_shape[1] = t.rank;
        for (size_t d = 2; d < up_shape.size(); ++d) up_shape[d] = 1;
        updates[t.module] = {at::randn(down_shape) * 0.3, at::randn(up_shape) * 0.3};
    }
    return updates;
}

std::string flat(std::string s) {
    for (auto& c : s)
        if (c == '.') c = '_';
    return s;
}

std::string write_lora(const test::TempDir& dir, const std::string& name, const Models& m, bool kohya) {
    TensorMap tensors;
    const auto updates = random_updates(m);
    for (const auto& t : targets()) {
        const auto& [down, up] = updates.at(t.module);
        const std::string base = kohya ? (t.unet ? "lora_unet_" : "lora_te_") + flat(t.module)
                                       : (t.unet ? "unet." : "text_encoder.") + t.module;
        tensors[base + (kohya ? ".lora_down.weight" : ".lora_A.weight")] = down;
        tensors[base + (kohya ? ".lora_up.weight" : ".lora_B.weight")] = up;
        if (t.alpha > 0) tensors[base + ".alpha"] = at::tensor(t.alpha, at::kFloat);
    }
    write_safetensors(dir.file(name), tensors);
    return dir.file(name);
}

// The base weights with each target merged in float64: W + scale * alpha / rank * up @ down.
Models merged(const Models& base, double scale) {
    Weights unet = base.unet.weights(), text = base.text.weights();
    const auto updates = random_updates(base);
    for (const auto& t : targets()) {
        auto& w = t.unet ? unet : text;
        const auto W = w[t.module + ".weight"];
        const auto& [down, up] = updates.at(t.module);
        const double factor = (t.alpha > 0 ? t.alpha : t.rank) / t.rank;
        const auto delta =
            at::matmul(up.to(at::kDouble).flatten(1), down.to(at::kDouble).flatten(1)).view(W.sizes());
        w.set(t.module + ".weight", W + scale * factor * delta);
    }
    return {UNet(base.unet.config(), unet), ClipTextModel(base.text.config(), text)};
}

at::Tensor unet_out(const UNet& u) {
    at::manual_seed(3);
    const auto x = at::randn({2, 4, 16, 16}, at::kDouble);
    const auto ctx = at::randn({2, 77, 32}, at::kDouble);
    AttentionRouter router;
    router.set_default_backend("math");
    return u.forward(x, at::tensor(500.0, at::kDouble), ctx, router);
}

at::Tensor text_out(const ClipTextModel& t) {
    return t.forward(at::arange(0, 77, at::kLong).remainder(64).unsqueeze(0));
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

TEST(Lora, UnmergedEqualsTheMergedWeightsAndItsScaleChangesLive) {
    test::TempDir dir;
    Models base;
    const auto path = write_lora(dir, "kohya.safetensors", base, true);
    Models adapted{UNet(base.unet.config(), base.unet.weights()),
                   ClipTextModel(base.text.config(), base.text.weights())};
    const auto lora = read_lora(path, adapted.unet, adapted.text);
    ASSERT_EQ(lora.layers.size(), targets().size());
    auto scale = std::make_shared<std::atomic<double>>(0.75);
    apply_lora(lora, adapted.unet, adapted.text, scale);

    for (const double s : {0.75, -1.5, 0.0}) {
        scale->store(s);
        const auto reference = merged(base, s);
        EXPECT_LT(max_diff(unet_out(adapted.unet), unet_out(reference.unet)), 1e-10) << "scale " << s;
        EXPECT_LT(max_diff(text_out(adapted.text), text_out(reference.text)), 1e-10) << "scale " << s;
    }
    // Scale 0 is the base model, and the LoRA moved the output at all.
    EXPECT_EQ(max_diff(unet_out(adapted.unet), unet_out(base.unet)), 0.0);
    scale->store(1.0);
    EXPECT_GT(max_diff(unet_out(adapted.unet), unet_out(base.unet)), 1e-3);
}

TEST(Lora, BothNamingsFindTheSameLayers) {
    test::TempDir dir;
    const Models m;
    const auto kohya = read_lora(write_lora(dir, "kohya.safetensors", m, true), m.unet, m.text);
    const auto peft = read_lora(write_lora(dir, "peft.safetensors", m, false), m.unet, m.text);
    ASSERT_EQ(kohya.layers.size(), peft.layers.size());
    std::map<std::string, const LoraLayer*> by_module;
    for (const auto& l : kohya.layers) by_module[l.module] = &l;
    for (const auto& t : targets()) {
        ASSERT_TRUE(by_module.count(t.module)) << t.module;
        const auto& l = *by_module[t.module];
        EXPECT_EQ(l.model, t.unet ? LoraModel::UNet : LoraModel::TextEncoder) << t.module;
        EXPECT_DOUBLE_EQ(l.factor(), (t.alpha > 0 ? t.alpha : t.rank) / t.rank) << t.module;
        EXPECT_EQ(l.key, (t.unet ? "lora_unet_" : "lora_te_") + flat(t.module) + ".lora_down.weight");
    }
    for (const auto& l : peft.layers) {
        ASSERT_TRUE(by_module.count(l.module)) << l.module;
        EXPECT_TRUE(at::equal(l.down, by_module[l.module]->down)) << l.module;
        EXPECT_TRUE(at::equal(l.up, by_module[l.module]->up)) << l.module;
        EXPECT_DOUBLE_EQ(l.alpha, by_module[l.module]->alpha) << l.module;
    }
}

TEST(Lora, AFileForAnotherModelIsRefusedWithItsFirstKeyThatDoesNotFit) {
    test::TempDir dir;
    Models m;
    const auto refused = [&](const TensorMap& tensors) {
        write_safetensors(dir.file("bad.safetensors"), tensors);
        return error_of([&] { read_lora(dir.file("bad.safetensors"), m.unet, m.text); });
    };
    const auto pair = [](const std::string& base, at::Tensor down, at::Tensor up) {
        return TensorMap{{base + ".lora_down.weight", down}, {base + ".lora_up.weight", up}};
    };
    const std::string q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
    // SD v2's cross-attention keys read 1024-wide contexts; this U-Net's read 32.
    auto e = refused(pair("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k",
                          at::zeros({4, 1024}), at::zeros({64, 4})));
    EXPECT_NE(
        e.find("bad.safetensors: 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k."
               "lora_down.weight' does not fit: layer 'mid_block.attentions.0.transformer_blocks.0.attn2."
               "to_k' has weight [64, 32]"),
        std::string::npos)
        << e;
    e = refused(pair("lora_unet_down_blocks_7_attentions_0_proj_in", at::zeros({4, 32}), at::zeros({32, 4})));
    EXPECT_NE(e.find("'lora_unet_down_blocks_7_attentions_0_proj_in.lora_down.weight' names no layer of this "
                     "model's U-Net"),
              std::string::npos)
        << e;
    e = refused(pair("lora_te2_text_model_encoder_layers_0_self_attn_q_proj", at::zeros({4, 32}),
                     at::zeros({32, 4})));
    EXPECT_NE(e.find("lora_te2_ is SDXL's second text encoder"), std::string::npos) << e;
    e = refused({{"model.diffusion_model.input_blocks.0.0.weight", at::zeros({4})}});
    EXPECT_NE(e.find("'model.diffusion_model.input_blocks.0.0.weight' is not a LoRA weight"),
              std::string::npos)
        << e;
    e = refused({{q + ".lora_down.weight", at::zeros({4, 32})}});
    EXPECT_NE(e.find("has no up matrix beside it"), std::string::npos) << e;
    auto nan_alpha = pair(q, at::zeros({4, 32}), at::zeros({32, 4}));
    nan_alpha[q + ".alpha"] = at::tensor(std::nanf(""));
    e = refused(nan_alpha);
    EXPECT_NE(e.find("'" + q + ".alpha' should hold one finite number, the layer's alpha"), std::string::npos)
        << e;
    // The first key in the file's order is named, and nothing was added to the model.
    auto both = pair(q, at::zeros({4, 32}), at::zeros({32, 4}));
    both["lora_unet_zzz.lora_down.weight"] = at::zeros({4, 32});
    both["lora_unet_aaa.lora_down.weight"] = at::zeros({4, 32});
    e = refused(both);
    EXPECT_NE(e.find("'lora_unet_aaa.lora_down.weight' names no layer"), std::string::npos) << e;
    EXPECT_EQ(m.unet.weights().adapters("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"),
              nullptr);
}

} // namespace
} // namespace attnscope
