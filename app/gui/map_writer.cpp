#include "map_writer.h"

#include "gl_api.h"
#ifdef ATTNSCOPE_HAVE_CUDA
#include "map_writer_cuda.h"
#endif

#include <stdexcept>

namespace attnscope::gui {

void HostUpload::write(const std::vector<MapWrite>& writes) {
    for (const auto& [map, values] : writes) {
        if (map->values.size() != static_cast<size_t>(map->width) * map->height)
            throw std::logic_error("host upload: the map has no host values");
        glBindTexture(GL_TEXTURE_2D, values->id());
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, map->width, map->height, GL_RED, GL_FLOAT,
                        map->values.data());
    }
}

WriterChoice choose_map_writer(const std::string& device) {
    if (device.rfind("cuda", 0) != 0)
        return {std::make_unique<HostUpload>(), "the session runs on the " + device};
#ifdef ATTNSCOPE_HAVE_CUDA
    const auto colon = device.find(':');
    const int index = colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
    std::string why_not;
    if (auto interop = make_cuda_interop_writer(index, why_not)) return {std::move(interop), {}};
    return {std::make_unique<HostUpload>(), why_not};
#else
    return {std::make_unique<HostUpload>(), "this build has no CUDA code (no nvcc when it was configured)"};
#endif
}

} // namespace attnscope::gui
