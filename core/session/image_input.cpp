#include "image_input.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace attnscope {

std::pair<int, int> size_for_picture(const Image8& image, int native_width, int native_height) {
    if (image.width <= 0 || image.height <= 0) throw std::invalid_argument("the image is empty");
    const double area = static_cast<double>(native_width) * native_height;
    const double aspect = static_cast<double>(image.width) / image.height;
    const auto side = [](double v) { return std::max(64, static_cast<int>(std::lround(v / 64)) * 64); };
    return {side(std::sqrt(area * aspect)), side(std::sqrt(area / aspect))};
}

at::Tensor fit_image(const Image8& image, int width, int height) {
    const int c = image.channels;
    if (image.width <= 0 || image.height <= 0 || c < 1 || c > 4 ||
        image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * c)
        throw std::invalid_argument("the image is empty or its size and pixel count disagree");
    if (width <= 0 || height <= 0)
        throw std::invalid_argument("cannot fit an image to " + std::to_string(width) + "x" +
                                    std::to_string(height));
    const auto hwc =
        at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, c}, at::kByte);
    const int colour = c >= 3 ? 3 : 1; // RGB(A) keeps RGB, gray (+ alpha) keeps gray
    auto rgb = hwc.narrow(2, 0, colour).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div(255.0f);
    if (colour == 1) rgb = rgb.expand({1, 3, image.height, image.width});

    if (image.width != width || image.height != height) {
        const double scale =
            std::max(static_cast<double>(width) / image.width, static_cast<double>(height) / image.height);
        const auto covered = [&](int side, int target) {
            return std::max(target, static_cast<int>(std::lround(side * scale)));
        };
        const int64_t sw = covered(image.width, width), sh = covered(image.height, height);
        // Antialiased bilinear averages the covered pixels when shrinking and interpolates when growing.
        rgb = at::_upsample_bilinear2d_aa(rgb.contiguous(), {sh, sw}, /*align_corners=*/false, c10::nullopt,
                                          c10::nullopt)
                  .narrow(2, (sh - height) / 2, height)
                  .narrow(3, (sw - width) / 2, width);
    }
    return (rgb.contiguous() * 2.0f - 1.0f).clamp(-1.0f, 1.0f);
}

} // namespace attnscope
