#include "relation_placement.h"

#include "attention/router.h"
#include "batch.h"
#include "cross_attention_maps.h"
#include "relation_attention_loss.h"

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <c10/core/GradMode.h>

namespace attnscope::tiny {

RelationPlacement evaluate_relation_placement(const UNet& unet, const ClipTextModel& text,
                                              const ClipTokenizer& tokenizer, std::uint64_t seed, int count,
                                              const RelationPlacementOptions& options) {
    AttentionRouter router;
    router.set_default_backend(options.self_backend);
    for (int i = 1; i <= 16; ++i) router.set_site_backend(i, AttentionKind::Cross, "math");
    CrossAttentionCollector collector;
    router.add_observer(&collector);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options.noise_seed);
    const c10::NoGradGuard no_grad;
    const auto device = unet.device();

    RelationPlacement r;
    for (int first = 0; first < count; first += options.batch) {
        const int n = std::min(options.batch, count - first);
        const auto b = make_batch(seed, static_cast<std::uint64_t>(first), n, Split::HeldOut, tokenizer);
        const auto direction = relation_directions(b.scenes);
        const auto noise = at::randn({n, 3, kImageSize, kImageSize}, gen).to(device, unet.dtype());
        collector.clear();
        unet.forward(noise, at::full({1}, static_cast<double>(options.timestep)),
                     text.forward(b.ids.to(device)), router);
        at::Tensor step;
        for (const auto& m : collector.maps()) {
            const auto s = phrase_centroid_step(m, b.token_labels);
            step = step.defined() ? step + s : s;
        }
        const auto right = along_beyond_across(step / static_cast<double>(collector.maps().size()), direction)
                               .gt(0)
                               .to(at::kCPU);
        for (int i = 0; i < n; ++i) {
            if (b.scenes[i].relation == Relation::None) continue;
            ++r.captions;
            r.right += right[i].item<bool>();
        }
    }
    router.remove_observer(&collector);
    return r;
}

} // namespace attnscope::tiny
