#pragma once
// Export map: the main map at its own resolution, written as `attnscope maps` writes its maps
// (core/render/map_png.h): PATH coloured as shown, STEM16.png its raw values in 16 bits over the same range,
// and STEM.json with that range, the scaling and what the map is of (quantity, guidance half, sites, steps,
// head, tokens or query).
#include "ui.h"

#include <string>
#include <vector>

namespace attnscope::gui {

// Returns the files written. Throws std::runtime_error when there is no map or a file cannot be written.
std::vector<std::string> export_map(const UiState& state, const Colormaps& colormaps,
                                    const std::string& path);

} // namespace attnscope::gui
