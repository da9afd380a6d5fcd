#pragma once
#include <filesystem>
#include <string>

namespace attnscope {

// Where the program's bundled files (CLIP's vocabulary, the colormaps, the embedded model) were found, and by
// which rule, for `attnscope info`.
struct AssetsLocation {
    std::filesystem::path dir;
    std::string found_by; // "beside the program", "$ATTNSCOPE_ASSETS" or "the build tree"
};

// The first of: ../share/attnscope next to this executable (an installed or relocated copy),
// $ATTNSCOPE_ASSETS, the source tree's assets/ this build was made from. Throws, naming every place it
// looked, when none is there.
AssetsLocation locate_assets();

// locate_assets().dir.
std::filesystem::path assets_dir();

} // namespace attnscope
