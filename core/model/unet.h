#pragma once
// The Stable Diffusion U-Net (diffusers' UNet2DConditionModel for SD v1.x / v2.x) as plain functions
// over its weights. Every attention call goes through the router with its site.
#include "../attention/attention_site.h"
#include "../attention/router.h"
#include "unet_config.h"
#include "unet_layout.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

namespace attnscope {

// The attention sites a forward pass of a U-Net with `config` makes at this latent size (self and cross per
// transformer, in forward order); no weights needed.
std::vector<AttentionSite> unet_attention_sites(const UNetConfig& config, int64_t batch, int64_t latent_h,
                                                int64_t latent_w, int64_t context_len);

class UNet {
  public:
    // Checks every parameter's presence and shape against the config; throws naming the first bad one.
    UNet(UNetConfig config, Weights weights);

    // Random weights (normal, 1/sqrt(fan_in) scaled; norms at 1) for shape studies and benchmarks.
    static UNet random(const UNetConfig& config, uint64_t seed, at::ScalarType dtype, at::Device device);

    // sample (B, C, H, W); timestep: one value or one per batch item; context (B, S, cross_attention_dim).
    // H and W need not be multiples of 8: up-sampling follows the skip connections' sizes.
    at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep, const at::Tensor& context,
                       AttentionRouter& router) const;

    // The attention sites a forward pass at this latent size makes (self and cross per transformer).
    std::vector<AttentionSite> sites(int64_t batch, int64_t latent_h, int64_t latent_w,
                                     int64_t context_len) const;
    // How many attention indices the numbering gives this U-Net (16 for SD v1/v2): sites 1..site_count().
    int site_count() const { return static_cast<int>(layout_.transformers().size()); }

    const UNetConfig& config() const { return config_; }
    const UNetLayout& layout() const { return layout_; }
    const Weights& weights() const { return weights_; }
    void add_adapter(const std::string& module, Adapter a) { weights_.add_adapter(module, std::move(a)); }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

  private:
    at::Tensor time_embedding(const at::Tensor& timestep, int64_t batch) const;
    at::Tensor resnet(const ResnetBlock& r, const at::Tensor& x, const at::Tensor& emb) const;
    at::Tensor transformer(const TransformerBlock& t, const at::Tensor& x, const at::Tensor& context,
                           AttentionRouter& router) const;
    at::Tensor attention(const TransformerBlock& t, AttentionKind kind, const at::Tensor& x,
                         const at::Tensor& context, int height, int width, AttentionRouter& router) const;

    UNetConfig config_;
    UNetLayout layout_;
    Weights weights_;
    at::ScalarType dtype_;
    at::Device device_;
};

} // namespace attnscope
