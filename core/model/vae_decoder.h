#pragma once
// Stable Diffusion's VAE decoder, computed as diffusers' AutoencoderKL decodes: post_quant_conv, then the
// decoder (conv_in, a mid block of resnet / single-head self-attention / resnet, up blocks of resnets with
// nearest x2 up-sampling between them, group norm, SiLU, conv_out).
//
// Convention: decode() takes latents as the U-Net sees them, i.e. the VAE's own latents times
// scaling_factor, and divides by it first as SD pipelines do; the image comes back in about [-1, 1].
#include "model/vae_weights.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

class VaeDecoder {
  public:
    // Weights keyed by diffusers names; every parameter's presence and shape is checked
    // (std::invalid_argument naming the first bad one).
    VaeDecoder(VaeConfig config, Weights weights);

    // Deterministic random weights (norms and biases perturbed too) for tests and demos.
    static VaeDecoder random(const VaeConfig& config, uint64_t seed, at::ScalarType dtype, at::Device device);

    // `path`: a diffusers model folder (with vae/), its vae/ folder, a bare diffusers VAE .safetensors, or an
    // original single-file checkpoint (first_stage_model.* keys; also a stand-alone VAE file in that layout
    // without the prefix). The config comes from `config`, else config.json beside the weights, else the
    // weight shapes (norm groups and scaling factor then follow SD: 32 and 0.18215). Every key, shape and
    // dtype is checked before any tensor is read; errors name the file and key.
    static VaeDecoder load(const std::string& path, at::ScalarType dtype, at::Device device,
                           std::optional<VaeConfig> config = {});

    // latents: (B, latent_channels, h, w) as the U-Net sees them (already times scaling_factor), any float
    // dtype and device. Returns the image (B, out_channels, h * downscale, w * downscale) in about [-1, 1],
    // in the weights' dtype on their device.
    at::Tensor decode(const at::Tensor& latents) const;

    const VaeConfig& config() const { return config_; }
    const Weights& weights() const { return weights_; }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

    // The weights as an original single-file checkpoint holds them (first_stage_model.* keys, 1x1 convs).
    TensorMap state_dict_ldm() const;

  private:
    VaeConfig config_;
    Weights weights_;
    at::ScalarType dtype_;
    at::Device device_;
};

} // namespace attnscope
