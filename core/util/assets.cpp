#include "assets.h"

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace attnscope {
namespace {

namespace fs = std::filesystem;

// An installed program's files: PREFIX/bin/attnscope reads PREFIX/share/attnscope, wherever PREFIX was moved.
// Empty where /proc is not mounted.
fs::path beside_executable() {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    return exe.parent_path().parent_path() / "share" / "attnscope";
}

bool is_folder(const fs::path& p) {
    std::error_code ec;
    return !p.empty() && fs::is_directory(p, ec);
}

} // namespace

AssetsLocation locate_assets() {
    const auto installed = beside_executable();
    if (is_folder(installed)) return {installed, "beside the program"};
    if (const char* env = std::getenv("ATTNSCOPE_ASSETS"); env && *env) {
        if (!is_folder(env))
            throw std::runtime_error(std::string("ATTNSCOPE_ASSETS=") + env +
                                     " is not a folder: point it at attnscope's assets/ (or unset it)");
        return {env, "$ATTNSCOPE_ASSETS"};
    }
    if (const fs::path build_tree = ATTNSCOPE_ASSETS_DIR; is_folder(build_tree))
        return {build_tree, "the build tree"};
    throw std::runtime_error("attnscope's bundled files were not found: not beside the program (" +
                             (installed.empty() ? "/proc/self/exe is unreadable" : installed.string()) +
                             "), $ATTNSCOPE_ASSETS is not set, and the source tree it was built from (" +
                             ATTNSCOPE_ASSETS_DIR +
                             ") is gone. Reinstall attnscope, or set ATTNSCOPE_ASSETS "
                             "to a copy of its assets/ folder");
}

fs::path assets_dir() {
    return locate_assets().dir;
}

} // namespace attnscope
