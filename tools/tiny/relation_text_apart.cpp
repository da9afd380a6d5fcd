#include "relation_text_apart.h"

#include "batch.h"

#include <c10/core/GradMode.h>

namespace attnscope::tiny {

double relation_text_apart(const ClipTextModel& text, const ClipTokenizer& tokenizer,
                           const std::vector<Scene>& scenes) {
    const c10::NoGradGuard no_grad;
    const auto second_noun = [&](const Scene& scene) {
        const auto encoding = tokenizer.encode(scene.caption());
        const auto out = text.forward(at::tensor(encoding.ids, at::kLong).view({1, -1}).to(text.device()));
        return out[0][word_token_positions(scene, encoding)[scene.phrases[1].noun_word]].to(at::kFloat);
    };
    double sum = 0;
    int n = 0;
    for (const auto& scene : scenes) {
        if (scene.relation == Relation::None) continue;
        const auto own = second_noun(scene);
        const auto twin = second_noun(opposite_twin(scene));
        sum += ((own - twin).norm() / own.norm()).item<double>(), ++n;
    }
    return n > 0 ? sum / n : 0;
}

} // namespace attnscope::tiny
