// PNG output: what is written reads back pixel for pixel, conversion rounds as documented, and a failed
// write leaves nothing behind.
#include "io/image_file.h"
#include "io/png_file.h"
#include "test_util.h"

namespace attnscope {
namespace {

TEST(PngFile, WritesWhatReadsBack) {
    test::TempDir dir;
    const auto image = at::rand({3, 5, 7}, at::kFloat);
    const auto rgb = to_image8(image);
    EXPECT_EQ(rgb.width, 7);
    EXPECT_EQ(rgb.height, 5);
    EXPECT_EQ(rgb.channels, 3);
    write_png(dir.file("a.png"), rgb);
    const auto back = read_image(dir.file("a.png"));
    EXPECT_EQ(back.width, 7);
    EXPECT_EQ(back.height, 5);
    EXPECT_EQ(back.channels, 3);
    EXPECT_EQ(back.pixels, rgb.pixels);
}

TEST(PngFile, RoundsAndClampsToEightBitsInterleaved) {
    // Channel-major (C, H, W) in, pixel-major RGB out; 0.5 -> 128, out-of-range values clamp.
    const auto image = at::tensor({0.5f, -1.0f, 1.0f, 2.0f, 0.1f, 0.2f}).reshape({3, 1, 2});
    const auto rgb = to_image8(image.unsqueeze(0));
    const std::vector<uint8_t> expected{128, 255, 26, 0, 255, 51};
    EXPECT_EQ(rgb.pixels, expected);
}

TEST(PngFile, ErrorsNameThePath) {
    test::TempDir dir;
    const auto rgb = to_image8(at::zeros({1, 2, 2}));
    ATTNSCOPE_EXPECT_THROW_WITH(write_png(dir.file("missing/a.png"), rgb), std::runtime_error,
                                "missing/a.png");
    test::write_bytes(dir.file("not.png"), "this is not an image");
    ATTNSCOPE_EXPECT_THROW_WITH(read_image(dir.file("not.png")), std::runtime_error,
                                "not.png: not an image attnscope reads; attnscope reads PNG, JPEG and BMP");
    EXPECT_THROW(to_image8(at::zeros({2, 4, 4})), std::invalid_argument);
}

} // namespace
} // namespace attnscope
