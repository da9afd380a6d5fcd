#pragma once
// Bar charts as plain RGB images, for the command line's reports: panels stacked top to bottom, a bar per
// value, each panel scaled to its own largest |value|, no text (the numbers are in the JSON beside them).
#include "io/png_file.h"
#include "render/colormap.h"

#include <vector>

namespace attnscope::cli {

struct BarPanel {
    std::vector<double> values; // negative values hang below a middle baseline
    Rgb8 colour;
};

// Throws std::invalid_argument for no panels, a panel without values or sizes below one pixel.
Image8 draw_bar_panels(const std::vector<BarPanel>& panels, int bar_width, int panel_height);

} // namespace attnscope::cli
