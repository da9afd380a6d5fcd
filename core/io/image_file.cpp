#include "image_file.h"

#include "mapped_file.h"

#include <cstring>
#include <memory>
#include <stb/stb_image.h>
#include <stdexcept>

namespace attnscope {

namespace {

enum class Format { Png, Jpeg, Bmp, Other };

bool starts_with(const uint8_t* bytes, std::size_t size, const char* magic, std::size_t n,
                 std::size_t at = 0) {
    return size >= at + n && std::memcmp(bytes + at, magic, n) == 0;
}

Format sniff(const uint8_t* b, std::size_t n) {
    if (starts_with(b, n, "\x89PNG\r\n\x1a\n", 8)) return Format::Png;
    if (starts_with(b, n, "\xff\xd8\xff", 3)) return Format::Jpeg;
    if (starts_with(b, n, "BM", 2)) return Format::Bmp;
    return Format::Other;
}

// What a file we do not read is, where its first bytes tell, so the line can say "convert it".
std::string other_kind(const uint8_t* b, std::size_t n) {
    if (starts_with(b, n, "GIF8", 4)) return "a GIF image";
    if (starts_with(b, n, "RIFF", 4) && starts_with(b, n, "WEBP", 4, 8)) return "a WebP image";
    if (starts_with(b, n, "II*\0", 4) || starts_with(b, n, "MM\0*", 4)) return "a TIFF image";
    if (starts_with(b, n, "ftyp", 4, 4)) return "an HEIF/AVIF image or a video";
    if (starts_with(b, n, "8BPS", 4)) return "a Photoshop file";
    if (n == 0) return "empty";
    return "not an image attnscope reads";
}

const char* name(Format f) {
    switch (f) {
    case Format::Png:
        return "PNG";
    case Format::Jpeg:
        return "JPEG";
    case Format::Bmp:
        return "BMP";
    case Format::Other:
        break;
    }
    return "image";
}

} // namespace

Image8 decode_image(const uint8_t* bytes, std::size_t size, const std::string& label) {
    const auto format = sniff(bytes, size);
    if (format == Format::Other)
        throw std::runtime_error(label + ": " + other_kind(bytes, size) +
                                 "; attnscope reads PNG, JPEG and BMP images: convert it to one of them");
    const std::string what = label + ": this " + std::string(name(format)) + " file";
    if (size > static_cast<std::size_t>(INT32_MAX)) throw std::runtime_error(what + " is larger than 2 GB");
    const int n = static_cast<int>(size);
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_memory(bytes, n, &w, &h, &c))
        throw std::runtime_error(what + " is corrupt or truncated (" + stbi_failure_reason() + ")");
    if (w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide)
        throw std::runtime_error(what + " is " + std::to_string(w) + "x" + std::to_string(h) +
                                 " pixels; images up to " + std::to_string(kMaxImageSide) +
                                 " pixels a side are read");
    const std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(bytes, n, &w, &h, &c, 0),
                                                           stbi_image_free);
    if (!pixels) throw std::runtime_error(what + " is corrupt or truncated (" + stbi_failure_reason() + ")");
    Image8 out{w, h, c, {}};
    out.pixels.assign(pixels.get(), pixels.get() + static_cast<std::size_t>(w) * h * c);
    return out;
}

Image8 read_image(const std::string& path) {
    const MappedFile file(path);
    return decode_image(file.data(), file.size(), path);
}

} // namespace attnscope
