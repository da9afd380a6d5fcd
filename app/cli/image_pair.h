#pragma once
// What compare and edit both end with: two final images side by side and their difference.
#include "compare/image_metrics.h"

#include <ATen/ATen.h>
#include <filesystem>
#include <string>

namespace attnscope::cli {

// Writes `a` and `b` under their names and diff.png (|a - b| amplified so that the largest difference is
// white) in `dir`; returns their PSNR, SSIM and the amplification.
ImageComparison write_image_pair(const std::filesystem::path& dir, const at::Tensor& a,
                                 const std::string& a_name, const at::Tensor& b, const std::string& b_name);

// "PSNR 31.2 dB, SSIM 0.974" or "identical (PSNR inf)".
std::string image_verdict(const ImageComparison& c);

} // namespace attnscope::cli
