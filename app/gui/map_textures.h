#pragma once
// Turns the worker's latest maps and preview into the textures the panels draw, colour-mapped and
// normalized as the user chose.
#include "ui.h"

namespace attnscope::gui {

// Takes newer results from the worker and re-uploads what changed (or everything after a display
// setting changed).
void update_textures(Ui& ui);

// The texture names the panels use.
inline std::string index_texture(int index) {
    return "index" + std::to_string(index);
}
inline std::string head_texture(size_t slot) {
    return "head" + std::to_string(slot);
}
inline const char* kPreviewTexture = "preview";
inline const char* kMainTexture = "main";
inline const char* kColorbarTexture = "colorbar";

} // namespace attnscope::gui
