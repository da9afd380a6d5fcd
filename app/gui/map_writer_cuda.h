#pragma once
// CUDA-GL interop for maps (built only with CUDA): each value texture is registered with CUDA once, then
// every write maps it, copies the map's CUDA memory into its array and unmaps it, on the GPU.
#include "map_writer.h"

#include <memory>
#include <string>

namespace attnscope::gui {

// A writer for maps on CUDA device `device`, with the GL context current. nullptr, with `why_not` set,
// when interop cannot work here: no CUDA device, the context not on that NVIDIA GPU, or a texture that
// will not register.
std::unique_ptr<MapWriter> make_cuda_interop_writer(int device, std::string& why_not);

} // namespace attnscope::gui
