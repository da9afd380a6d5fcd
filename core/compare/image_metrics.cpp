#include "image_metrics.h"

#include "util/shape_string.h"

#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace attnscope {
namespace {

// (1, C, H, W) float64 on the CPU.
at::Tensor batch_of_one(const at::Tensor& image) {
    const auto x = image.dim() == 3 ? image.unsqueeze(0) : image;
    if (x.dim() != 4 || x.size(0) != 1)
        throw std::invalid_argument("expected an image (C, H, W) or (1, C, H, W), got " +
                                    shape_string(image.sizes()));
    return x.to(at::kCPU, at::kDouble);
}

std::pair<at::Tensor, at::Tensor> pair_of(const at::Tensor& a, const at::Tensor& b) {
    auto x = batch_of_one(a), y = batch_of_one(b);
    if (!x.sizes().equals(y.sizes()))
        throw std::invalid_argument("cannot compare images of shapes " + shape_string(a.sizes()) + " and " +
                                    shape_string(b.sizes()));
    return {x, y};
}

// The normalized 2-D Gaussian, one copy per channel for a depthwise convolution: (C, 1, 11, 11).
at::Tensor gaussian_window(int64_t channels) {
    const double sigma = 1.5;
    const auto r = at::arange(kSsimWindow, at::kDouble) - (kSsimWindow - 1) / 2;
    auto g = at::exp(-(r * r) / (2 * sigma * sigma));
    g = g / g.sum();
    return at::outer(g, g).expand({channels, 1, kSsimWindow, kSsimWindow}).contiguous();
}

} // namespace

double psnr(const at::Tensor& a, const at::Tensor& b) {
    const auto [x, y] = pair_of(a, b);
    const double mse = (x - y).pow(2).mean().item<double>();
    if (std::isnan(mse)) return mse; // an image that holds NaN is not identical to anything
    return mse > 0 ? 10 * std::log10(1 / mse) : std::numeric_limits<double>::infinity();
}

double ssim(const at::Tensor& a, const at::Tensor& b) {
    const auto [x, y] = pair_of(a, b);
    if (x.size(2) < kSsimWindow || x.size(3) < kSsimWindow)
        throw std::invalid_argument("SSIM needs images of at least " + std::to_string(kSsimWindow) + "x" +
                                    std::to_string(kSsimWindow) + " pixels, got " +
                                    std::to_string(x.size(3)) + "x" + std::to_string(x.size(2)));
    const int64_t channels = x.size(1);
    const auto w = gaussian_window(channels);
    // Local (Gaussian-weighted) means, variances and covariance of every window position.
    const std::array<int64_t, 2> ones{1, 1}, none{0, 0};
    const auto local = [&](const at::Tensor& t) {
        return at::conv2d(t, w, at::Tensor(), ones, none, ones, channels);
    };
    const auto mu_x = local(x), mu_y = local(y);
    const auto var_x = local(x * x) - mu_x * mu_x, var_y = local(y * y) - mu_y * mu_y;
    const auto cov = local(x * y) - mu_x * mu_y;
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03; // (K L)^2 with L = 1
    const auto map =
        (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2));
    return map.mean().item<double>(); // every channel has as many windows: the mean of the channel means
}

ImageComparison compare_images(const at::Tensor& a, const at::Tensor& b) {
    const auto [x, y] = pair_of(a, b);
    ImageComparison c;
    c.psnr_db = psnr(x, y);
    if (x.size(2) >= kSsimWindow && x.size(3) >= kSsimWindow) c.ssim = ssim(x, y);
    const auto diff = (x - y).abs();
    c.max_abs = diff.max().item<double>();
    c.gain = c.max_abs > 0 ? 1 / c.max_abs : 1;
    c.difference = (diff * c.gain).to(at::kFloat);
    return c;
}

} // namespace attnscope
