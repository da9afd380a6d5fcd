#pragma once
// The Stable Diffusion U-Net (diffusers' UNet2DConditionModel for SD v1.x / v2.x / SDXL) as plain functions
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

// SDXL's micro-conditioning ("text_time"): the pooled text embedding (B, pooled width) and per batch item the
// original size, crop top-left and target size (B, 6). SD v1/v2 take neither.
struct AddedConditions {
    at::Tensor text_embeds, time_ids;
};

// The micro-conditioning SDXL pipelines pass by default for a width x height image: the original size is the
// target size and nothing was cropped. pooled: (B, pooled width).
AddedConditions default_text_time(const at::Tensor& pooled, int64_t width, int64_t height);

class UNet {
  public:
    // Checks every parameter's presence and shape against the config; throws naming the first bad one.
    UNet(UNetConfig config, Weights weights);

    // Random weights (normal, 1/sqrt(fan_in) scaled; norms at 1) for shape studies and benchmarks.
    static UNet random(const UNetConfig& config, uint64_t seed, at::ScalarType dtype, at::Device device);

    // sample (B, C, H, W); timestep: one value or one per batch item; context (B, S, cross_attention_dim).
    // H and W need not be multiples of 8: up-sampling follows the skip connections' sizes.
    at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep, const at::Tensor& context,
                       AttentionRouter& router, const AddedConditions& added = {}) const;

    // The attention sites a forward pass at this latent size makes (self and cross per transformer).
    std::vector<AttentionSite> sites(int64_t batch, int64_t latent_h, int64_t latent_w,
                                     int64_t context_len) const;
    // How many attention indices the numbering gives this U-Net (16 for SD v1/v2, 70 for SDXL base).
    int site_count() const { return layout_.site_count(); }

    const UNetConfig& config() const { return config_; }
    const UNetLayout& layout() const { return layout_; }
    const Weights& weights() const { return weights_; }
    void add_adapter(const std::string& module, Adapter a) { weights_.add_adapter(module, std::move(a)); }
    // Convolution kernels and activations in channels-last (NHWC) memory from now on: on a GPU cuDNN's
    // convolutions then skip converting every input to NHWC and back (a quarter of an SD v1.5 step's GPU
    // time in diffusers' profile on an H100). Results equal NCHW's up to the kernels' rounding.
    void use_channels_last();
    bool channels_last() const { return channels_last_; }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

  private:
    at::Tensor time_embedding(const at::Tensor& timestep, int64_t batch, const AddedConditions& added) const;
    at::Tensor sinusoids(const at::Tensor& values, int64_t dim) const;
    // [silu](GroupNorm(x + shift)), shift (B, C) or undefined: in channels-last on CUDA our kernel, which
    // adds the shift as it reads x, else LibTorch's operations.
    at::Tensor group_norm(const std::string& name, const at::Tensor& x, double eps, bool silu = false,
                          const at::Tensor& shift = {}) const;
    // The feed-forward gate: a * gelu(g) of the projection [a | g]; one pass of our kernel on CUDA.
    at::Tensor geglu(const at::Tensor& proj) const;
    at::Tensor resnet(const ResnetBlock& r, const at::Tensor& x, const at::Tensor& emb) const;
    at::Tensor transformer(const TransformerBlock& t, const at::Tensor& x, const at::Tensor& context,
                           AttentionRouter& router) const;
    at::Tensor attention(const TransformerBlock& t, int depth, AttentionKind kind, const at::Tensor& x,
                         const at::Tensor& context, int height, int width, AttentionRouter& router) const;

    UNetConfig config_;
    UNetLayout layout_;
    Weights weights_;
    at::ScalarType dtype_;
    at::Device device_;
    bool channels_last_ = false;
};

} // namespace attnscope
