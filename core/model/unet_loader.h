#pragma once
// Finding, checking and loading U-Net weights: a diffusers folder (unet/ + config.json), a bare
// diffusers U-Net file, or an original single-file LDM checkpoint (model.diffusion_model.* keys).
#include "../io/safetensors_file.h"
#include "../util/progress.h"
#include "unet.h"
#include "unet_config.h"

#include <ATen/ATen.h>
#include <memory>
#include <optional>
#include <string>

namespace attnscope {

enum class KeyLayout { Diffusers, Ldm };
std::string to_string(KeyLayout layout);

struct UNetCheckpoint {
    std::string weights_path;
    KeyLayout layout = KeyLayout::Diffusers;
    std::string key_prefix; // "" or "model.diffusion_model."
    UNetConfig config;
    std::string config_source; // "config.json" or "inferred from weight shapes"
    std::shared_ptr<const SafetensorsFile> file;

    std::string file_key(const ParamSpec& spec) const {
        return key_prefix + (layout == KeyLayout::Ldm ? spec.ldm : spec.name);
    }
};

struct UNetOpenOptions {
    std::optional<Prediction> prediction; // overrides what the files say or imply
    std::optional<UNetConfig> config;     // overrides config.json and inference (e.g. odd head counts)
};

// Resolves `path`, detects the layout and the config, and checks every U-Net key and shape, without
// loading any weight. Throws std::runtime_error / FormatError naming the file and the offending key.
UNetCheckpoint open_unet_checkpoint(const std::string& path, const UNetOpenOptions& options = {});

UNet load_unet(const UNetCheckpoint& checkpoint, at::ScalarType dtype, at::Device device,
               const ProgressFn& progress = {});

// Reads a diffusers unet/config.json; throws naming the file.
UNetConfig read_unet_config(const std::string& path);

// Config from the weights alone (no config.json): levels, channels, attention, transformer depth, context
// width, projection type and SDXL's addition embedding are read from shapes; heads and norm groups follow SD
// convention (8 heads for v1, 64-wide heads for v2 and SDXL, 32 groups), which a --config file overrides.
UNetConfig infer_unet_config(const SafetensorsFile& file, KeyLayout layout, const std::string& prefix);

// The U-Net's weights under the keys of `layout` (LDM keys carry the model.diffusion_model. prefix).
TensorMap unet_state_dict(const UNet& unet, KeyLayout layout);

} // namespace attnscope
