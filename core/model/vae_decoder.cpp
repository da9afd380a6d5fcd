#include "vae_decoder.h"

#include "model/nn.h"
#include "util/shape_string.h"

#include <stdexcept>

namespace attnscope {

at::Tensor VaeDecoder::decode(const at::Tensor& latents) const {
    if (latents.dim() != 4 || latents.size(1) != config_.latent_channels)
        throw std::invalid_argument("latents must be (B, " + std::to_string(config_.latent_channels) +
                                    ", h, w), got " + shape_string(latents.sizes()));
    if (!at::isFloatingType(latents.scalar_type()))
        throw std::invalid_argument("latents must be floating point, got " +
                                    std::string(c10::toString(latents.scalar_type())));
    if (device_.is_cpu() && dtype_ == at::kHalf)
        throw std::invalid_argument("float16 VAE decoding needs CUDA; on the CPU use float32 or bfloat16");

    const auto& w = weights_;
    const int levels = config_.levels();
    const auto z = latents.to(device_, dtype_) / config_.scaling_factor; // back to the VAE's own latent scale
    auto h = nn::conv2d(w, "decoder.conv_in", nn::conv2d(w, "post_quant_conv", z));
    h = vae::mid_block(w, config_, "decoder.mid_block", h);
    for (int i = 0; i < levels; ++i) {
        // diffusers counts the up blocks in decoding order (0 = lowest resolution)
        const auto up = "decoder.up_blocks." + std::to_string(i);
        for (int r = 0; r <= config_.layers_per_block; ++r)
            h = vae::resnet(w, config_, up + ".resnets." + std::to_string(r), h);
        if (i + 1 < levels) {
            h = at::upsample_nearest2d(h, {2 * h.size(2), 2 * h.size(3)}, c10::nullopt, c10::nullopt);
            h = nn::conv2d(w, up + ".upsamplers.0.conv", h);
        }
    }
    return vae::norm_act_conv(w, config_, "decoder.conv_norm_out", "decoder.conv_out", h);
}

TensorMap VaeDecoder::state_dict_ldm() const {
    return vae_state_dict_ldm(config_, VaePart::Decoder, weights_);
}

} // namespace attnscope
