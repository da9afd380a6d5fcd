#pragma once
// A capture on disk: every kept (step, site) as tensors in one .safetensors file, with a JSON description
// (the sites' geometry and whatever the caller adds: prompt, tokens, settings) in its metadata, so a
// session's attention can be explored again later without the model.
#include "capture_store.h"

#include <nlohmann/json.hpp>
#include <string>

namespace attnscope {

// Keys "step.SSS.index.II.self.q" (and .k, .lse, .probs, .v); metadata "attnscope.capture" holds
// {"sites": [...], "description": description}. Written atomically.
void save_capture(const std::string& path, const CaptureStore& store, const nlohmann::json& description = {});

struct LoadedCapture {
    CaptureStore store;
    nlohmann::json description;
};

// Tensors come back on `device`. Throws std::runtime_error naming the file and what is missing or wrong.
LoadedCapture load_capture(const std::string& path, at::Device device = at::kCPU);

} // namespace attnscope
