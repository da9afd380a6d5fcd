// libFuzzer target for a capture file's description (core/capture/capture_metadata.cpp), the part of
// load_capture that reads the user's JSON; the tensors behind it go through the safetensors parser, fuzzed
// by fuzz_safetensors. Any bytes either give entries with positive geometry that write back as they were
// read, or are rejected with std::runtime_error naming the file. Built and run by tools/fuzz.sh.
#include "capture/capture_metadata.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    try {
        const auto m = parse_capture_metadata(std::string(reinterpret_cast<const char*>(data), size), "c");
        auto sites = nlohmann::json::array();
        for (const auto& [step, site] : m.entries) {
            if (step < 0 || site.heads < 1 || site.head_dim < 1 || site.seq_q < 1) __builtin_trap();
            sites.push_back(capture_site_json(step, site));
        }
        const auto again = parse_capture_metadata(nlohmann::json{{"sites", sites}}.dump(), "again");
        if (again.entries.size() != m.entries.size()) __builtin_trap();
        for (size_t i = 0; i < m.entries.size(); ++i)
            if (capture_site_json(again.entries[i].step, again.entries[i].site) != sites[i]) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
