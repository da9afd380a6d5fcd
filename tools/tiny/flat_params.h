#pragma once
// The tiny model's parameters (U-Net and text encoder) packed in one flat fp32 buffer, so that the
// optimizer, the EMA and the checkpoint each handle a few large tensors instead of hundreds of small
// ones. The models compute with views into a working copy (fp32 or bf16) whose views are the autograd
// leaves; AdamW updates the fp32 master.
#include "model/unet.h"
#include "text/clip_text_model.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::tiny {

struct ParamSlot {
    std::string name; // diffusers name
    std::vector<int64_t> shape;
    int64_t offset = 0, numel = 0;
    bool text = false; // the text encoder's, else the U-Net's
};

class FlatParams {
  public:
    FlatParams(UNetConfig unet_config, ClipTextConfig text_config);

    const std::vector<ParamSlot>& slots() const { return slots_; }
    int64_t size() const { return size_; }
    int64_t unet_size() const;
    int64_t text_size() const { return size_ - unet_size(); }

    // The initial values: zero for biases, the U-Net's output convolution and each residual branch's
    // last layer (so every block starts as the identity), one for norm scales, N(0, 1/fan_in) elsewhere.
    at::Tensor initial(uint64_t seed) const;
    // The flat fp32 buffer (on the CPU) holding these models' weights, e.g. an exported model's; throws
    // naming the first parameter that is missing or has another shape. A U-Net without the x/y input
    // channels that this one has gets zero weights for them.
    at::Tensor pack(const UNet& unet, const ClipTextModel& text) const;
    // 1 where AdamW decays (matrices and kernels), 0 for biases and norms.
    at::Tensor decay_mask() const;

    // Models whose weights are views into `flat` (size()); they see in-place changes to it.
    UNet unet(const at::Tensor& flat, bool requires_grad = false) const;
    ClipTextModel text(const at::Tensor& flat, bool requires_grad = false) const;
    // The leaves' gradients in slot order as one flat fp32 tensor (zeros where a leaf got none); the
    // leaves' own gradients are cleared.
    at::Tensor take_grads(const UNet& unet, const ClipTextModel& text) const;

    const UNetConfig& unet_config() const { return unet_config_; }
    const ClipTextConfig& text_config() const { return text_config_; }

  private:
    Weights views(const at::Tensor& flat, bool text, bool requires_grad) const;
    UNetConfig unet_config_;
    ClipTextConfig text_config_;
    std::vector<ParamSlot> slots_;
    int64_t size_ = 0;
};

} // namespace attnscope::tiny
