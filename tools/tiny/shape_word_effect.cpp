#include "shape_word_effect.h"

#include "batch.h"
#include "sampler.h"

#include <algorithm>
#include <c10/core/GradMode.h>

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
        std::vector<at::Tensor> images, nouns;
        for (const auto shape : all_shapes()) {
            const auto variant = with_first_shape(scenes[i], shape);
            images.push_back(sample_images(unet, text, tokenizer, {variant.caption()}, router, o));
            const auto encoding = tokenizer.encode(variant.caption());
            const c10::NoGradGuard no_grad;
            const auto out =
                text.forward(at::tensor(encoding.ids, at::kLong).view({1, -1}).to(text.device()));
            nouns.push_back(
                out[0][word_token_positions(variant, encoding)[variant.phrases[0].noun_word]].to(at::kFloat));
        }
        for (std::size_t a = 0; a < images.size(); ++a)
            for (std::size_t b = a + 1; b < images.size(); ++b) {
                e.shape_swap += diff(images[a], images[b]), ++pairs;
                e.noun_text_apart += ((nouns[a] - nouns[b]).norm() / nouns[a].norm()).item<double>();
            }
        const auto& shapes = all_shapes();
        const auto same =
            std::find(shapes.begin(), shapes.end(), scenes[i].phrases[0].shape) - shapes.begin();
        o.seed += 1u << 20;
        e.other_seed +=
            diff(images[same], sample_images(unet, text, tokenizer, {scenes[i].caption()}, router, o));
    }
    if (pairs > 0)
        e.shape_swap /= pairs, e.noun_text_apart /= pairs, e.other_seed /= static_cast<double>(scenes.size());
    return e;
}

} // namespace attnscope::tiny
