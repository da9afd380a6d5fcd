#include "attention_eval.h"

#include "attention/router.h"
#include "batch.h"
#include "cross_attention_maps.h"
#include "sched/scheduler.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace attnscope::tiny {

std::string AttentionEvalResult::summary() const {
    char line[200];
    std::snprintf(line, sizeof line, "objects %zu: mean IoU %.3f, pointing %.1f%%; background IoU %.3f",
                  objects.size(), mean_iou, 100 * hit_rate, background_iou);
    return line;
}

ObjectScore score_map(const at::Tensor& map, const std::vector<std::uint8_t>& mask, double threshold) {
    constexpr int N = kImageSize;
    const auto m = map.to(at::kCPU, at::kFloat).contiguous();
    const float lo = m.min().item<float>(), hi = m.max().item<float>();
    const float* a = m.data_ptr<float>();
    ObjectScore s;
    int inter = 0, uni = 0, best = 0;
    for (int i = 0; i < N * N; ++i) {
        const bool on = hi > lo && (a[i] - lo) >= threshold * (hi - lo);
        inter += on && mask[i];
        uni += on || mask[i];
        if (a[i] > a[best]) best = i;
    }
    s.iou = uni ? static_cast<double>(inter) / uni : 0;
    s.hit = mask[best] != 0;
    return s;
}

AttentionEvalResult evaluate_attention(const UNet& unet, const ClipTextModel& text,
                                       const ClipTokenizer& tokenizer, const std::vector<Scene>& scenes,
                                       const AttentionEvalOptions& options) {
    if (options.timesteps.empty()) throw std::invalid_argument("attention evaluation needs a timestep");
    AttentionRouter router;
    router.set_default_backend(options.self_backend);
    for (int i = 1; i <= 16; ++i) router.set_site_backend(i, AttentionKind::Cross, "math");
    CrossAttentionCollector collector;
    router.add_observer(&collector);
    const auto& alphas = sd_alphas_cumprod();
    const auto device = unet.device();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options.noise_seed);
    const c10::NoGradGuard no_grad;

    AttentionEvalResult r;
    for (std::size_t first = 0; first < scenes.size(); first += options.batch) {
        const int n = static_cast<int>(std::min<std::size_t>(options.batch, scenes.size() - first));
        std::vector<RenderedScene> rendered;
        std::vector<std::vector<int>> positions;
        auto images = at::empty({n, 3, kImageSize, kImageSize});
        auto ids = at::empty({n, ClipTokenizer::kContextLength}, at::kLong);
        for (int i = 0; i < n; ++i) {
            const auto& scene = scenes[first + i];
            rendered.push_back(render_scene(scene));
            const auto enc = tokenizer.encode(scene.caption());
            positions.push_back(word_token_positions(scene, enc));
            ids[i].copy_(at::tensor(enc.ids, at::kLong));
            images[i].copy_(at::from_blob(rendered.back().rgb.data(), {kImageSize, kImageSize, 3}, at::kByte)
                                .permute({2, 0, 1})
                                .to(at::kFloat)
                                .div(127.5)
                                .sub(1.0));
        }
        const auto context = text.forward(ids.to(device));
        at::Tensor heat;
        for (const int t : options.timesteps) {
            const double a = alphas.at(t);
            const auto noise = at::randn(images.sizes(), gen);
            const auto noisy = (images * std::sqrt(a) + noise * std::sqrt(1 - a)).to(device, unet.dtype());
            collector.clear();
            unet.forward(noisy, at::full({1}, static_cast<double>(t)), context, router);
            const auto h = aggregate_maps(collector.maps(), kImageSize).to(at::kCPU);
            heat = heat.defined() ? heat + h : h;
        }
        for (int i = 0; i < n; ++i) {
            const auto& scene = scenes[first + i];
            const int si = static_cast<int>(first) + i;
            for (std::size_t g = 0; g < scene.phrases.size(); ++g) {
                const int w = scene.phrases[g].noun_word;
                auto s = score_map(heat[i][positions[i][w]], rendered[i].mask(static_cast<int>(g) + 1),
                                   options.threshold);
                s.scene = si, s.phrase = static_cast<int>(g), s.word = scene.words[w];
                r.objects.push_back(s);
            }
            auto s = score_map(heat[i][positions[i][scene.background_word]], rendered[i].mask(0),
                               options.threshold);
            s.scene = si, s.phrase = -1, s.word = "background";
            r.backgrounds.push_back(s);
        }
    }
    router.remove_observer(&collector);
    for (const auto& o : r.objects) r.mean_iou += o.iou, r.hit_rate += o.hit;
    for (const auto& o : r.backgrounds) r.background_iou += o.iou;
    if (!r.objects.empty()) r.mean_iou /= r.objects.size(), r.hit_rate /= r.objects.size();
    if (!r.backgrounds.empty()) r.background_iou /= r.backgrounds.size();
    return r;
}

} // namespace attnscope::tiny
