#pragma once
// Which map goes into which slot of the texture pool, written and coloured: the part of update_textures
// that needs no worker, so the GL tests drive it directly.
#include "ui.h"

namespace attnscope::gui {

// Gives every map of `maps`, and the colour bar's ramp, a slot of `pool` and writes its values with the
// pool's writer.
void write_maps(TexturePool& pool, const MapResults& maps);

// Colours every slot that holds a map, as `display` says, with `lut` (the divergence grids on their own
// fixed scale); returns the ranges used, for the colour bars' labels. `maps` must be what write_maps last
// wrote.
MapRanges paint_maps(TexturePool& pool, const MapResults& maps, const MapDisplay& display, const Lut& lut);

} // namespace attnscope::gui
