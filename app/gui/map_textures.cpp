#include "map_textures.h"

#include "colormap_shader.h"
#include "map_slots.h"
#include "map_writer.h"

#include <iostream>
#include <stdexcept>
#include <utility>

namespace attnscope::gui {

namespace {

// Chooses how maps reach their textures, once the session's device is known, and tells the worker whether
// to leave them on the GPU.
void start_pipeline(Ui& ui) {
    auto choice = choose_map_writer(ui.state.snap.device);
    if (!choice.reason.empty() && ui.state.snap.device.rfind("cuda", 0) == 0)
        std::cerr << "attnscope gui: maps reach OpenGL by host upload: " << choice.reason << "\n";
    ui.worker.set_device_maps(choice.writer->takes_device_maps());
    ui.textures.set_pipeline(std::make_unique<ColormapShader>(), std::move(choice.writer),
                             std::move(choice.reason));
    write_maps(ui.textures, ui.state.maps);
    ui.state.textures_dirty = true;
}

} // namespace

void update_textures(Ui& ui) {
    auto& s = ui.state;
    auto& pool = ui.textures;
    if (ui.worker.take_preview(s.preview, s.preview_version) && s.preview.width > 0)
        pool.image(kPreviewImage).upload_rgb(s.preview.width, s.preview.height, s.preview.rgb.data());
    if (ui.worker.take_images(s.images, s.images_version)) {
        for (const auto& [first, pair] :
             {std::pair{kCompareImages, &s.images.compare}, {kBranchImages, &s.images.branch}}) {
            const RgbImage* images[] = {&pair->a, &pair->b, &pair->diff};
            for (size_t i = 0; i < 3; ++i)
                if (images[i]->width > 0)
                    pool.image(first + i).upload_rgb(images[i]->width, images[i]->height,
                                                     images[i]->rgb.data());
        }
    }
    if (ui.worker.take_sweep(s.sweep, s.sweep_version) && s.sweep)
        pool.image(kSweepImage)
            .upload_rgb(s.sweep->strip.width, s.sweep->strip.height, s.sweep->strip.rgb.data());
    // There are maps only once a model has loaded, and its device decides how they are written.
    if (!pool.writer()) {
        if (!s.snap.model_loaded) return;
        start_pipeline(ui);
    }
    const bool new_maps = ui.worker.take_maps(s.maps, s.maps_version);
    if (!new_maps && !s.textures_dirty && s.display == s.drawn_display) return;
    s.textures_dirty = false;
    s.drawn_display = s.display;
    try {
        if (new_maps) write_maps(pool, s.maps);
        s.ranges = paint_maps(pool, s.maps, s.display, ui.colormaps.lut(s.display.colormap));
    } catch (const std::runtime_error& e) {
        // A CUDA or GL failure: shown where the map would be.
        s.maps.error = e.what();
    }
}

} // namespace attnscope::gui
