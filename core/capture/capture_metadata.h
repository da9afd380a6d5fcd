#pragma once
// The JSON description a capture file keeps in its safetensors metadata: which (step, site) entries it holds
// and what the caller added. Read without LibTorch, so a user's file reaches this parser under the fuzzer
// (tests/fuzz/fuzz_capture_metadata.cpp) just as it does in load_capture.
#include "attention/site.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attnscope {

struct CaptureMetadata {
    struct Entry {
        int step = 0;
        AttentionSite site;
    };
    std::vector<Entry> entries;
    nlohmann::json description; // null when the file has none
};

nlohmann::json capture_site_json(int step, const AttentionSite& site);
// Throws std::runtime_error "<label>: ..." when `text` is not JSON or an entry is missing, mistyped or out of
// range.
CaptureMetadata parse_capture_metadata(const std::string& text, const std::string& label);

} // namespace attnscope
