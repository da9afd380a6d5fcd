#include "shape_word_effect.h"

#include "sampler.h"

#include <algorithm>

namespace attnscope::tiny {

ShapeWordEffect shape_word_effect(const UNet& unet, const ClipTextModel& text, const ClipTokenizer& tokenizer,
                                  const std::vector<Scene>& scenes, AttentionRouter& router) {
    const auto diff = [](const at::Tensor& a, const at::Tensor& b) {
        return (a - b).abs().mean().item<double>() * 127.5; // [-1, 1] -> 1/255 units
    };
    ShapeWordEffect e;
    int pairs = 0;
    for (std::size_t i = 0; i < scenes.size(); ++i) {
        SampleOptions o;
        o.seed = 1000 + i;
        std::vector<at::Tensor> images;
        for (const auto shape : all_shapes()) {
            auto variant = scenes[i];
            auto& phrase = variant.phrases[0];
            phrase.shape = shape;
            variant.words[phrase.noun_word] = shape_word(shape, phrase.count > 1);
            images.push_back(sample_images(unet, text, tokenizer, {variant.caption()}, router, o));
        }
        for (std::size_t a = 0; a < images.size(); ++a)
            for (std::size_t b = a + 1; b < images.size(); ++b)
                e.shape_swap += diff(images[a], images[b]), ++pairs;
        const auto& shapes = all_shapes();
        const auto same =
            std::find(shapes.begin(), shapes.end(), scenes[i].phrases[0].shape) - shapes.begin();
        o.seed += 1u << 20;
        e.other_seed +=
            diff(images[same], sample_images(unet, text, tokenizer, {scenes[i].caption()}, router, o));
    }
    if (pairs > 0) e.shape_swap /= pairs, e.other_seed /= static_cast<double>(scenes.size());
    return e;
}

} // namespace attnscope::tiny
