#include "png_file.h"

#include "mapped_file.h"

#include <memory>
#include <stb/stb_image_write.h>
#include <stdexcept>

namespace attnscope {

Image8 to_image8(const at::Tensor& image) {
    auto t = image.dim() == 4 && image.size(0) == 1 ? image[0] : image;
    if (t.dim() != 3 || (t.size(0) != 1 && t.size(0) != 3 && t.size(0) != 4))
        throw std::invalid_argument("an image must be (C, H, W) with 1, 3 or 4 channels");
    const auto bytes =
        (t.to(at::kCPU, at::kFloat).clamp(0, 1) * 255).round().to(at::kByte).permute({1, 2, 0}).contiguous();
    Image8 out;
    out.channels = static_cast<int>(t.size(0));
    out.height = static_cast<int>(t.size(1));
    out.width = static_cast<int>(t.size(2));
    out.pixels.assign(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel());
    return out;
}

void write_png(const std::string& path, const Image8& image) {
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels)
        throw std::invalid_argument(path + ": image size and pixel count disagree");
    std::vector<uint8_t> encoded;
    const auto append = [](void* context, void* data, int size) {
        auto* out = static_cast<std::vector<uint8_t>*>(context);
        out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
    };
    if (!stbi_write_png_to_func(append, &encoded, image.width, image.height, image.channels,
                                image.pixels.data(), image.width * image.channels))
        throw std::runtime_error(path + ": PNG encoding failed");
    AtomicFileWriter out(path);
    out.write(encoded.data(), encoded.size());
    out.commit();
}

} // namespace attnscope
