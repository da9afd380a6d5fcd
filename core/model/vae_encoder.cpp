#include "vae_encoder.h"

#include "model/nn.h"
#include "util/shape_string.h"

#include <stdexcept>

namespace attnscope {

VaePosterior VaeEncoder::encode(const at::Tensor& image) const {
    const int64_t multiple = config_.downscale();
    if (image.dim() != 4 || image.size(1) != config_.out_channels || image.size(2) % multiple != 0 ||
        image.size(3) % multiple != 0 || image.size(2) == 0 || image.size(3) == 0)
        throw std::invalid_argument("the VAE encoder takes images (B, " +
                                    std::to_string(config_.out_channels) +
                                    ", H, W) with H and W positive multiples of " + std::to_string(multiple) +
                                    ", got " + shape_string(image.sizes()));
    if (!at::isFloatingType(image.scalar_type()))
        throw std::invalid_argument("the image must be floating point, got " +
                                    std::string(c10::toString(image.scalar_type())));
    if (device_.is_cpu() && dtype_ == at::kHalf)
        throw std::invalid_argument("float16 VAE encoding needs CUDA; on the CPU use float32 or bfloat16");

    const auto& w = weights_;
    auto h = nn::conv2d(w, "encoder.conv_in", image.to(device_, dtype_));
    for (int i = 0; i < config_.levels(); ++i) {
        const auto down = "encoder.down_blocks." + std::to_string(i);
        for (int r = 0; r < config_.layers_per_block; ++r)
            h = vae::resnet(w, config_, down + ".resnets." + std::to_string(r), h);
        if (i + 1 < config_.levels()) {
            // Padding only on the right and bottom, then a stride-2 3x3 conv without padding (LDM's way).
            const auto conv = down + ".downsamplers.0.conv";
            h = at::conv2d(at::constant_pad_nd(h, {0, 1, 0, 1}), w[conv + ".weight"], w[conv + ".bias"],
                           {2, 2});
        }
    }
    h = vae::mid_block(w, config_, "encoder.mid_block", h);
    h = vae::norm_act_conv(w, config_, "encoder.conv_norm_out", "encoder.conv_out", h);
    const auto moments = nn::conv2d(w, "quant_conv", h);
    const int64_t latent = config_.latent_channels;
    const auto log_variance = moments.narrow(1, latent, latent).clamp(-30.0, 20.0);
    return {moments.narrow(1, 0, latent).contiguous(), at::exp(0.5 * log_variance)};
}

} // namespace attnscope
