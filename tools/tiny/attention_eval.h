#pragma once
// How well the tiny model's cross-attention finds the objects its caption names, DAAM-style: a
// ground-truth scene is noised to a few timesteps, the U-Net runs on it with every cross-attention site's
// P recorded, each site's map is upsampled to 64x64 and summed over sites, heads and timesteps. Per
// object, the map of its noun is min-max normalised and thresholded (IoU against the object's mask), and
// its argmax pixel must fall on the object (the "pointing game").
#include "model/unet.h"
#include "scenes.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::tiny {

struct AttentionEvalOptions {
    std::vector<int> timesteps{300, 500, 700};
    double threshold = 0.4; // on the min-max normalised map
    int batch = 8;          // scenes per forward pass
    std::uint64_t noise_seed = 0;
    // Backend of the self-attention sites; cross-attention always runs "math" (P is needed).
    std::string self_backend = "auto";
};

struct ObjectScore {
    int scene = 0, phrase = 0; // phrase -1: the word "background"
    std::string word;
    double iou = 0;
    bool hit = false; // the map's argmax pixel lies on the object
};

struct AttentionEvalResult {
    std::vector<ObjectScore> objects; // the phrases' nouns
    std::vector<ObjectScore> backgrounds;
    double mean_iou = 0, hit_rate = 0, background_iou = 0;
    std::string summary() const; // one line
};

// `scenes` carry their layout (sample_scene); their captions must tokenize one token per word.
AttentionEvalResult evaluate_attention(const UNet& unet, const ClipTextModel& text,
                                       const ClipTokenizer& tokenizer, const std::vector<Scene>& scenes,
                                       const AttentionEvalOptions& options = {});

// IoU and pointing for one map (64x64 float) against one mask (64x64, nonzero inside).
ObjectScore score_map(const at::Tensor& map, const std::vector<std::uint8_t>& mask, double threshold);

} // namespace attnscope::tiny
