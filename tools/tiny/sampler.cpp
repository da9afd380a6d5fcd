#include "sampler.h"

#include "scenes.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

namespace attnscope::tiny {

at::Tensor sample_images(const UNet& unet, const ClipTextModel& text, const ClipTokenizer& tokenizer,
                         const std::vector<std::string>& captions, AttentionRouter& router,
                         const SampleOptions& options) {
    const int64_t n = static_cast<int64_t>(captions.size()), T = ClipTokenizer::kContextLength;
    const auto device = unet.device();
    const c10::NoGradGuard no_grad;
    auto ids = at::empty({2 * n, T}, at::kLong);
    const auto empty = tokenizer.encode("");
    for (int64_t i = 0; i < n; ++i) {
        ids[i].copy_(at::tensor(empty.ids, at::kLong)); // unconditional half first, as diffusers does
        ids[n + i].copy_(at::tensor(tokenizer.encode(captions[i]).ids, at::kLong));
    }
    const auto context = text.forward(ids.to(device));

    auto scheduler = make_scheduler(options.scheduler, Prediction::Epsilon, options.steps, options.spacing);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    auto x = (at::randn({n, 3, kImageSize, kImageSize}, gen) * scheduler->init_noise_sigma())
                 .to(device, unet.dtype());
    for (int i = 0; i < scheduler->num_steps(); ++i) {
        const auto in = scheduler->scale_model_input(at::cat({x, x}), i);
        const auto t = at::full({1}, scheduler->timesteps()[i]);
        const auto eps = unet.forward(in, t, context, router).chunk(2);
        const auto guided = eps[0] + (eps[1] - eps[0]) * options.guidance;
        x = scheduler->step(guided, i, x).prev_sample;
    }
    return x.to(at::kCPU, at::kFloat).clamp(-1, 1);
}

std::vector<std::uint8_t> to_rgb_bytes(const at::Tensor& image) {
    const auto bytes = image.to(at::kCPU, at::kFloat)
                           .add(1)
                           .mul(127.5)
                           .round()
                           .clamp(0, 255)
                           .to(at::kByte)
                           .permute({1, 2, 0})
                           .contiguous();
    return {bytes.data_ptr<std::uint8_t>(), bytes.data_ptr<std::uint8_t>() + bytes.numel()};
}

} // namespace attnscope::tiny
