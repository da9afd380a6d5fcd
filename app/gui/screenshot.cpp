#include "screenshot.h"

#include "io/png_file.h"

#include <GL/gl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attnscope::gui {

void save_screenshot(const std::string& path, int width, int height,
                     const std::map<std::string, Rect>& regions) {
    Image8 image;
    image.width = width;
    image.height = height;
    image.channels = 3;
    image.pixels.resize(static_cast<size_t>(width) * height * 3);
    std::vector<uint8_t> rows(image.pixels.size());
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    // From what the frame was drawn into: the window's back buffer (its default read buffer) or the offscreen
    // framebuffer (bound for the frame).
    glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, rows.data());
    // GL's first row is the bottom one.
    const size_t stride = static_cast<size_t>(width) * 3;
    for (int y = 0; y < height; ++y)
        std::copy_n(rows.begin() + static_cast<std::ptrdiff_t>((height - 1 - y) * stride), stride,
                    image.pixels.begin() + static_cast<std::ptrdiff_t>(y * stride));
    write_png(path, image);

    nlohmann::json json = {{"width", width}, {"height", height}, {"regions", nlohmann::json::object()}};
    for (const auto& [name, r] : regions) json["regions"][name] = {r.x, r.y, r.w, r.h};
    std::ofstream out(path + ".json");
    out << json.dump(1) << "\n";
    if (!out) throw std::runtime_error(path + ".json: cannot write");
}

} // namespace attnscope::gui
