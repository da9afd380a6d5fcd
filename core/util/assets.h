#pragma once
#include <filesystem>

namespace attnscope {

// Where the program's bundled files are (CLIP's vocabulary, the embedded model): $ATTNSCOPE_ASSETS when set,
// else the source tree's assets/ folder this build was made from.
std::filesystem::path assets_dir();

} // namespace attnscope
