#include "image_pair.h"

#include "io/png_file.h"

#include <cmath>
#include <cstdio>

namespace attnscope::cli {

ImageComparison write_image_pair(const std::filesystem::path& dir, const at::Tensor& a,
                                 const std::string& a_name, const at::Tensor& b, const std::string& b_name) {
    auto c = compare_images(a, b);
    write_png((dir / a_name).string(), to_image8(a));
    write_png((dir / b_name).string(), to_image8(b));
    write_png((dir / "diff.png").string(), to_image8(c.difference));
    return c;
}

std::string image_verdict(const ImageComparison& c) {
    if (std::isinf(c.psnr_db)) return "identical (PSNR inf)";
    char text[96];
    if (c.ssim)
        std::snprintf(text, sizeof text, "PSNR %.1f dB, SSIM %.4f", c.psnr_db, *c.ssim);
    else
        std::snprintf(text, sizeof text, "PSNR %.1f dB (too small for SSIM)", c.psnr_db);
    return text;
}

} // namespace attnscope::cli
