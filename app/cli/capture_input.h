#pragma once
// A capture file (`attnscope generate --capture`) as the commands that explore one read it.
#include "capture/capture_file.h"

#include <string>

namespace attnscope::cli {

// Throws std::runtime_error naming the file when it is missing, not a capture, or holds no attention.
LoadedCapture read_capture_file(const std::string& path);

} // namespace attnscope::cli
