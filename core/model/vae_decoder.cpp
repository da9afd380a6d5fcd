#include "vae_decoder.h"

#include "io/component_files.h"
#include "io/json_text.h"
#include "model/nn.h"
#include "util/shape_string.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <stdexcept>
#include <torch/version.h>

namespace attnscope {

namespace {

// SD's VAE normalizes with eps 1e-6 everywhere (GroupNorm's default 1e-5 would differ in fp64).
constexpr double kNormEps = 1e-6;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

// A module's name in diffusers and in the original checkpoint.
struct Names {
    std::string diffusers, ldm;
    Names operator/(const std::string& child) const { return {diffusers + "." + child, ldm + "." + child}; }
};

class ParamList {
  public:
    void conv(const Names& p, int64_t out, int64_t in, int64_t kernel) {
        add(p, "weight", {out, in, kernel, kernel});
        add(p, "bias", {out});
    }
    void norm(const Names& p, int64_t channels) {
        add(p, "weight", {channels});
        add(p, "bias", {channels});
    }
    void resnet(const Names& p, int64_t in, int64_t out) {
        norm(p / "norm1", in);
        conv(p / "conv1", out, in, 3);
        norm(p / "norm2", out);
        conv(p / "conv2", out, out, 3);
        if (in != out) conv({p.diffusers + ".conv_shortcut", p.ldm + ".nin_shortcut"}, out, in, 1);
    }
    // Single-head self-attention over all pixels. diffusers renamed its projections once; LDM stores them
    // as 1x1 convolutions.
    void attention(const Names& p, int64_t channels) {
        norm({p.diffusers + ".group_norm", p.ldm + ".norm"}, channels);
        const char* projections[][3] = {{"to_q", "query", "q"},
                                        {"to_k", "key", "k"},
                                        {"to_v", "value", "v"},
                                        {"to_out.0", "proj_attn", "proj_out"}};
        for (const auto& [name, legacy, ldm] : projections) {
            const Names n{p.diffusers + "." + name, p.ldm + "." + ldm};
            const std::string old = p.diffusers + "." + legacy;
            params_.push_back(
                {n.diffusers + ".weight", old + ".weight", n.ldm + ".weight", {channels, channels}, true});
            params_.push_back({n.diffusers + ".bias", old + ".bias", n.ldm + ".bias", {channels}, false});
        }
    }
    std::vector<VaeParam> take() { return std::move(params_); }

  private:
    void add(const Names& p, const std::string& leaf, std::vector<int64_t> shape) {
        const auto name = p.diffusers + "." + leaf;
        params_.push_back({name, name, p.ldm + "." + leaf, std::move(shape), false});
    }
    std::vector<VaeParam> params_;
};

// The decoder's up block `i` (0 = first run, at the lowest resolution) of `levels`: diffusers counts them in
// decoding order, the original checkpoint in encoder order.
Names up_block(int i, int levels) {
    return {"decoder.up_blocks." + std::to_string(i), "decoder.up." + std::to_string(levels - 1 - i)};
}

enum class VaeLayout { Diffusers, DiffusersLegacy, Ldm };

struct VaeFileLayout {
    VaeLayout layout = VaeLayout::Diffusers;
    std::string prefix; // "first_stage_model." or "" (LDM)

    std::string key(const VaeParam& p) const {
        switch (layout) {
        case VaeLayout::Diffusers:
            return p.name;
        case VaeLayout::DiffusersLegacy:
            return p.legacy;
        case VaeLayout::Ldm:
            return prefix + p.ldm;
        }
        throw std::logic_error("unknown VaeLayout");
    }
};

const std::string kLdmMarker = "decoder.mid.block_1.conv1.weight";
const std::string kDiffusersMarker = "decoder.mid_block.resnets.0.conv1.weight";

VaeFileLayout detect_layout(const SafetensorsFile& f) {
    if (f.contains(kLdmVaePrefix + kLdmMarker)) return {VaeLayout::Ldm, kLdmVaePrefix};
    if (f.contains(kLdmMarker)) return {VaeLayout::Ldm, ""};
    if (f.contains(kDiffusersMarker))
        return {f.contains("decoder.mid_block.attentions.0.query.weight") ? VaeLayout::DiffusersLegacy
                                                                          : VaeLayout::Diffusers,
                ""};
    if (f.contains("decoder.layers.0.weight") || f.contains("1.weight"))
        fail(f.path(), "holds a TAESD decoder, not the Stable Diffusion VAE: load it as TAESD");
    std::string first;
    for (const auto& t : f.header().tensors) {
        if (first.size() > 200) break;
        first += (first.empty() ? "'" : ", '") + t.name + "'";
    }
    fail(f.path(), "does not hold a Stable Diffusion VAE decoder: found none of '" + kDiffusersMarker +
                       "' (diffusers), '" + kLdmVaePrefix + kLdmMarker + "' (original checkpoint), '" +
                       kLdmMarker + "' (stand-alone original VAE); " +
                       (first.empty() ? "it holds no tensors" : "it holds " + first + ", ..."));
}

VaeConfig infer_vae_config(const SafetensorsFile& f, const VaeFileLayout& layout) {
    const bool ldm = layout.layout == VaeLayout::Ldm;
    const auto key = [&](const std::string& diffusers, const std::string& original) {
        return ldm ? layout.prefix + original : diffusers;
    };
    const auto dim0 = [&](const std::string& k) {
        const auto* e = f.header().find(k);
        if (!e || e->shape.empty()) fail(f.path(), "cannot infer the VAE config: no tensor '" + k + "'");
        return static_cast<int>(e->shape[0]);
    };
    const auto s = [](int i) { return std::to_string(i); };
    int levels = 0;
    while (f.contains(ldm ? layout.prefix + "decoder.up." + s(levels) + ".block.0.conv1.weight"
                          : "decoder.up_blocks." + s(levels) + ".resnets.0.conv1.weight"))
        ++levels;
    if (levels == 0) fail(f.path(), "cannot find the VAE decoder's up blocks");

    VaeConfig c;
    c.block_out_channels.clear();
    for (int level = 0; level < levels; ++level) {
        const auto up = up_block(levels - 1 - level, levels);
        c.block_out_channels.push_back(
            dim0(key(up.diffusers + ".resnets.0.conv1.weight", up.ldm + ".block.0.conv1.weight")));
    }
    const auto first = up_block(0, levels);
    int resnets = 0;
    while (f.contains(key(first.diffusers + ".resnets." + s(resnets) + ".conv1.weight",
                          first.ldm + ".block." + s(resnets) + ".conv1.weight")))
        ++resnets;
    c.layers_per_block = resnets - 1;
    c.latent_channels = dim0(key("post_quant_conv.weight", "post_quant_conv.weight"));
    c.out_channels = dim0(key("decoder.conv_out.weight", "decoder.conv_out.weight"));
    try {
        c.validate();
    } catch (const std::invalid_argument& e) {
        fail(f.path(), std::string("inferred an unusable VAE config: ") + e.what() +
                           " (the file does not record norm groups; SD's 32 was assumed: give the model's "
                           "vae/config.json)");
    }
    return c;
}

at::Tensor single_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
    return at::scaled_dot_product_attention(q, k, v);
#else
    // LibTorch 1.13's private entry point computes the softmax in the inputs' dtype; keep it in fp32.
    const bool low = q.scalar_type() == at::kHalf || q.scalar_type() == at::kBFloat16;
    const auto up = [&](const at::Tensor& t) { return low ? t.to(at::kFloat) : t; };
    const auto o = std::get<0>(at::_scaled_dot_product_attention(up(q), up(k), up(v), {}, 0.0, false, false));
    return o.to(q.scalar_type());
#endif
}

} // namespace

std::vector<VaeParam> vae_decoder_parameters(const VaeConfig& c) {
    c.validate();
    const int levels = c.levels();
    const int64_t top = c.block_out_channels.back(), latent = c.latent_channels;
    ParamList p;
    p.conv({"post_quant_conv", "post_quant_conv"}, latent, latent, 1);
    p.conv({"decoder.conv_in", "decoder.conv_in"}, top, latent, 3);
    p.resnet({"decoder.mid_block.resnets.0", "decoder.mid.block_1"}, top, top);
    p.attention({"decoder.mid_block.attentions.0", "decoder.mid.attn_1"}, top);
    p.resnet({"decoder.mid_block.resnets.1", "decoder.mid.block_2"}, top, top);
    int64_t in = top;
    for (int i = 0; i < levels; ++i) {
        const auto up = up_block(i, levels);
        const int64_t out = c.block_out_channels[levels - 1 - i];
        for (int r = 0; r <= c.layers_per_block; ++r)
            p.resnet({up.diffusers + ".resnets." + std::to_string(r), up.ldm + ".block." + std::to_string(r)},
                     r == 0 ? in : out, out);
        if (i + 1 < levels)
            p.conv({up.diffusers + ".upsamplers.0.conv", up.ldm + ".upsample.conv"}, out, out, 3);
        in = out;
    }
    p.norm({"decoder.conv_norm_out", "decoder.norm_out"}, c.block_out_channels.front());
    p.conv({"decoder.conv_out", "decoder.conv_out"}, c.out_channels, c.block_out_channels.front(), 3);
    return p.take();
}

VaeDecoder::VaeDecoder(VaeConfig config, Weights weights)
    : config_(std::move(config)), weights_(std::move(weights)), dtype_(at::kFloat), device_(at::kCPU) {
    for (const auto& spec : vae_decoder_parameters(config_)) {
        if (!weights_.contains(spec.name))
            throw std::invalid_argument("VAE weight '" + spec.name + "' is missing");
        const auto& t = weights_[spec.name];
        if (t.sizes() != at::IntArrayRef(spec.shape))
            throw std::invalid_argument("VAE weight '" + spec.name + "' has shape " +
                                        shape_string(t.sizes()) + ", expected " + shape_string(spec.shape) +
                                        " for " + config_.describe());
    }
    const auto& first = weights_["post_quant_conv.weight"];
    dtype_ = first.scalar_type();
    device_ = first.device();
}

VaeDecoder VaeDecoder::random(const VaeConfig& config, uint64_t seed, at::ScalarType dtype,
                              at::Device device) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto randn = [&](at::IntArrayRef shape) {
        return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
    };
    Weights w;
    for (const auto& spec : vae_decoder_parameters(config)) {
        const bool is_bias = spec.name.size() > 5 && spec.name.compare(spec.name.size() - 5, 5, ".bias") == 0;
        at::Tensor t;
        if (is_bias) {
            t = 0.05 * randn(spec.shape);
        } else if (spec.shape.size() == 1) { // a norm's scale
            t = 1.0 + 0.1 * randn(spec.shape);
        } else {
            int64_t fan_in = 1;
            for (std::size_t i = 1; i < spec.shape.size(); ++i) fan_in *= spec.shape[i];
            t = randn(spec.shape) / std::sqrt(static_cast<double>(fan_in));
        }
        w.set(spec.name, t.to(device, dtype));
    }
    return VaeDecoder(config, std::move(w));
}

VaeDecoder VaeDecoder::load(const std::string& path, at::ScalarType dtype, at::Device device,
                            std::optional<VaeConfig> config) {
    const auto files = locate_component(
        path, {"vae",
               {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"},
               "diffusion_pytorch_model.bin",
               "VAE"});
    const SafetensorsFile f(files.weights.string());
    const auto layout = detect_layout(f);

    std::string source;
    if (config) {
        config->validate();
        source = "given by the caller";
    } else if (files.config_json) {
        config = vae_config_from_json(read_config_text(*files.config_json), files.config_json->string());
        source = files.config_json->string();
    } else {
        config = infer_vae_config(f, layout);
        source = "inferred from weight shapes";
    }

    // Check everything before reading anything, so a bad file fails fast and names what is wrong.
    const auto specs = vae_decoder_parameters(*config);
    for (const auto& spec : specs) {
        const auto key = layout.key(spec);
        const auto* e = f.header().find(key);
        const std::string context = " for " + config->describe() + " (config " + source + ")";
        if (!e)
            fail(f.path(), "missing VAE weight '" + key + "'" +
                               (key == spec.name ? "" : " (diffusers name '" + spec.name + "')") + context);
        auto as_conv = spec.shape;
        as_conv.insert(as_conv.end(), {1, 1});
        if (e->shape != spec.shape && !(spec.projection && e->shape == as_conv))
            fail(f.path(),
                 "VAE weight '" + key + "' has shape " + shape_string(e->shape) + ", expected " +
                     shape_string(layout.layout == VaeLayout::Ldm && spec.projection ? as_conv : spec.shape) +
                     context);
        if (!is_floating(e->dtype))
            fail(f.path(), "VAE weight '" + key + "' is stored as " + std::string(dtype_name(e->dtype)) +
                               ", expected a floating-point type");
    }
    Weights w;
    for (const auto& spec : specs)
        w.set(spec.name, f.load(layout.key(spec), dtype, device).reshape(spec.shape));
    return VaeDecoder(*config, std::move(w));
}

at::Tensor VaeDecoder::resnet(const std::string& p, const at::Tensor& x) const {
    const auto& w = weights_;
    const int64_t g = config_.norm_num_groups;
    auto h = nn::conv2d(w, p + ".conv1", at::silu(nn::group_norm(w, p + ".norm1", x, g, kNormEps)));
    h = nn::conv2d(w, p + ".conv2", at::silu(nn::group_norm(w, p + ".norm2", h, g, kNormEps)));
    const bool project = w.contains(p + ".conv_shortcut.weight");
    return (project ? nn::conv2d(w, p + ".conv_shortcut", x) : x) + h;
}

at::Tensor VaeDecoder::mid_attention(const at::Tensor& x) const {
    const std::string p = "decoder.mid_block.attentions.0";
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const auto s = nn::group_norm(weights_, p + ".group_norm", x, config_.norm_num_groups, kNormEps)
                       .view({b, c, h * w})
                       .transpose(1, 2); // (B, HW, C): one token per pixel, one head as wide as the channels
    const auto project = [&](const char* name) {
        return nn::linear(weights_, p + "." + name, s).unsqueeze(1);
    };
    const auto o = single_head_attention(project("to_q"), project("to_k"), project("to_v")).squeeze(1);
    return x + nn::linear(weights_, p + ".to_out.0", o).transpose(1, 2).reshape({b, c, h, w});
}

at::Tensor VaeDecoder::decode(const at::Tensor& latents) const {
    if (latents.dim() != 4 || latents.size(1) != config_.latent_channels)
        throw std::invalid_argument("latents must be (B, " + std::to_string(config_.latent_channels) +
                                    ", h, w), got " + shape_string(latents.sizes()));
    if (!at::isFloatingType(latents.scalar_type()))
        throw std::invalid_argument("latents must be floating point, got " +
                                    std::string(c10::toString(latents.scalar_type())));
    if (device_.is_cpu() && dtype_ == at::kHalf)
        throw std::invalid_argument("float16 VAE decoding needs CUDA; on the CPU use float32 or bfloat16");

    const auto& w = weights_;
    const int levels = config_.levels();
    const auto z = latents.to(device_, dtype_) / config_.scaling_factor; // back to the VAE's own latent scale
    auto h = nn::conv2d(w, "decoder.conv_in", nn::conv2d(w, "post_quant_conv", z));
    h = resnet("decoder.mid_block.resnets.0", h);
    h = mid_attention(h);
    h = resnet("decoder.mid_block.resnets.1", h);
    for (int i = 0; i < levels; ++i) {
        const auto up = up_block(i, levels).diffusers;
        for (int r = 0; r <= config_.layers_per_block; ++r)
            h = resnet(up + ".resnets." + std::to_string(r), h);
        if (i + 1 < levels) {
            h = at::upsample_nearest2d(h, {2 * h.size(2), 2 * h.size(3)}, c10::nullopt, c10::nullopt);
            h = nn::conv2d(w, up + ".upsamplers.0.conv", h);
        }
    }
    h = at::silu(nn::group_norm(w, "decoder.conv_norm_out", h, config_.norm_num_groups, kNormEps));
    return nn::conv2d(w, "decoder.conv_out", h);
}

TensorMap VaeDecoder::state_dict_ldm() const {
    TensorMap out;
    for (const auto& spec : vae_decoder_parameters(config_)) {
        const auto& t = weights_[spec.name];
        out[kLdmVaePrefix + spec.ldm] = spec.projection ? t.reshape({spec.shape[0], spec.shape[1], 1, 1}) : t;
    }
    return out;
}

} // namespace attnscope
