#include "assets.h"

#include <cstdlib>

namespace attnscope {

std::filesystem::path assets_dir() {
    if (const char* env = std::getenv("ATTNSCOPE_ASSETS"); env && *env) return env;
    return ATTNSCOPE_ASSETS_DIR;
}

} // namespace attnscope
