#pragma once
// Writes the main map as a PNG at its own resolution, coloured as shown.
#include "ui.h"

#include <string>

namespace attnscope::gui {

// Throws std::runtime_error when there is no map or the file cannot be written.
void export_map(const UiState& state, const Colormaps& colormaps, const std::string& path);

} // namespace attnscope::gui
