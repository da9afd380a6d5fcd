#include "png16_file.h"

#include "mapped_file.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace attnscope {
namespace {

constexpr std::size_t kMaxStoredBlock = 65535; // a stored deflate block's LEN is 16 bits

std::array<uint32_t, 256> crc_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
        uint32_t c = n;
        for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[n] = c;
    }
    return t;
}

uint32_t crc32(const uint8_t* data, std::size_t n) {
    static const auto table = crc_table();
    uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t adler32(const std::vector<uint8_t>& data) {
    constexpr uint32_t mod = 65521;
    uint32_t a = 1, b = 0;
    for (const uint8_t byte : data) {
        a = (a + byte) % mod;
        b = (b + a) % mod;
    }
    return b << 16 | a;
}

void put32(std::vector<uint8_t>& out, uint32_t v) { // PNG and zlib integers are big-endian
    for (const int shift : {24, 16, 8, 0}) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_chunk(std::vector<uint8_t>& out, const char (&type)[5], const std::vector<uint8_t>& data) {
    put32(out, static_cast<uint32_t>(data.size()));
    const std::size_t start = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data.begin(), data.end());
    put32(out, crc32(out.data() + start, out.size() - start)); // over type and data
}

// Scanlines with filter type 0 (none) before each row, samples big-endian.
std::vector<uint8_t> scanlines(const Image16& image) {
    std::vector<uint8_t> raw;
    raw.reserve(static_cast<std::size_t>(image.height) * (1 + 2 * static_cast<std::size_t>(image.width)));
    for (int y = 0; y < image.height; ++y) {
        raw.push_back(0);
        for (int x = 0; x < image.width; ++x) {
            const uint16_t v = image.pixels[static_cast<std::size_t>(y) * image.width + x];
            raw.push_back(static_cast<uint8_t>(v >> 8));
            raw.push_back(static_cast<uint8_t>(v & 0xFF));
        }
    }
    return raw;
}

std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
    std::vector<uint8_t> z{0x78, 0x01}; // deflate, 32 KiB window, no dictionary; 0x7801 % 31 == 0
    std::size_t at = 0;
    do {
        const std::size_t n = std::min(kMaxStoredBlock, raw.size() - at);
        const bool last = at + n == raw.size();
        z.push_back(last ? 1 : 0); // BFINAL, BTYPE 00 (stored); the rest of the byte is padding
        const auto len = static_cast<uint16_t>(n), nlen = static_cast<uint16_t>(~len);
        for (const uint16_t v : {len, nlen}) { // little-endian, unlike everything around them
            z.push_back(static_cast<uint8_t>(v & 0xFF));
            z.push_back(static_cast<uint8_t>(v >> 8));
        }
        z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(at),
                 raw.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
    } while (at < raw.size());
    put32(z, adler32(raw));
    return z;
}

} // namespace

std::vector<uint8_t> encode_png16(const Image16& image) {
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height))
        throw std::invalid_argument("a 16-bit image's size and pixel count disagree");
    const std::size_t raw_bytes =
        static_cast<std::size_t>(image.height) * (1 + 2 * static_cast<std::size_t>(image.width));
    // Every stored block adds 5 bytes; the data chunk's length field holds at most 2^31 - 1.
    if (raw_bytes + 5 * (raw_bytes / kMaxStoredBlock + 1) + 6 > 0x7FFFFFFFu)
        throw std::invalid_argument("a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                                    " image is too large for a 16-bit PNG written uncompressed");
    std::vector<uint8_t> header;
    put32(header, static_cast<uint32_t>(image.width));
    put32(header, static_cast<uint32_t>(image.height));
    header.insert(header.end(),
                  {16, 0, 0, 0, 0}); // bit depth 16, gray, deflate, adaptive filters, no interlace

    std::vector<uint8_t> out{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    put_chunk(out, "IHDR", header);
    put_chunk(out, "IDAT", zlib_stored(scanlines(image)));
    put_chunk(out, "IEND", {});
    return out;
}

void write_png16(const std::string& path, const Image16& image) {
    std::vector<uint8_t> bytes;
    try {
        bytes = encode_png16(image);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(path + ": " + e.what());
    }
    AtomicFileWriter out(path);
    out.write(bytes.data(), bytes.size());
    out.commit();
}

} // namespace attnscope
