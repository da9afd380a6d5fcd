#pragma once
// Stable Diffusion's VAE encoder, computed as diffusers' AutoencoderKL encodes: the encoder (conv_in, down
// blocks of resnets with stride-2 convolutions between them, a mid block of resnet / single-head
// self-attention / resnet, group norm, SiLU, conv_out to twice the latent channels), then quant_conv, whose
// output is the diagonal Gaussian posterior's mean and log-variance.
#include "model/vae_weights.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <optional>
#include <string>

namespace attnscope {

// The posterior over the VAE's own latents (not yet times scaling_factor), as diffusers'
// DiagonalGaussianDistribution holds it: log-variance clamped to [-30, 20].
struct VaePosterior {
    at::Tensor mean, std; // (B, latent_channels, H / downscale, W / downscale)

    // mean + std * noise: diffusers' latent_dist.sample() given the draw it makes (noise shaped as mean).
    at::Tensor sample(const at::Tensor& noise) const { return mean + std * noise.to(mean.options()); }
};

class VaeEncoder {
  public:
    // Weights keyed by diffusers names; every parameter's presence and shape is checked
    // (std::invalid_argument naming the first bad one).
    VaeEncoder(VaeConfig config, Weights weights);

    static VaeEncoder random(const VaeConfig& config, uint64_t seed, at::ScalarType dtype, at::Device device);

    // The same files and layouts as VaeDecoder::load. A file that holds only the decoder is refused in one
    // line saying so.
    static VaeEncoder load(const std::string& path, at::ScalarType dtype, at::Device device,
                           std::optional<VaeConfig> config = {});

    // image: (B, out_channels, H, W) in [-1, 1], H and W multiples of downscale(); any float dtype and
    // device. The posterior comes back in the weights' dtype on their device.
    VaePosterior encode(const at::Tensor& image) const;

    const VaeConfig& config() const { return config_; }
    const Weights& weights() const { return weights_; }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

  private:
    VaeConfig config_;
    Weights weights_;
    at::ScalarType dtype_;
    at::Device device_;
};

} // namespace attnscope
