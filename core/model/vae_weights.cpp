#include "vae_weights.h"

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

// The encoder's down block `i` (0 = first, at full resolution): the same numbering in both layouts.
Names down_block(int i) {
    return {"encoder.down_blocks." + std::to_string(i), "encoder.down." + std::to_string(i)};
}

void decoder_parameters(const VaeConfig& c, ParamList& p) {
    const int levels = c.levels();
    const int64_t top = c.block_out_channels.back(), latent = c.latent_channels;
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
}

// diffusers' Encoder with double_z: the image's channels are the decoder's out_channels (AutoencoderKL keeps
// in_channels equal to them for every SD VAE).
void encoder_parameters(const VaeConfig& c, ParamList& p) {
    const int levels = c.levels();
    const int64_t top = c.block_out_channels.back(), moments = 2 * c.latent_channels;
    p.conv({"encoder.conv_in", "encoder.conv_in"}, c.block_out_channels.front(), c.out_channels, 3);
    int64_t in = c.block_out_channels.front();
    for (int i = 0; i < levels; ++i) {
        const auto down = down_block(i);
        const int64_t out = c.block_out_channels[i];
        for (int r = 0; r < c.layers_per_block; ++r)
            p.resnet(
                {down.diffusers + ".resnets." + std::to_string(r), down.ldm + ".block." + std::to_string(r)},
                r == 0 ? in : out, out);
        if (i + 1 < levels)
            p.conv({down.diffusers + ".downsamplers.0.conv", down.ldm + ".downsample.conv"}, out, out, 3);
        in = out;
    }
    p.resnet({"encoder.mid_block.resnets.0", "encoder.mid.block_1"}, top, top);
    p.attention({"encoder.mid_block.attentions.0", "encoder.mid.attn_1"}, top);
    p.resnet({"encoder.mid_block.resnets.1", "encoder.mid.block_2"}, top, top);
    p.norm({"encoder.conv_norm_out", "encoder.norm_out"}, top);
    p.conv({"encoder.conv_out", "encoder.conv_out"}, moments, top, 3);
    p.conv({"quant_conv", "quant_conv"}, moments, moments, 1);
}

const char* part_name(VaePart part) {
    return part == VaePart::Decoder ? "decoder" : "encoder";
}

} // namespace

std::vector<VaeParam> vae_parameters(const VaeConfig& c, VaePart part) {
    c.validate();
    ParamList p;
    if (part == VaePart::Decoder)
        decoder_parameters(c, p);
    else
        encoder_parameters(c, p);
    return p.take();
}

void check_vae_weights(const VaeConfig& config, VaePart part, const Weights& weights) {
    for (const auto& spec : vae_parameters(config, part)) {
        if (!weights.contains(spec.name))
            throw std::invalid_argument("VAE weight '" + spec.name + "' is missing");
        const auto& t = weights[spec.name];
        if (t.sizes() != at::IntArrayRef(spec.shape))
            throw std::invalid_argument("VAE weight '" + spec.name + "' has shape " +
                                        shape_string(t.sizes()) + ", expected " + shape_string(spec.shape) +
                                        " for " + config.describe());
    }
}

Weights random_vae_weights(const VaeConfig& config, VaePart part, uint64_t seed, at::ScalarType dtype,
                           at::Device device) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto randn = [&](at::IntArrayRef shape) {
        return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
    };
    Weights w;
    for (const auto& spec : vae_parameters(config, part)) {
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
    return w;
}

VaeHalf load_vae_half(const std::string& path, VaePart part, at::ScalarType dtype, at::Device device,
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
    const auto specs = vae_parameters(*config, part);
    if (part == VaePart::Encoder && !f.header().find(layout.key(specs.front())))
        fail(f.path(), "holds the VAE's decoder but not its encoder (no '" + layout.key(specs.front()) +
                           "'): starting from an image needs the encoder; give a VAE file that has both");
    for (const auto& spec : specs) {
        const auto key = layout.key(spec);
        const auto* e = f.header().find(key);
        const std::string context = " for " + config->describe() + " (config " + source + ")";
        if (!e)
            fail(f.path(), "missing VAE " + std::string(part_name(part)) + " weight '" + key + "'" +
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
    return {*config, std::move(w)};
}

TensorMap vae_state_dict_ldm(const VaeConfig& config, VaePart part, const Weights& weights) {
    TensorMap out;
    for (const auto& spec : vae_parameters(config, part)) {
        const auto& t = weights[spec.name];
        out[kLdmVaePrefix + spec.ldm] = spec.projection ? t.reshape({spec.shape[0], spec.shape[1], 1, 1}) : t;
    }
    return out;
}

namespace vae {

at::Tensor resnet(const Weights& w, const VaeConfig& config, const std::string& p, const at::Tensor& x) {
    const int64_t g = config.norm_num_groups;
    auto h = nn::conv2d(w, p + ".conv1", at::silu(nn::group_norm(w, p + ".norm1", x, g, kNormEps)));
    h = nn::conv2d(w, p + ".conv2", at::silu(nn::group_norm(w, p + ".norm2", h, g, kNormEps)));
    const bool project = w.contains(p + ".conv_shortcut.weight");
    return (project ? nn::conv2d(w, p + ".conv_shortcut", x) : x) + h;
}

at::Tensor mid_attention(const Weights& w, const VaeConfig& config, const std::string& p,
                         const at::Tensor& x) {
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
    const auto s = nn::group_norm(w, p + ".group_norm", x, config.norm_num_groups, kNormEps)
                       .view({b, c, h * wd})
                       .transpose(1, 2); // (B, HW, C): one token per pixel, one head as wide as the channels
    const auto project = [&](const char* name) { return nn::linear(w, p + "." + name, s).unsqueeze(1); };
    const auto o = single_head_attention(project("to_q"), project("to_k"), project("to_v")).squeeze(1);
    return x + nn::linear(w, p + ".to_out.0", o).transpose(1, 2).reshape({b, c, h, wd});
}

at::Tensor mid_block(const Weights& w, const VaeConfig& config, const std::string& p, const at::Tensor& x) {
    auto h = resnet(w, config, p + ".resnets.0", x);
    h = mid_attention(w, config, p + ".attentions.0", h);
    return resnet(w, config, p + ".resnets.1", h);
}

at::Tensor norm_act_conv(const Weights& w, const VaeConfig& config, const std::string& norm,
                         const std::string& conv, const at::Tensor& x) {
    return nn::conv2d(w, conv, at::silu(nn::group_norm(w, norm, x, config.norm_num_groups, kNormEps)));
}

} // namespace vae

} // namespace attnscope
