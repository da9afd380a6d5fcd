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

} // namespace attnscope::cli
