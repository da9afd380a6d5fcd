#pragma once
// Where one model component's weights are: a diffusers model root (with <component>/), the component's
// own folder, or a single .safetensors file. Shared by every loader so they accept paths alike.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

struct ComponentSpec {
    std::string folder;                    // "unet", "text_encoder"
    std::vector<std::string> weight_files; // safetensors names, preferred first
    std::string pickled_file;              // the .bin a folder may hold instead
    std::string label;                     // "U-Net", "text encoder" (in messages)
};

struct ComponentFiles {
    std::filesystem::path weights;
    std::optional<std::filesystem::path> config_json; // config.json beside the weights, if any
};

// Throws std::runtime_error naming the path: missing, a folder without the weights, pickled files.
ComponentFiles locate_component(const std::string& path, const ComponentSpec& spec);

} // namespace attnscope
