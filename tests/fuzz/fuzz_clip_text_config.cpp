// libFuzzer target for the CLIP text encoder's config.json reader (core/text/clip_text_config.cpp, as
// ClipTextModel::load reads a text_encoder/ folder): any bytes either give a config that validates and
// survives a round trip through transformers' field names, or are rejected with std::runtime_error naming
// the file. Nothing else escapes. Built and run by tools/fuzz.sh.
#include "text/clip_text_config.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    try {
        const auto c =
            clip_text_config_from_json(std::string(reinterpret_cast<const char*>(data), size), "config.json");
        if (clip_text_config_from_json(c.to_json(), "round-trip") != c || c.head_dim() < 1) __builtin_trap();
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("config.json: ", 0) != 0) __builtin_trap();
    }
    return 0;
}
