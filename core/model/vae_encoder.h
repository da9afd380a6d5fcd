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

class VaeEncoder : public VaeHalfModel<VaePart::Encoder, VaeEncoder> {
  public:
    // Weights keyed by diffusers names.
    VaeEncoder(VaeConfig config, Weights weights) : VaeHalfModel(std::move(config), std::move(weights)) {}

    // image: (B, out_channels, H, W) in [-1, 1], H and W multiples of downscale(); any float dtype and
    // device. The posterior comes back in the weights' dtype on their device.
    VaePosterior encode(const at::Tensor& image) const;
};

} // namespace attnscope
