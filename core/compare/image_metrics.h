#pragma once
// Full-reference image quality of one image against another: PSNR, and SSIM as Wang, Bovik, Sheikh and
// Simoncelli define it ("Image quality assessment: from error visibility to structural similarity", IEEE
// TIP 2004): an 11x11 Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic range 1, the mean of the
// SSIM map over every window that fits inside the image (no padding), per colour channel and averaged.
#include <ATen/ATen.h>
#include <optional>

namespace attnscope {

inline constexpr int kSsimWindow = 11;

// Images are float (C, H, W) or (1, C, H, W) with values in [0, 1], as Session::image() gives them; `b`
// against the reference `a`. Both throw std::invalid_argument when the shapes differ.

// 10 log10(1 / MSE) in dB over every channel; +infinity for identical images, NaN where either holds NaN.
double psnr(const at::Tensor& a, const at::Tensor& b);
// 1 for identical images. Also throws std::invalid_argument for an image smaller than the window.
double ssim(const at::Tensor& a, const at::Tensor& b);

struct ImageComparison {
    double psnr_db = 0;
    std::optional<double> ssim; // absent for images smaller than the SSIM window
    double max_abs = 0;
    at::Tensor difference; // |a - b| times `gain`, so that the largest difference is 1: (1, C, H, W)
    double gain = 1;
};
ImageComparison compare_images(const at::Tensor& a, const at::Tensor& b);

} // namespace attnscope
