#pragma once
// Turns the worker's latest maps and preview into the textures the panels draw. A map's values are written
// once per result (CUDA-GL interop or a host upload, see map_writer.h) and coloured on the GPU, so a
// display change re-paints without writing values again.
#include "ui.h"

namespace attnscope::gui {

// Takes newer results from the worker, writes new maps' values and re-paints the colours when the values or
// a display setting changed. Chooses the map writer once the first model has loaded (its device decides).
void update_textures(Ui& ui);

} // namespace attnscope::gui
