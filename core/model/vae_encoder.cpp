#include "vae_encoder.h"

#include "model/nn.h"
#include "util/shape_string.h"

#include <stdexcept>

namespace attnscope {

VaeEncoder::VaeEncoder(VaeConfig config, Weights weights)
    : config_(std::move(config)), weights_(std::move(weights)), dtype_(at::kFloat), device_(at::kCPU) {
    check_vae_weights(config_, VaePart::Encoder, weights_);
    const auto& first = weights_["quant_conv.weight"];
    dtype_ = first.scalar_type();
    device_ = first.device();
}

VaeEncoder VaeEncoder::random(const VaeConfig& config, uint64_t seed, at::ScalarType dtype,
                              at::Device device) {
    return VaeEncoder(config, random_vae_weights(config, VaePart::Encoder, seed, dtype, device));
}

VaeEncoder VaeEncoder::load(const std::string& path, at::ScalarType dtype, at::Device device,
                            std::optional<VaeConfig> config) {
    auto half = load_vae_half(path, VaePart::Encoder, dtype, device, std::move(config));
    return VaeEncoder(std::move(half.config), std::move(half.weights));
}

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
