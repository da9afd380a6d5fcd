#pragma once
// Writes the tiny model as a diffusers-style folder that attnscope's loaders read (assets/tiny-sd):
// model_index.json, unet/, text_encoder/, tokenizer/ and scheduler/, weights in fp16 safetensors.
#include "model/unet.h"
#include "text/clip_text_model.h"

#include <nlohmann/json.hpp>
#include <string>

namespace attnscope::tiny {

// `tokenizer_dir` holds the vocab.json and merges.txt the model was trained with (copied unless it is
// dir/tokenizer already); `training` (step, data, metrics) goes into model_index.json.
void export_model(const std::string& dir, const UNet& unet, const ClipTextModel& text,
                  const std::string& tokenizer_dir, const nlohmann::json& training);

} // namespace attnscope::tiny
