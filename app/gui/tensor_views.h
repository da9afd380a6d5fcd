#pragma once
// The worker's side of view_data.h: LibTorch results turned into the plain values the UI gets.
#include "capture/capture_store.h"
#include "compare/divergence.h"
#include "view_data.h"

#include <ATen/ATen.h>
#include <map>
#include <utility>
#include <vector>

namespace attnscope::gui {

// The UI's copy of a map (height, width). With `on_device`, a CUDA map stays in CUDA memory for CUDA-GL
// interop (its extremes are filled in by fill_device_extremes); `host` asks for host values as well.
ViewMap to_map(const at::Tensor& map, bool on_device, bool host);

// The extremes of the maps left only on the GPU, in one copy to the host. That copy also waits for every map
// queued before it, so their memory is ready when the UI thread writes it into its textures.
void fill_device_extremes(const std::vector<ViewMap*>& maps);

// A decoded image (1, 3, H, W) in [0, 1] as 8-bit RGB.
RgbImage to_rgb(const at::Tensor& image, int step, bool full);

// `b` against the reference `a` (core/compare/image_metrics.h): both images, the amplified difference,
// PSNR and SSIM.
ImagePair image_pair(const at::Tensor& a, const at::Tensor& b);

// The divergence grids, self and cross, of errors per (step, site): `steps` columns from `first_step`, a row
// per site (`sites`: the model's numbering, 1..sites), each cell log10 of the relative L2 error as
// core/compare/divergence_grid.h colours it (bottom of kGridLog10Range for zero and missing cells, top for
// NaN).
std::pair<ViewMap, ViewMap> divergence_maps(const std::map<CaptureKey, Divergence>& errors, int first_step,
                                            int steps, int sites);

} // namespace attnscope::gui
