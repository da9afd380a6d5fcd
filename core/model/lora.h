#pragma once
// LoRA files as people download them, added to a loaded U-Net and text encoder without merging, so their
// strength changes between steps (model/weights.h's Adapter). Two namings, .safetensors only:
//  - kohya-ss: lora_unet_<layer, '_' for '.'>.lora_down.weight, .lora_up.weight and .alpha; lora_te_ (or
//    lora_te1_) for the text encoder; convolutions (LoCon) alike;
//  - diffusers / PEFT: unet.<layer>.lora_A.weight and .lora_B.weight, text_encoder.<layer>..., also under
//    base_model.model.; with .alpha where the file keeps one, else alpha = rank.
// Each layer W gains scale * alpha / rank * up @ down.
#include "model/lora_names.h"
#include "model/unet.h"
#include "text/clip_text_model.h"

#include <ATen/ATen.h>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace attnscope {

struct LoraLayer {
    LoraModel model = LoraModel::UNet;
    std::string module; // the layer's diffusers name, e.g. "mid_block.attentions.0.proj_in"
    std::string key;    // the file's key of its down matrix, for messages
    at::Tensor down, up;
    double alpha = 0; // the file's, else the rank (a factor of 1)
    double factor() const { return alpha / static_cast<double>(down.size(0)); } // alpha / rank
};

struct LoraFile {
    std::string path;
    std::vector<LoraLayer> layers;
};

// Reads the file and finds every layer it updates in these models. Throws std::runtime_error naming the file
// and the first key (in the file's sorted order) that is not LoRA, names no layer of these models or does not
// fit the layer's shape: a LoRA made for another model is refused before anything is changed.
LoraFile read_lora(const std::string& path, const UNet& unet, const ClipTextModel& text);

// Adds every layer's update to the models (read_lora has checked them); all share `scale`.
void apply_lora(const LoraFile& lora, UNet& unet, ClipTextModel& text,
                const std::shared_ptr<const std::atomic<double>>& scale);

} // namespace attnscope
