#pragma once
// The VAE decoder's hyper-parameters and the reader of diffusers' vae/config.json. No LibTorch, so a user's
// config reaches this parser under the fuzzer (tests/fuzz/fuzz_vae_config.cpp) just as it does in
// VaeDecoder::load.
#include <string>
#include <vector>

namespace attnscope {

struct VaeConfig {
    int latent_channels = 4;
    int out_channels = 3;
    std::vector<int> block_out_channels{128, 256, 512, 512}; // encoder order: the decoder runs them reversed
    int layers_per_block = 2;                                // each decoder up block has one more resnet
    int norm_num_groups = 32;
    double scaling_factor = 0.18215;
    // diffusers' force_upcast (its default, true): SDXL's VAE overflows fp16, so an SDXL pipeline asked for
    // fp16 runs such a VAE in fp32; the fp16-fixed SDXL VAE says false.
    bool force_upcast = true;

    static VaeConfig sd();   // SD v1.x and v2.x
    static VaeConfig sdxl(); // SDXL: the same architecture, latents scaled by 0.13025

    int levels() const { return static_cast<int>(block_out_channels.size()); }
    int downscale() const { return 1 << (levels() - 1); } // image pixels per latent pixel
    void validate() const;                                // throws std::invalid_argument
    std::string describe() const;
    bool operator==(const VaeConfig& o) const;
    bool operator!=(const VaeConfig& o) const { return !(*this == o); }
};

// Reads diffusers' vae/config.json (AutoencoderKL). Missing fields take diffusers' defaults; options
// attnscope does not implement (another activation, block type, no post_quant_conv, a shift factor) are
// refused by name. `label` names the source in error messages.
VaeConfig vae_config_from_json(const std::string& json_text, const std::string& label);

} // namespace attnscope
