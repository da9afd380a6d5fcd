#pragma once
// TAESD's encoder (madebyollin's taesd_encoder, diffusers' AutoencoderTiny encoder): a 3x3 convolution and a
// residual block, then stages of a bias-free stride-2 3x3 convolution and residual blocks, and a final 3x3
// convolution to the latents. It takes the image in [0, 1] and gives latents as the U-Net sees them (SD's VAE
// latents times 0.18215: TAESD was distilled on those). The layer sequence is read from the weights (a
// bias-free convolution is a stride-2 one), so wider variants load alike.
#include "model/weights.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

class TaesdEncoder {
  public:
    // Weights keyed as madebyollin's taesd_encoder.safetensors ("0.weight", "1.conv.0.weight", ...). Throws
    // std::invalid_argument naming what does not make an encoder.
    explicit TaesdEncoder(Weights weights);

    // `path`: madebyollin's taesd_encoder.safetensors, or a diffusers AutoencoderTiny folder or .safetensors
    // (encoder.layers.N.* keys). Errors name the file and key.
    static TaesdEncoder load(const std::string& path, at::ScalarType dtype, at::Device device);
    // The encoder that goes with a TAESD decoder given as `decoder_path`: the same AutoencoderTiny folder or
    // file, or the taesd_encoder.safetensors beside madebyollin's taesd_decoder.safetensors; none when there
    // is none (errors in one that is there still throw).
    static std::optional<TaesdEncoder> beside(const std::string& decoder_path, at::ScalarType dtype,
                                              at::Device device);

    // image: (B, 3, H, W) in [-1, 1], H and W multiples of downscale(). Returns (B, latent_channels,
    // H / downscale, W / downscale) in the weights' dtype on their device.
    at::Tensor encode(const at::Tensor& image) const;

    int latent_channels() const { return latent_channels_; }
    int downscale() const { return downscale_; }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

  private:
    struct Layer {
        bool block = false;
        int index = 0; // madebyollin's nn.Sequential position
        int stride = 1;
    };
    Weights weights_;
    std::vector<Layer> layers_;
    int latent_channels_ = 0, downscale_ = 1;
    at::ScalarType dtype_;
    at::Device device_;
};

} // namespace attnscope
