// libFuzzer target for the VAE's config.json reader (core/model/vae_config.cpp, as VaeDecoder::load reads a
// diffusers vae/ folder): any bytes either give a config that validates and describes itself, or are
// rejected with std::runtime_error naming the file. Nothing else escapes. Built and run by tools/fuzz.sh.
#include "model/vae_config.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    try {
        const auto c =
            vae_config_from_json(std::string(reinterpret_cast<const char*>(data), size), "config.json");
        c.validate();
        if (c.downscale() < 1 || c.describe().empty()) __builtin_trap();
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("config.json: ", 0) != 0) __builtin_trap();
    }
    return 0;
}
