#include "vae_config.h"

#include "io/json_text.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace attnscope {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

std::string join(const std::vector<int>& values) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
    return out;
}

} // namespace

VaeConfig VaeConfig::sd() {
    return {};
}

VaeConfig VaeConfig::sdxl() {
    VaeConfig c;
    c.scaling_factor = 0.13025;
    return c;
}

void VaeConfig::validate() const {
    const auto positive = [](int v, const std::string& what) {
        if (v <= 0) throw std::invalid_argument(what + " must be positive, got " + std::to_string(v));
    };
    positive(latent_channels, "latent_channels");
    positive(out_channels, "out_channels");
    positive(norm_num_groups, "norm_num_groups");
    if (block_out_channels.empty() || block_out_channels.size() > 8)
        throw std::invalid_argument("block_out_channels must list 1 to 8 levels, got " +
                                    std::to_string(block_out_channels.size()));
    for (std::size_t i = 0; i < block_out_channels.size(); ++i) {
        const int ch = block_out_channels[i];
        positive(ch, "block_out_channels[" + std::to_string(i) + "]");
        if (ch % norm_num_groups != 0)
            throw std::invalid_argument(
                "block_out_channels[" + std::to_string(i) + "] = " + std::to_string(ch) +
                " is not divisible by norm_num_groups " + std::to_string(norm_num_groups));
    }
    if (layers_per_block < 0)
        throw std::invalid_argument("layers_per_block must not be negative, got " +
                                    std::to_string(layers_per_block));
    if (!(scaling_factor > 0) || !std::isfinite(scaling_factor))
        throw std::invalid_argument("scaling_factor must be positive and finite");
}

std::string VaeConfig::describe() const {
    std::ostringstream out;
    out << "VAE decoder (" << latent_channels << " latent channels -> " << out_channels << ", blocks ("
        << join(block_out_channels) << "), " << layers_per_block << " layers per block, " << norm_num_groups
        << " norm groups, scaling factor " << scaling_factor << ", " << downscale() << "x up-sampling)";
    return out.str();
}

bool VaeConfig::operator==(const VaeConfig& o) const {
    return latent_channels == o.latent_channels && out_channels == o.out_channels &&
           block_out_channels == o.block_out_channels && layers_per_block == o.layers_per_block &&
           norm_num_groups == o.norm_num_groups && scaling_factor == o.scaling_factor &&
           force_upcast == o.force_upcast;
}

VaeConfig vae_config_from_json(const std::string& json_text, const std::string& label) {
    const auto j = parse_json_object(json_text, label);
    const auto unsupported = [&](const std::string& field, const std::string& why) {
        fail(label, "unsupported " + field + ": " + why);
    };
    // Missing fields take diffusers' AutoencoderKL defaults, as the reference would.
    VaeConfig c;
    c.block_out_channels = {64};
    c.layers_per_block = 1;
    read_fields(label, [&] {
        if (j.contains("_class_name")) {
            const auto cls = j["_class_name"].get<std::string>();
            if (cls == "AutoencoderTiny")
                fail(label,
                     "describes a TAESD (AutoencoderTiny), not the Stable Diffusion VAE: load it as TAESD");
            if (cls != "AutoencoderKL")
                fail(label, "describes a '" + cls + "' model, not an AutoencoderKL VAE");
        }
        read_if_present(j, "latent_channels", c.latent_channels);
        read_if_present(j, "out_channels", c.out_channels);
        read_if_present(j, "layers_per_block", c.layers_per_block);
        read_if_present(j, "norm_num_groups", c.norm_num_groups);
        if (j.contains("block_out_channels"))
            c.block_out_channels = whole_ints(j["block_out_channels"], "\"block_out_channels\"");
        read_if_present(j, "scaling_factor", c.scaling_factor);
        read_if_present(j, "force_upcast", c.force_upcast);

        if (j.contains("act_fn") && j["act_fn"] != "silu")
            unsupported("act_fn '" + j["act_fn"].get<std::string>() + "'", "the SD VAE decoder uses silu");
        if (j.contains("up_block_types")) {
            const auto types = j["up_block_types"].get<std::vector<std::string>>();
            if (types.size() != c.block_out_channels.size())
                fail(label, "lists " + std::to_string(types.size()) + " up_block_types for " +
                                std::to_string(c.block_out_channels.size()) + " block_out_channels");
            for (const auto& t : types)
                if (t != "UpDecoderBlock2D")
                    unsupported("up block type '" + t + "'", "expected UpDecoderBlock2D");
        }
        if (j.value("use_post_quant_conv", true) == false)
            unsupported("use_post_quant_conv false", "SD VAEs have a post_quant_conv");
        if (j.value("mid_block_add_attention", true) == false)
            unsupported("mid_block_add_attention false", "SD VAEs have a mid-block attention");
        if (j.contains("shift_factor") && !j["shift_factor"].is_null() &&
            j["shift_factor"].get<double>() != 0)
            unsupported("shift_factor " + j["shift_factor"].dump(), "SD v1/v2 latents are only scaled");
        c.validate();
    });
    return c;
}

} // namespace attnscope
