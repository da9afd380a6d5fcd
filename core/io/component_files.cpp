#include "component_files.h"

#include <stdexcept>

namespace attnscope {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::runtime_error(path + ": " + what);
}

} // namespace

ComponentFiles locate_component(const std::string& path, const ComponentSpec& spec) {
    if (!fs::exists(path)) fail(path, "does not exist");
    ComponentFiles out;
    if (!fs::is_directory(path)) {
        const auto ext = fs::path(path).extension().string();
        if (ext == ".ckpt" || ext == ".pt" || ext == ".pth" || ext == ".bin")
            fail(
                path,
                "is a pickled PyTorch file, which is not read (it can run code); convert it to .safetensors");
        out.weights = path;
        return out;
    }
    const fs::path dir = path;
    for (const auto& candidate : {dir / spec.folder, dir})
        for (const auto& name : spec.weight_files)
            if (fs::is_regular_file(candidate / name)) {
                out.weights = candidate / name;
                if (fs::is_regular_file(candidate / "config.json"))
                    out.config_json = candidate / "config.json";
                return out;
            }
    if (fs::exists(dir / spec.folder / spec.pickled_file) || fs::exists(dir / spec.pickled_file))
        fail(path, "holds only PyTorch .bin " + spec.label + " weights; save them as .safetensors first");
    fail(path, "is a folder without " + spec.folder + "/" + spec.weight_files.front() +
                   " (expected a diffusers model folder, its " + spec.folder +
                   "/ folder, or a .safetensors checkpoint file)");
}

} // namespace attnscope
