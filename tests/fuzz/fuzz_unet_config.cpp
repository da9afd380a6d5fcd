// libFuzzer target for the U-Net's config.json reader (unet_config_from_json through parse_json_object, as
// the loader reads a diffusers folder): any bytes either give a config that validates and survives a round
// trip through its JSON, or are rejected with an error a user can act on (std::runtime_error or
// std::invalid_argument, both naming the file). Built and run by tools/fuzz.sh.
#include "io/json_text.h"
#include "model/unet_config.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    try {
        const auto j =
            parse_json_object(std::string(reinterpret_cast<const char*>(data), size), "config.json");
        const auto c = unet_config_from_json(j, "config.json");
        const auto again = unet_config_from_json(unet_config_to_json(c), "round-trip");
        if (again.heads != c.heads || again.block_out_channels != c.block_out_channels) __builtin_trap();
    } catch (const std::invalid_argument&) {
    } catch (const std::runtime_error&) {
    }
    return 0;
}
