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

// The LoRA sweep's strip as PATH (PNG) and PATH.json: the LoRA, the tokens, the maps' range, the tiles' size
// and every scale's numbers (core/compare/lora_sweep.h). Returns PATH; throws std::runtime_error when there
// is no sweep or a file cannot be written.
std::string export_sweep(const SweepView& sweep, const std::string& path);

} // namespace attnscope::gui
