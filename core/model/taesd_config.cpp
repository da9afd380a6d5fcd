#include "taesd_config.h"

#include "io/json_text.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attnscope {

void check_taesd_config(const std::string& json_text, const std::string& label) {
    const auto j = parse_json_object(json_text, label);
    const auto refuse = [&](const std::string& what) {
        throw std::runtime_error(label + ": unsupported " + what);
    };
    read_fields(label, [&] {
        const auto cls = j.value("_class_name", std::string("AutoencoderTiny"));
        if (cls == "AutoencoderKL")
            throw std::runtime_error(label +
                                     ": describes the full Stable Diffusion VAE (AutoencoderKL), not TAESD: "
                                     "load it as a VAE");
        if (cls != "AutoencoderTiny")
            throw std::runtime_error(label + ": describes a '" + cls +
                                     "' model, not TAESD (AutoencoderTiny)");
        if (j.value("act_fn", std::string("relu")) != "relu") refuse("act_fn " + j["act_fn"].dump());
        if (j.value("upsample_fn", std::string("nearest")) != "nearest")
            refuse("upsample_fn " + j["upsample_fn"].dump());
        // Compared as a JSON number, not read as an int: 2.5 would truncate to 2 and 1e300 overflow.
        if (j.contains("upsampling_scaling_factor") && j["upsampling_scaling_factor"] != 2)
            refuse("upsampling_scaling_factor " + j["upsampling_scaling_factor"].dump());
        if (j.value("scaling_factor", 1.0) != 1.0)
            refuse("scaling_factor " + j["scaling_factor"].dump() +
                   " (TAESD for SD decodes the U-Net's latents as is)");
        if (j.contains("shift_factor") && !j["shift_factor"].is_null() &&
            j["shift_factor"].get<double>() != 0)
            refuse("shift_factor " + j["shift_factor"].dump());
    });
}

} // namespace attnscope
