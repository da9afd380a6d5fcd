#include "map_textures.h"

namespace attnscope::gui {

namespace {

// Index thumbnails and head tiles share the main map's scale under global normalization, so their colours
// compare across sites.
ValueRange range_for(const UiState& s, const MapImage& map, ValueRange global) {
    switch (s.display.normalization) {
    case Normalization::PerMap:
        return value_range(map);
    case Normalization::Global:
        return global;
    case Normalization::Fixed:
        return {s.display.fixed_lo, s.display.fixed_hi};
    }
    return value_range(map);
}

void upload_map(Ui& ui, const std::string& name, const MapImage& map, ValueRange global) {
    if (map.empty()) return;
    const auto rgba =
        colorize(map, range_for(ui.state, map, global), ui.colormaps.lut(ui.state.display.colormap));
    ui.textures.get(name).upload_rgba(map.width, map.height, rgba.data(), true);
}

} // namespace

void update_textures(Ui& ui) {
    auto& s = ui.state;
    if (ui.worker.take_preview(s.preview, s.preview_version) && s.preview.width > 0)
        ui.textures.get(kPreviewTexture)
            .upload_rgb(s.preview.width, s.preview.height, s.preview.rgb.data(), true);
    if (ui.worker.take_maps(s.maps, s.maps_version)) s.textures_dirty = true;

    if (s.display != s.drawn_display) s.textures_dirty = true;
    if (!s.textures_dirty) return;
    s.textures_dirty = false;
    s.drawn_display = s.display;

    ValueRange global = value_range(s.maps.main);
    for (const auto& m : s.maps.index_maps)
        if (!m.empty()) global = s.maps.main.empty() ? value_range(m) : merge(global, value_range(m));
    s.main_range = range_for(s, s.maps.main, global);
    upload_map(ui, kMainTexture, s.maps.main, global);
    for (size_t i = 0; i < s.maps.index_maps.size(); ++i)
        upload_map(ui, index_texture(static_cast<int>(i) + 1), s.maps.index_maps[i], global);
    ValueRange heads_global = s.maps.head_maps.empty() ? ValueRange{} : value_range(s.maps.head_maps[0]);
    for (const auto& m : s.maps.head_maps) heads_global = merge(heads_global, value_range(m));
    for (size_t i = 0; i < s.maps.head_maps.size(); ++i)
        upload_map(ui, head_texture(i), s.maps.head_maps[i], heads_global);

    MapImage ramp;
    ramp.width = 256;
    ramp.height = 1;
    for (int i = 0; i < 256; ++i) ramp.values.push_back(static_cast<float>(i));
    const auto rgba = colorize(ramp, {0, 255}, ui.colormaps.lut(s.display.colormap));
    ui.textures.get(kColorbarTexture).upload_rgba(256, 1, rgba.data(), true);
}

} // namespace attnscope::gui
