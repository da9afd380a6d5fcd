#pragma once
// What the model picker shows of a folder: its sub-folders (a diffusers model is a folder) and the files a
// model can come in, sorted, folders first. No ImGui, so it is tested on its own.
#include <filesystem>
#include <string>
#include <vector>

namespace attnscope::gui {

struct FolderEntry {
    std::string name;
    bool folder = false;
};

struct FolderListing {
    std::filesystem::path folder; // absolute, normalized
    std::vector<FolderEntry> entries;
    std::string error; // why the folder could not be read (then `entries` is empty)
};

// Hidden entries are left out; files only with a model's extension (.safetensors, and the pickled .ckpt,
// .pt, .pth, .bin, which the loader refuses with its reason). Never throws.
FolderListing list_folder(const std::filesystem::path& folder);

// The folder to browse for `path`: itself when it is a folder, its parent when it is a file, the nearest
// existing ancestor otherwise, the current folder for an empty path.
std::filesystem::path folder_to_browse(const std::string& path);

} // namespace attnscope::gui
