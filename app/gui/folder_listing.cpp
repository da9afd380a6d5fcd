#include "folder_listing.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <system_error>

namespace attnscope::gui {

namespace fs = std::filesystem;

namespace {

bool model_file(const fs::path& p) {
    constexpr std::array<const char*, 5> kExtensions = {".safetensors", ".ckpt", ".pt", ".pth", ".bin"};
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

fs::path here() {
    std::error_code ec;
    const auto p = fs::current_path(ec);
    return ec ? fs::path("/") : p;
}

} // namespace

FolderListing list_folder(const fs::path& folder) {
    FolderListing out;
    std::error_code ec;
    out.folder = fs::weakly_canonical(fs::absolute(folder, ec), ec);
    if (ec) out.folder = folder;
    fs::directory_iterator it(out.folder, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        out.error = out.folder.string() + ": " + ec.message();
        return out;
    }
    for (const fs::directory_iterator end; it != end; it.increment(ec)) {
        if (ec) {
            out.error = out.folder.string() + ": " + ec.message();
            out.entries.clear();
            return out;
        }
        const auto name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        std::error_code type_ec;
        const bool folder_entry = it->is_directory(type_ec);
        if (folder_entry || model_file(it->path())) out.entries.push_back({name, folder_entry});
    }
    std::sort(out.entries.begin(), out.entries.end(), [](const FolderEntry& a, const FolderEntry& b) {
        return a.folder != b.folder ? a.folder : a.name < b.name;
    });
    return out;
}

fs::path folder_to_browse(const std::string& path) {
    if (path.empty()) return here();
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    if (ec) return here();
    while (!p.empty() && !fs::is_directory(p, ec)) {
        if (p == p.parent_path()) break;
        p = p.parent_path();
    }
    return p.empty() ? here() : p;
}

} // namespace attnscope::gui
