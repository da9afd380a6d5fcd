#include "capture_file.h"

#include "capture_metadata.h"
#include "io/safetensors_file.h"
#include "util/shape_string.h"
#include "util/version.h"

#include <cstdio>
#include <stdexcept>

namespace attnscope {
namespace {

constexpr const char* kMetadataKey = "attnscope.capture";

std::string prefix(const CaptureKey& key) {
    char s[48];
    std::snprintf(s, sizeof s, "step.%03d.index.%02d.%s.", key.step, key.index, to_string(key.kind));
    return s;
}

} // namespace

void save_capture(const std::string& path, const CaptureStore& store, const nlohmann::json& description) {
    TensorMap tensors;
    auto sites = nlohmann::json::array();
    for (const auto& [key, c] : store.entries()) {
        const auto p = prefix(key);
        tensors[p + "q"] = c.q;
        tensors[p + "k"] = c.k;
        tensors[p + "lse"] = c.lse;
        if (c.probs.defined()) tensors[p + "probs"] = c.probs;
        if (c.v.defined()) tensors[p + "v"] = c.v;
        sites.push_back(capture_site_json(key.step, c.site));
    }
    const nlohmann::json meta{{"attnscope_version", version()},
                              {"attnscope_commit", git_commit()},
                              {"sites", sites},
                              {"description", description}};
    write_safetensors(path, tensors, {{kMetadataKey, meta.dump()}});
}

LoadedCapture load_capture(const std::string& path, at::Device device) {
    const SafetensorsFile file(path);
    const auto it = file.header().metadata.find(kMetadataKey);
    if (it == file.header().metadata.end())
        throw std::runtime_error(path + ": not an attnscope capture (no '" + kMetadataKey + "' metadata)");
    auto meta = parse_capture_metadata(it->second, path);
    CapturePolicy policy;
    policy.budget_bytes = INT64_MAX; // what was saved fits by definition
    LoadedCapture out{CaptureStore(policy), std::move(meta.description)};
    try {
        for (const auto& [step, site] : meta.entries) {
            const CaptureKey key{step, site.index, site.kind};
            CapturedSite c;
            c.site = site;
            const auto p = prefix(key);
            for (const char* name : {"q", "k", "lse"})
                if (!file.contains(p + name)) throw std::runtime_error("missing tensor '" + p + name + "'");
            c.q = file.load(p + "q").to(device);
            c.k = file.load(p + "k").to(device);
            c.lse = file.load(p + "lse").to(device);
            if (file.contains(p + "probs")) c.probs = file.load(p + "probs").to(device);
            if (file.contains(p + "v")) {
                c.v = file.load(p + "v").to(device);
                if (c.v.sizes() != c.k.sizes())
                    throw std::runtime_error("tensor '" + p + "v' has shape " + shape_string(c.v.sizes()) +
                                             ", not K's " + shape_string(c.k.sizes()));
            }
            out.store.insert(key, std::move(c));
        }
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    return out;
}

} // namespace attnscope
