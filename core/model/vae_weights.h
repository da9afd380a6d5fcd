#pragma once
// The Stable Diffusion VAE's parameters as its two halves use them: their names in each checkpoint layout,
// the checked reading of one half from a user's file, and the blocks both halves are built of (resnets,
// single-head attention over all pixels).
#include "io/safetensors_file.h"
#include "model/vae_config.h"
#include "model/weights.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

// One parameter under its names in each checkpoint layout.
struct VaeParam {
    std::string name;   // diffusers
    std::string legacy; // diffusers before its attention rewrite (query/key/value/proj_attn)
    std::string ldm;    // original checkpoint, without the "first_stage_model." prefix
    std::vector<int64_t> shape;
    bool projection =
        false; // a mid-attention projection: (C, C) in diffusers, a 1x1 conv (C, C, 1, 1) in LDM
};

enum class VaePart { Decoder, Encoder };

// Every parameter of one half, in forward order: the decoder with post_quant_conv, the encoder with
// quant_conv.
std::vector<VaeParam> vae_parameters(const VaeConfig& config, VaePart part);

inline constexpr const char* kLdmVaePrefix = "first_stage_model.";

struct VaeHalf {
    VaeConfig config;
    Weights weights; // keyed by diffusers names
};

// One half of the VAE from `path` (see VaeDecoder::load for the layouts and where the config comes from).
// Every key, shape and dtype is checked before any tensor is read; errors name the file and key.
VaeHalf load_vae_half(const std::string& path, VaePart part, at::ScalarType dtype, at::Device device,
                      std::optional<VaeConfig> config);

// Deterministic random weights for one half (norms and biases perturbed too), for tests and demos.
Weights random_vae_weights(const VaeConfig& config, VaePart part, uint64_t seed, at::ScalarType dtype,
                           at::Device device);

// Throws std::invalid_argument naming the first parameter of `part` that `weights` lacks or has another
// shape of.
void check_vae_weights(const VaeConfig& config, VaePart part, const Weights& weights);

// The half's weights as an original single-file checkpoint holds them (first_stage_model.* keys, 1x1 convs).
TensorMap vae_state_dict_ldm(const VaeConfig& config, VaePart part, const Weights& weights);

// What both halves are: a config and checked weights of one part, the dtype and device those live on, and
// the two ways every half is made. `Self` is the half's class, constructible from (VaeConfig, Weights).
template <VaePart Part, typename Self> class VaeHalfModel {
  public:
    // Deterministic random weights (norms and biases perturbed too) for tests and demos.
    static Self random(const VaeConfig& config, uint64_t seed, at::ScalarType dtype, at::Device device) {
        return Self(config, random_vae_weights(config, Part, seed, dtype, device));
    }
    // `path`: a diffusers model folder (with vae/), its vae/ folder, a bare diffusers VAE .safetensors, or an
    // original single-file checkpoint (first_stage_model.* keys; also a stand-alone VAE file in that layout
    // without the prefix). The config comes from `config`, else config.json beside the weights, else the
    // weight shapes (norm groups and scaling factor then follow SD: 32 and 0.18215). Every key, shape and
    // dtype is checked before any tensor is read; errors name the file and key (an encoder wanted from a file
    // that holds only the decoder is refused saying so).
    static Self load(const std::string& path, at::ScalarType dtype, at::Device device,
                     std::optional<VaeConfig> config = {}) {
        auto half = load_vae_half(path, Part, dtype, device, std::move(config));
        return Self(std::move(half.config), std::move(half.weights));
    }

    // The same half with its weights in `dtype`.
    Self to(at::ScalarType dtype) const {
        Weights converted;
        for (const auto& [name, tensor] : weights_.all()) converted.set(name, tensor.to(dtype));
        return Self(config_, std::move(converted));
    }

    const VaeConfig& config() const { return config_; }
    const Weights& weights() const { return weights_; }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

  protected:
    // Every parameter's presence and shape is checked (std::invalid_argument naming the first bad one).
    VaeHalfModel(VaeConfig config, Weights weights)
        : config_(std::move(config)), weights_(std::move(weights)) {
        check_vae_weights(config_, Part, weights_);
        const auto& any = weights_.all().begin()->second;
        dtype_ = any.scalar_type();
        device_ = any.device();
    }

    VaeConfig config_;
    Weights weights_;
    at::ScalarType dtype_ = at::kFloat;
    at::Device device_ = at::kCPU;
};

namespace vae {
// A resnet block of the VAE (group norm, SiLU, 3x3 conv, twice; a 1x1 shortcut where the width changes).
at::Tensor resnet(const Weights& w, const VaeConfig& config, const std::string& prefix, const at::Tensor& x);
// The mid block's attention: one head as wide as the channels, one token per pixel, residual.
at::Tensor mid_attention(const Weights& w, const VaeConfig& config, const std::string& prefix,
                         const at::Tensor& x);
// The mid block: resnet, attention, resnet.
at::Tensor mid_block(const Weights& w, const VaeConfig& config, const std::string& prefix,
                     const at::Tensor& x);
// Group norm, SiLU, 3x3 conv: how both halves end.
at::Tensor norm_act_conv(const Weights& w, const VaeConfig& config, const std::string& norm,
                         const std::string& conv, const at::Tensor& x);
} // namespace vae

} // namespace attnscope
