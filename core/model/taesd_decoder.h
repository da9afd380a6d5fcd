#pragma once
// TAESD, madebyollin's tiny distilled decoder for Stable Diffusion latents (diffusers' AutoencoderTiny
// decoder): a soft clamp 3 tanh(x / 3), a 3x3 convolution and ReLU, then stages of residual blocks
// (relu(conv(relu(conv(relu(conv(x))))) + x)) joined by nearest x2 up-sampling and a bias-free 3x3
// convolution, and a final 3x3 convolution to RGB.
//
// Convention, the same as VaeDecoder::decode: the input is the latents as the U-Net sees them (SD's VAE
// latents times 0.18215). TAESD was distilled on exactly those, so nothing rescales them (diffusers'
// AutoencoderTiny has scaling_factor 1.0; its latent_magnitude and latent_shift only pack latents into 8-bit
// images and play no part in decoding). The network's image lies in [0, 1]; decode() returns 2x - 1, in
// about [-1, 1] (unclamped), as diffusers' DecoderTiny does.
//
// The layer structure (stage count, blocks per stage, channels, an optional 1x1 skip where a block changes
// width) is read from the weights, so the released SD decoder and its wider variants load alike.
#include "io/safetensors_file.h"
#include "model/weights.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

class TaesdDecoder {
  public:
    // Weights keyed as madebyollin's taesd_decoder.safetensors: layer N of its nn.Sequential ("1.weight",
    // "3.conv.0.weight", "3.skip.weight", ...), where layer 0 is the clamp. Throws std::invalid_argument
    // naming the first missing or mis-shaped weight.
    explicit TaesdDecoder(Weights weights);

    // The released SD decoder's topology (64 channels, 3 + 3 + 3 + 1 blocks) with deterministic random
    // weights.
    static TaesdDecoder random(uint64_t seed, at::ScalarType dtype, at::Device device,
                               int latent_channels = 4);

    // `path`: madebyollin's taesd_decoder.safetensors, a diffusers AutoencoderTiny folder (or a model folder
    // whose vae/ is one), or a bare AutoencoderTiny .safetensors (decoder.layers.N.* keys; encoder keys are
    // ignored). Keys and shapes are checked before any tensor is read; errors name the file and key.
    static TaesdDecoder load(const std::string& path, at::ScalarType dtype, at::Device device);

    // latents: (B, latent_channels, h, w) as the U-Net sees them, any float dtype and device. Returns the
    // image (B, 3, h * upscale, w * upscale) in about [-1, 1], in the weights' dtype on their device.
    at::Tensor decode(const at::Tensor& latents) const;

    int latent_channels() const { return latent_channels_; }
    int upscale() const { return upscale_; } // image pixels per latent pixel
    std::string describe() const;
    const Weights& weights() const { return weights_; }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

    struct Layer {
        enum class Kind { Conv, Relu, Block, Upsample } kind;
        int index; // position in madebyollin's nn.Sequential
    };

  private:
    Weights weights_;
    std::vector<Layer> layers_;
    int latent_channels_ = 0;
    int upscale_ = 1;
    at::ScalarType dtype_;
    at::Device device_;
};

} // namespace attnscope
