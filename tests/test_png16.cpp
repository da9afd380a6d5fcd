// Our 16-bit grayscale PNG encoder, checked by an independent decoder (stb_image): every sample reads back,
// at odd sizes and past one stored deflate block (64 KiB), and the file has the structure the PNG and
// zlib specifications ask for.
#include "io/png16_file.h"
#include "test_util.h"

#include <memory>
#include <random>
#include <stb/stb_image.h>

namespace attnscope {
namespace {

Image16 random_image(int width, int height, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> sample(0, 65535);
    Image16 image{width, height, {}};
    for (int i = 0; i < width * height; ++i) image.pixels.push_back(static_cast<uint16_t>(sample(rng)));
    image.pixels.front() = 0; // the extremes, so byte order and sign mistakes show
    image.pixels.back() = 65535;
    return image;
}

// stb's 16-bit decoder on the encoded bytes; fails the test when it cannot read them.
std::vector<uint16_t> decode(const std::vector<uint8_t>& bytes, int width, int height) {
    const int n = static_cast<int>(bytes.size());
    EXPECT_TRUE(stbi_is_16_bit_from_memory(bytes.data(), n));
    int w = 0, h = 0, channels = 0;
    const std::unique_ptr<stbi_us, void (*)(void*)> pixels(
        stbi_load_16_from_memory(bytes.data(), n, &w, &h, &channels, 0), stbi_image_free);
    if (!pixels) {
        ADD_FAILURE() << "stb cannot decode it: " << stbi_failure_reason();
        return {};
    }
    EXPECT_EQ(w, width);
    EXPECT_EQ(h, height);
    EXPECT_EQ(channels, 1);
    return {pixels.get(), pixels.get() + static_cast<std::size_t>(w) * h * channels};
}

uint32_t be32(const std::vector<uint8_t>& b, std::size_t at) {
    return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}

TEST(Png16, EverySampleReadsBackAtOddSizes) {
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {3, 5}, {7, 2}, {1, 13}, {17, 1}}) {
        const auto image = random_image(w, h, static_cast<uint32_t>(w * 100 + h));
        EXPECT_EQ(decode(encode_png16(image), w, h), image.pixels) << w << "x" << h;
    }
}

TEST(Png16, ImagesPastOneStoredBlockReadBack) {
    // 301x211: 211 rows of 1 + 602 bytes = 127,233 bytes of scanlines, so two stored blocks, the second
    // partial; 512x512 gives eight full blocks and a short one.
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{301, 211}, {512, 512}}) {
        const auto image = random_image(w, h, 7);
        const auto bytes = encode_png16(image);
        EXPECT_EQ(decode(bytes, w, h), image.pixels) << w << "x" << h;
        const std::size_t raw = static_cast<std::size_t>(h) * (1 + 2 * w), blocks = (raw + 65534) / 65535;
        ASSERT_GT(blocks, 1u);
        // signature, IHDR (12 + 13), IDAT (12 + zlib header 2 + 5 per block + data + Adler-32 4), IEND (12)
        EXPECT_EQ(bytes.size(), 8 + 25 + 12 + 2 + 5 * blocks + raw + 4 + 12);
    }
}

TEST(Png16, HeaderSaysSixteenBitGray) {
    const auto bytes = encode_png16(random_image(5, 3, 1));
    EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 4), "PNG");
    EXPECT_EQ(be32(bytes, 8), 13u); // IHDR's length
    EXPECT_EQ(std::string(bytes.begin() + 12, bytes.begin() + 16), "IHDR");
    EXPECT_EQ(be32(bytes, 16), 5u);
    EXPECT_EQ(be32(bytes, 20), 3u);
    EXPECT_EQ(bytes[24], 16); // bit depth
    EXPECT_EQ(bytes[25], 0);  // colour type: grayscale
    EXPECT_EQ(std::string(bytes.end() - 8, bytes.end() - 4), "IEND");
}

TEST(Png16, WritesAtomicallyAndNamesThePath) {
    test::TempDir dir;
    const auto image = random_image(4, 4, 3);
    write_png16(dir.file("a.png"), image);
    const auto file = test::read_bytes(dir.file("a.png"));
    EXPECT_EQ(decode(std::vector<uint8_t>(file.begin(), file.end()), 4, 4), image.pixels);
    ATTNSCOPE_EXPECT_THROW_WITH(write_png16(dir.file("missing/a.png"), image), std::runtime_error,
                                "missing/a.png");
    ATTNSCOPE_EXPECT_THROW_WITH(write_png16(dir.file("b.png"), Image16{4, 5, image.pixels}),
                                std::invalid_argument,
                                "b.png: a 16-bit image's size and pixel count disagree");
    EXPECT_FALSE(std::filesystem::exists(dir.file("b.png")));
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1); // no temporary left
}

} // namespace
} // namespace attnscope
