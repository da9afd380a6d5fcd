#pragma once
// A comparison as JSON (compare.json): both sides, the attention-output errors as step x site grids, the
// latents' divergence per step, the worst call and the final images' PSNR and SSIM.
#include "image_metrics.h"
#include "lockstep.h"

#include <nlohmann/json.hpp>

namespace attnscope {

nlohmann::json comparison_summary(LockstepComparison& comparison, const ImageComparison& images);

// {"max_abs", "mean_abs", "rel_l2"}.
nlohmann::json to_json(const Divergence& d);
// {"psnr_db" (the string "inf" for identical images: JSON has no infinity), "ssim" (null for images smaller
// than its window), "max_abs", "diff_gain"}.
nlohmann::json to_json(const ImageComparison& c);

} // namespace attnscope
