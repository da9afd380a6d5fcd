#pragma once
// A capture file (`attnscope generate --capture`) as the commands that explore one read it.
#include "capture/capture_file.h"

#include <string>

namespace attnscope::cli {

// Throws std::runtime_error naming the file when it is missing, not a capture, or holds no attention.
LoadedCapture read_capture_file(const std::string& path);

struct ImageSize {
    int width = 0, height = 0;
    std::string source; // "settings", or what stands in for them
};
// The generated image's size from the capture's settings; the finest site's grid when it records none.
ImageSize capture_image_size(const LoadedCapture& capture);

} // namespace attnscope::cli
