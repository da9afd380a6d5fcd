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

class VaeDecoder : public VaeHalfModel<VaePart::Decoder, VaeDecoder> {
  public:
    // Weights keyed by diffusers names.
    VaeDecoder(VaeConfig config, Weights weights) : VaeHalfModel(std::move(config), std::move(weights)) {}

    // latents: (B, latent_channels, h, w) as the U-Net sees them (already times scaling_factor), any float
    // dtype and device. Returns the image (B, out_channels, h * downscale, w * downscale) in about [-1, 1],
    // in the weights' dtype on their device.
    at::Tensor decode(const at::Tensor& latents) const;

    // The weights as an original single-file checkpoint holds them (first_stage_model.* keys, 1x1 convs).
    TensorMap state_dict_ldm() const;
};

} // namespace attnscope
