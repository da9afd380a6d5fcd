// libFuzzer target for the check of a TAESD folder's config.json (core/model/taesd_config.cpp, as
// TaesdDecoder::load reads it): any bytes are either accepted or rejected with std::runtime_error naming the
// file. Nothing else escapes. Built and run by tools/fuzz.sh.
#include "model/taesd_config.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        attnscope::check_taesd_config(std::string(reinterpret_cast<const char*>(data), size), "config.json");
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("config.json: ", 0) != 0) __builtin_trap();
    }
    return 0;
}
