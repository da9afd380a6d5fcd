#pragma once
// For the fuzz targets whose parser reads a folder, not bytes: one scratch folder per process (under the
// system's temporary directory), written afresh from each input before the parser runs.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace attnscope::fuzz {

inline const std::filesystem::path& scratch_folder() {
    static const std::filesystem::path dir = [] {
        std::string name = (std::filesystem::temp_directory_path() / "attnscope-fuzz-XXXXXX").string();
        if (!mkdtemp(name.data())) std::abort();
        return std::filesystem::path(name);
    }();
    return dir;
}

inline void write_scratch_file(const char* name, std::string_view bytes) {
    std::ofstream(scratch_folder() / name, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace attnscope::fuzz
