#include "export_map.h"

#include "io/png_file.h"

#include <stdexcept>

namespace attnscope::gui {

void export_map(const UiState& state, const Colormaps& colormaps, const std::string& path) {
    const auto& map = state.maps.main;
    if (map.empty())
        throw std::runtime_error("no map to export" +
                                 (state.maps.error.empty() ? "" : ": " + state.maps.error));
    const auto rgba = colorize(map, state.main_range, colormaps.lut(state.display.colormap));
    Image8 image;
    image.width = map.width;
    image.height = map.height;
    image.channels = 4;
    image.pixels = rgba;
    write_png(path, image);
}

} // namespace attnscope::gui
