#pragma once
// The model picker: a modal popup that browses folders (Dear ImGui has no file dialog, and a native one would
// need a toolkit beside GLFW). A diffusers model is a folder, an original checkpoint a file: both can be
// chosen.
#include "folder_listing.h"

#include <optional>
#include <string>

namespace attnscope::gui {

class FilePicker {
  public:
    // Opens the popup at the next draw(), browsing the folder of `path`.
    void open(const std::string& path);
    // Draws the popup while it is open; returns the chosen path once, when the user picks one.
    std::optional<std::string> draw();

  private:
    void browse(const std::filesystem::path& folder);

    bool opening_ = false;
    FolderListing listing_;
    std::string selected_; // a file or folder of listing_, by name
};

} // namespace attnscope::gui
