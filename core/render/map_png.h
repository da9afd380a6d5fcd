#pragma once
// A map as the exporters write it: a colour PNG through a colormap and a 16-bit grayscale PNG of the raw
// values, both scaled by one range, and how a JSON description records the pair. `attnscope maps` and the
// visualizer's Export map write maps this way, so a reader of either file set finds the same fields. No
// LibTorch.
#include "colormap.h"

#include <nlohmann/json.hpp>
#include <string>

namespace attnscope {

// How a 16-bit PNG's samples relate to the map's values (to_gray16), for a JSON reader.
inline constexpr const char* kPng16Scaling =
    "round(clamp((v - lo) / (hi - lo), 0, 1) * 65535); lo == hi gives 32768";

// Writes `colour_path` (RGB through `lut`) and `gray_path` (16-bit gray), both over `range`. Throws
// std::runtime_error naming a file that cannot be written; never leaves a partial file.
void write_map_pngs(const MapImage& map, ValueRange range, const Lut& lut, const std::string& colour_path,
                    const std::string& gray_path);

// {"png": {"file": colour_file, "range": {"lo", "hi"}}, "png16": {"file": gray_file, "range": ...}}.
nlohmann::json map_pngs_json(const std::string& colour_file, const std::string& gray_file, ValueRange range);

} // namespace attnscope
