#pragma once
// Text-to-image with the tiny model: a scheduler's loop with classifier-free guidance, in pixel space.
// (The step-by-step generation session in core/session will replace this for the program; the
// evaluation keeps its own short loop so that it depends on nothing but the model and a scheduler.)
#include "attention/router.h"
#include "model/unet.h"
#include "sched/scheduler.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::tiny {

struct SampleOptions {
    SchedulerKind scheduler = SchedulerKind::DDIM;
    int steps = 20;
    double guidance = 4.0;
    // DDIM's timesteps at 20 steps: ClassDefault is "leading" (951, 901, ..., 1: the first step starts
    // from pure noise as if it were t = 951); Trailing: 999, 949, ..., 49 (the first step at the noisiest
    // timestep, the last one leaves t = 49 in one jump).
    TimestepSpacing spacing = TimestepSpacing::ClassDefault;
    std::uint64_t seed = 0; // initial noise: a CPU generator, so the same on every device
};

// Returns (B, 3, 64, 64) in [-1, 1] on the CPU, one image per caption.
at::Tensor sample_images(const UNet& unet, const ClipTextModel& text, const ClipTokenizer& tokenizer,
                         const std::vector<std::string>& captions, AttentionRouter& router,
                         const SampleOptions& options = {});

// (3, 64, 64) in [-1, 1] -> 64x64x3 RGB bytes.
std::vector<std::uint8_t> to_rgb_bytes(const at::Tensor& image);

} // namespace attnscope::tiny
