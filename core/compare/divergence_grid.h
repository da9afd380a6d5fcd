#pragma once
// The divergence timeline as a picture: self-attention on top, cross-attention below, each a row per site
// (index 1 at the top) and a column per compared step (the first on the left), every cell coloured by
// log10 of B's relative L2 error in the attention output, from 1e-8 (the colormap's bottom; zero error
// and missing cells too) to 1 (its top).
#include "capture/capture_store.h"
#include "divergence.h"
#include "io/png_file.h"
#include "render/colormap.h"

#include <map>

namespace attnscope {

inline constexpr ValueRange kGridLog10Range{-8, 0};

// Throws std::invalid_argument when `errors` is empty or `cell` is below 1 pixel.
Image8 divergence_grid_image(const std::map<CaptureKey, Divergence>& errors, const Lut& lut, int cell = 12);

} // namespace attnscope
