#include "capture_input.h"

#include <filesystem>
#include <stdexcept>

namespace attnscope::cli {

LoadedCapture read_capture_file(const std::string& path) {
    if (!std::filesystem::exists(path))
        throw std::runtime_error(path +
                                 ": does not exist (write one with attnscope generate --capture FILE)");
    auto loaded = load_capture(path);
    if (loaded.store.entries().empty()) throw std::runtime_error(path + ": the capture holds no attention");
    return loaded;
}

ImageSize capture_image_size(const LoadedCapture& capture) {
    const auto& settings = capture.description.value("settings", nlohmann::json::object());
    if (settings.value("width", 0) > 0 && settings.value("height", 0) > 0)
        return {settings["width"].get<int>(), settings["height"].get<int>(), "settings"};
    // A capture saved without the session's summary: the finest site's grid stands in for the image.
    ImageSize size{0, 0, "the finest site (the capture records no image size)"};
    for (const auto& [key, site] : capture.store.entries())
        if (site.site.width * site.site.height > size.width * size.height) {
            size.width = site.site.width;
            size.height = site.site.height;
        }
    return size;
}

} // namespace attnscope::cli
