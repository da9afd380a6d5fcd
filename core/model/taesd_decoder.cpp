#include "taesd_decoder.h"

#include "io/component_files.h"
#include "io/json_text.h"
#include "model/nn.h"
#include "model/taesd_block.h"
#include "model/taesd_config.h"
#include "util/shape_string.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace attnscope {
namespace fs = std::filesystem;

namespace {

using Layer = TaesdDecoder::Layer;
using Kind = TaesdDecoder::Layer::Kind;
using Shapes = std::map<std::string, std::vector<int64_t>>; // by madebyollin's names

const std::string kDiffusersPrefix = "decoder.layers.";

std::string s(int i) {
    return std::to_string(i);
}

struct Structure {
    std::vector<Layer> layers;
    int latent_channels = 0;
    int upscale = 1;
};

// Reads the layer sequence off the weight shapes: conv, ReLU, then stages of blocks joined by an up-sampling
// (a layer without weights) and a convolution, and the output convolution right after the last stage's
// blocks. `key` gives a name as the file spells it, for messages. Throws std::invalid_argument.
class StructureReader {
  public:
    StructureReader(Shapes shapes, std::function<std::string(const std::string&)> key)
        : shapes_(std::move(shapes)), key_(std::move(key)) {}

    Structure read() {
        Structure out;
        const auto* first = find(s(1) + ".weight");
        if (!first) missing(s(1) + ".weight", "the input convolution");
        out.latent_channels = first->size() == 4 ? static_cast<int>((*first)[1]) : 0;
        int64_t channels = conv(1, out.latent_channels);
        out.layers = {{Kind::Conv, 1}, {Kind::Relu, 2}};
        for (int index = 3;;) {
            if (!is_block(index)) missing(s(index) + ".conv.0.weight", "a residual block");
            for (; is_block(index); ++index) {
                channels = block(index, channels);
                out.layers.push_back({Kind::Block, index});
            }
            if (find(s(index) + ".weight")) {
                channels = conv(index, channels);
                out.layers.push_back({Kind::Conv, index});
                if (channels != 3)
                    throw std::invalid_argument("TAESD output convolution '" + key_(s(index) + ".weight") +
                                                "' gives " + std::to_string(channels) +
                                                " channels, expected 3 (RGB)");
                break;
            }
            if (!find(s(index + 1) + ".weight"))
                throw std::invalid_argument("missing TAESD weight '" + key_(s(index + 1) + ".weight") +
                                            "' (the convolution after an up-sampling) or '" +
                                            key_(s(index) + ".weight") + "' (the output convolution)");
            channels = conv(index + 1, channels);
            out.layers.push_back({Kind::Upsample, index});
            out.layers.push_back({Kind::Conv, index + 1});
            out.upscale *= 2;
            index += 2;
        }
        for (const auto& [name, shape] : shapes_)
            if (!used_.count(name))
                throw std::invalid_argument("unexpected TAESD weight '" + key_(name) + "'");
        return out;
    }

  private:
    const std::vector<int64_t>* find(const std::string& name) const {
        const auto it = shapes_.find(name);
        return it == shapes_.end() ? nullptr : &it->second;
    }
    bool is_block(int index) const { return find(s(index) + ".conv.0.weight") != nullptr; }

    [[noreturn]] void missing(const std::string& name, const std::string& role) const {
        throw std::invalid_argument("missing TAESD weight '" + key_(name) + "' (" + role + ")");
    }

    void expect(const std::string& name, const std::vector<int64_t>& shape) {
        const auto* got = find(name);
        if (!got) missing(name, "expected shape " + shape_string(shape));
        if (*got != shape)
            throw std::invalid_argument("TAESD weight '" + key_(name) + "' has shape " + shape_string(*got) +
                                        ", expected " + shape_string(shape));
        used_.insert(name);
    }

    // A 3x3 convolution from `in` channels to `out` (any number when negative), bias optional; returns its
    // output channels.
    int64_t conv(const std::string& p, int64_t in, int64_t out = -1) {
        const auto* w = find(p + ".weight");
        if (!w) missing(p + ".weight", "a convolution from " + std::to_string(in) + " channels");
        if (out < 0) out = w->empty() ? 0 : (*w)[0];
        expect(p + ".weight", {out, in, 3, 3});
        if (find(p + ".bias")) expect(p + ".bias", {out});
        return out;
    }
    int64_t conv(int index, int64_t in) { return conv(s(index), in); }

    int64_t block(int index, int64_t in) {
        const auto p = s(index);
        const int64_t out = conv(p + ".conv.0", in);
        conv(p + ".conv.2", out, out);
        conv(p + ".conv.4", out, out);
        if (in != out) {
            expect(p + ".skip.weight", {out, in, 1, 1});
        } else if (find(p + ".skip.weight")) {
            throw std::invalid_argument("unexpected TAESD weight '" + key_(p + ".skip.weight") + "': block " +
                                        p + " keeps its width, so its skip is the identity");
        }
        return out;
    }

    Shapes shapes_;
    std::function<std::string(const std::string&)> key_;
    std::set<std::string> used_;
};

Shapes shapes_of(const Weights& w) {
    Shapes out;
    for (const auto& [name, t] : w.all()) out[name] = t.sizes().vec();
    return out;
}

// diffusers' DecoderTiny does the clamp in forward(), so its layer N is madebyollin's N + 1.
std::string diffusers_key(const std::string& name) {
    const auto dot = name.find('.');
    return kDiffusersPrefix + s(std::stoi(name.substr(0, dot)) - 1) + name.substr(dot);
}

} // namespace

TaesdDecoder::TaesdDecoder(Weights weights)
    : weights_(std::move(weights)), dtype_(at::kFloat), device_(at::kCPU) {
    const auto structure =
        StructureReader(shapes_of(weights_), [](const std::string& n) { return n; }).read();
    layers_ = structure.layers;
    latent_channels_ = structure.latent_channels;
    upscale_ = structure.upscale;
    const auto& first = weights_["1.weight"];
    dtype_ = first.scalar_type();
    device_ = first.device();
}

TaesdDecoder TaesdDecoder::random(uint64_t seed, at::ScalarType dtype, at::Device device,
                                  int latent_channels) {
    if (latent_channels <= 0)
        throw std::invalid_argument("latent_channels must be positive, got " +
                                    std::to_string(latent_channels));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    Weights w;
    const auto add_conv = [&](const std::string& p, int64_t out, int64_t in, bool bias) {
        const auto opts = at::TensorOptions().dtype(at::kDouble);
        w.set(p + ".weight", (at::randn({out, in, 3, 3}, gen, opts) / std::sqrt(9.0 * in)).to(device, dtype));
        if (bias) w.set(p + ".bias", (0.05 * at::randn({out}, gen, opts)).to(device, dtype));
    };
    const int64_t C = 64;
    add_conv("1", C, latent_channels, true);
    int index = 3;
    for (int blocks : {3, 3, 3, 1}) {
        for (int b = 0; b < blocks; ++b, ++index)
            for (const char* c : {".conv.0", ".conv.2", ".conv.4"}) add_conv(s(index) + c, C, C, true);
        if (blocks == 1) break;
        add_conv(s(index + 1), C, C, false); // after the up-sampling at `index`
        index += 2;
    }
    add_conv(s(index), 3, C, true);
    return TaesdDecoder(std::move(w));
}

TaesdDecoder TaesdDecoder::load(const std::string& path, at::ScalarType dtype, at::Device device) {
    const auto files =
        locate_component(path, {"vae",
                                {"diffusion_pytorch_model.safetensors",
                                 "diffusion_pytorch_model.fp16.safetensors", "taesd_decoder.safetensors"},
                                "diffusion_pytorch_model.bin",
                                "TAESD"});
    if (files.config_json)
        check_taesd_config(read_config_text(*files.config_json), files.config_json->string());
    const SafetensorsFile f(files.weights.string());

    // madebyollin's names, with the file's own name for each.
    Shapes shapes;
    std::map<std::string, std::string> file_keys;
    const bool diffusers = f.contains(kDiffusersPrefix + "0.weight");
    if (diffusers) {
        for (const auto& t : f.header().tensors) {
            if (t.name.compare(0, kDiffusersPrefix.size(), kDiffusersPrefix) != 0) continue;
            const auto rest = t.name.substr(kDiffusersPrefix.size());
            const auto dot = rest.find('.');
            if (dot == 0 || dot == std::string::npos || rest.find_first_not_of("0123456789") != dot)
                throw std::runtime_error(f.path() + ": unexpected TAESD weight '" + t.name + "'");
            const auto name = s(std::stoi(rest.substr(0, dot)) + 1) + rest.substr(dot);
            shapes[name] = t.shape;
            file_keys[name] = t.name;
        }
    } else if (f.contains("1.weight")) {
        for (const auto& t : f.header().tensors) {
            shapes[t.name] = t.shape;
            file_keys[t.name] = t.name;
        }
    } else if (f.contains("decoder.mid_block.resnets.0.conv1.weight") ||
               f.contains("first_stage_model.decoder.mid.block_1.conv1.weight") ||
               f.contains("decoder.mid.block_1.conv1.weight")) {
        throw std::runtime_error(f.path() +
                                 ": holds the full Stable Diffusion VAE, not TAESD: load it as a VAE");
    } else {
        throw std::runtime_error(f.path() +
                                 ": does not hold a TAESD decoder: found neither '1.weight' (madebyollin's "
                                 "taesd_decoder.safetensors) nor '" +
                                 kDiffusersPrefix + "0.weight' (diffusers' AutoencoderTiny)");
    }
    const auto key = [&](const std::string& name) {
        const auto it = file_keys.find(name);
        if (it != file_keys.end()) return it->second;
        return diffusers ? diffusers_key(name) : name;
    };
    try {
        StructureReader(shapes, key).read();
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(f.path() + ": " + e.what());
    }
    for (const auto& [name, key] : file_keys) {
        const auto* e = f.header().find(key);
        if (!is_floating(e->dtype))
            throw std::runtime_error(f.path() + ": TAESD weight '" + key + "' is stored as " +
                                     std::string(dtype_name(e->dtype)) + ", expected a floating-point type");
    }
    Weights w;
    for (const auto& [name, key] : file_keys) w.set(name, f.load(key, dtype, device));
    return TaesdDecoder(std::move(w));
}

at::Tensor TaesdDecoder::decode(const at::Tensor& latents) const {
    if (latents.dim() != 4 || latents.size(1) != latent_channels_)
        throw std::invalid_argument("latents must be (B, " + std::to_string(latent_channels_) +
                                    ", h, w), got " + shape_string(latents.sizes()));
    if (!at::isFloatingType(latents.scalar_type()))
        throw std::invalid_argument("latents must be floating point, got " +
                                    std::string(c10::toString(latents.scalar_type())));
    if (device_.is_cpu() && dtype_ == at::kHalf)
        throw std::invalid_argument("float16 TAESD decoding needs CUDA; on the CPU use float32 or bfloat16");

    const auto& w = weights_;
    auto x = latents.to(device_, dtype_);
    x = at::tanh(x / 3) * 3; // a soft clamp to (-3, 3)
    for (const auto& layer : layers_) {
        const auto p = s(layer.index);
        switch (layer.kind) {
        case Kind::Conv:
            x = nn::conv2d(w, p, x);
            break;
        case Kind::Relu:
            x = at::relu(x);
            break;
        case Kind::Block:
            x = taesd::block(w, p, x);
            break;
        case Kind::Upsample:
            x = at::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)}, c10::nullopt, c10::nullopt);
            break;
        }
    }
    return x * 2 - 1; // [0, 1] -> [-1, 1]
}

std::string TaesdDecoder::describe() const {
    std::vector<int> blocks{0};
    std::vector<int64_t> widths;
    for (const auto& layer : layers_) {
        if (layer.kind == Kind::Upsample) blocks.push_back(0);
        if (layer.kind != Kind::Block) continue;
        if (blocks.back() == 0) widths.push_back(weights_[s(layer.index) + ".conv.0.weight"].size(0));
        ++blocks.back();
    }
    std::ostringstream out;
    out << "TAESD decoder (" << latent_channels_ << " latent channels, blocks ";
    for (std::size_t i = 0; i < blocks.size(); ++i) out << (i ? "+" : "") << blocks[i];
    out << ", widths";
    for (std::size_t i = 0; i < widths.size(); ++i) out << (i ? "/" : " ") << widths[i];
    out << ", " << upscale_ << "x up-sampling)";
    return out.str();
}

} // namespace attnscope
