#include "taesd_encoder.h"

#include "io/component_files.h"
#include "io/safetensors_file.h"
#include "model/nn.h"
#include "model/taesd_block.h"
#include "util/shape_string.h"

#include <filesystem>
#include <stdexcept>

namespace attnscope {
namespace fs = std::filesystem;

namespace {

const std::string kDiffusersPrefix = "encoder.layers.";

std::string s(int i) {
    return std::to_string(i);
}

void expect_shape(const Weights& w, const std::string& name, std::vector<int64_t> shape) {
    if (!w.contains(name)) throw std::invalid_argument("TAESD encoder weight '" + name + "' is missing");
    if (w[name].sizes() != at::IntArrayRef(shape))
        throw std::invalid_argument("TAESD encoder weight '" + name + "' has shape " +
                                    shape_string(w[name].sizes()) + ", expected " + shape_string(shape));
}

} // namespace

TaesdEncoder::TaesdEncoder(Weights weights)
    : weights_(std::move(weights)), dtype_(at::kFloat), device_(at::kCPU) {
    const auto& w = weights_;
    if (!w.contains("0.weight") || w["0.weight"].dim() != 4 || w["0.weight"].size(1) != 3)
        throw std::invalid_argument(
            "a TAESD encoder starts with a 3x3 convolution of the RGB image ('0.weight')");
    int64_t channels = 3;
    for (int i = 0;; ++i) {
        if (w.contains(s(i) + ".conv.0.weight")) {
            const int64_t out = w[s(i) + ".conv.0.weight"].size(0);
            expect_shape(w, s(i) + ".conv.0.weight", {out, channels, 3, 3});
            expect_shape(w, s(i) + ".conv.2.weight", {out, out, 3, 3});
            expect_shape(w, s(i) + ".conv.4.weight", {out, out, 3, 3});
            if (out != channels) expect_shape(w, s(i) + ".skip.weight", {out, channels, 1, 1});
            layers_.push_back({true, i, 1});
            channels = out;
        } else if (w.contains(s(i) + ".weight")) {
            const int64_t out = w[s(i) + ".weight"].size(0);
            expect_shape(w, s(i) + ".weight", {out, channels, 3, 3});
            const bool strided = !w.contains(s(i) + ".bias");
            layers_.push_back({false, i, strided ? 2 : 1});
            if (strided) downscale_ *= 2;
            channels = out;
        } else {
            break;
        }
    }
    if (layers_.back().block || layers_.back().stride != 1)
        throw std::invalid_argument(
            "a TAESD encoder ends with a 3x3 convolution to the latents (with a bias)");
    latent_channels_ = static_cast<int>(channels);
    dtype_ = w["0.weight"].scalar_type();
    device_ = w["0.weight"].device();
}

TaesdEncoder TaesdEncoder::load(const std::string& path, at::ScalarType dtype, at::Device device) {
    const auto files =
        locate_component(path, {"vae",
                                {"diffusion_pytorch_model.safetensors",
                                 "diffusion_pytorch_model.fp16.safetensors", "taesd_encoder.safetensors"},
                                "diffusion_pytorch_model.bin",
                                "TAESD"});
    const SafetensorsFile f(files.weights.string());
    const bool diffusers = f.contains(kDiffusersPrefix + "0.weight");
    if (!diffusers && !f.contains("0.weight"))
        throw std::runtime_error(f.path() +
                                 ": does not hold a TAESD encoder: found neither '0.weight' (madebyollin's "
                                 "taesd_encoder.safetensors) nor '" +
                                 kDiffusersPrefix + "0.weight' (diffusers' AutoencoderTiny)");
    Weights w;
    for (const auto& t : f.header().tensors) {
        std::string name = t.name;
        if (diffusers) {
            if (name.compare(0, kDiffusersPrefix.size(), kDiffusersPrefix) != 0) continue;
            name = name.substr(kDiffusersPrefix.size());
        }
        if (!is_floating(t.dtype))
            throw std::runtime_error(f.path() + ": TAESD weight '" + t.name + "' is stored as " +
                                     std::string(dtype_name(t.dtype)) + ", expected a floating-point type");
        w.set(name, f.load(t.name, dtype, device));
    }
    try {
        return TaesdEncoder(std::move(w));
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(f.path() + ": " + e.what());
    }
}

std::optional<TaesdEncoder> TaesdEncoder::beside(const std::string& decoder_path, at::ScalarType dtype,
                                                 at::Device device) {
    const fs::path p = decoder_path;
    if (fs::is_regular_file(p) && p.filename() == "taesd_decoder.safetensors") {
        const auto sibling = p.parent_path() / "taesd_encoder.safetensors";
        if (!fs::is_regular_file(sibling)) return std::nullopt;
        return load(sibling.string(), dtype, device);
    }
    if (fs::is_directory(p) && fs::is_regular_file(p / "taesd_encoder.safetensors"))
        return load((p / "taesd_encoder.safetensors").string(), dtype, device);
    const auto files = locate_component(
        decoder_path, {"vae",
                       {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                        "taesd_decoder.safetensors"},
                       "diffusion_pytorch_model.bin",
                       "TAESD"});
    if (!SafetensorsFile(files.weights.string()).contains(kDiffusersPrefix + "0.weight")) return std::nullopt;
    return load(files.weights.string(), dtype, device);
}

at::Tensor TaesdEncoder::encode(const at::Tensor& image) const {
    if (image.dim() != 4 || image.size(1) != 3 || image.size(2) % downscale_ != 0 ||
        image.size(3) % downscale_ != 0 || image.size(2) == 0 || image.size(3) == 0)
        throw std::invalid_argument(
            "the TAESD encoder takes images (B, 3, H, W) with H and W positive multiples of " +
            std::to_string(downscale_) + ", got " + shape_string(image.sizes()));
    if (device_.is_cpu() && dtype_ == at::kHalf)
        throw std::invalid_argument("float16 TAESD encoding needs CUDA; on the CPU use float32 or bfloat16");
    auto x = (image.to(device_, dtype_) + 1) / 2; // madebyollin's encoder takes [0, 1]
    for (const auto& layer : layers_)
        x = layer.block ? taesd::block(weights_, s(layer.index), x)
                        : nn::conv2d(weights_, s(layer.index), x, layer.stride);
    return x;
}

} // namespace attnscope
