#include "capture_file.h"

#include "io/safetensors_file.h"
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

nlohmann::json site_json(const CaptureKey& key, const AttentionSite& s) {
    return {{"step", key.step}, {"index", s.index}, {"kind", to_string(s.kind)}, {"height", s.height},
            {"width", s.width}, {"heads", s.heads}, {"head_dim", s.head_dim},    {"batch", s.batch},
            {"seq_q", s.seq_q}, {"seq_k", s.seq_k}, {"upcast", s.upcast},        {"module", s.module}};
}

AttentionSite site_from(const nlohmann::json& j) {
    AttentionSite s;
    s.index = j.at("index").get<int>();
    s.kind = j.at("kind").get<std::string>() == "cross" ? AttentionKind::Cross : AttentionKind::Self;
    s.height = j.at("height").get<int>();
    s.width = j.at("width").get<int>();
    s.heads = j.at("heads").get<int>();
    s.head_dim = j.at("head_dim").get<int>();
    s.batch = j.at("batch").get<int64_t>();
    s.seq_q = j.at("seq_q").get<int64_t>();
    s.seq_k = j.at("seq_k").get<int64_t>();
    s.upcast = j.at("upcast").get<bool>();
    s.module = j.at("module").get<std::string>();
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
        sites.push_back(site_json(key, c.site));
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
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": the capture description is not valid JSON: " + e.what());
    }
    CapturePolicy policy;
    policy.budget_bytes = INT64_MAX; // what was saved fits by definition
    LoadedCapture out{CaptureStore(policy), meta.value("description", nlohmann::json())};
    try {
        for (const auto& j : meta.at("sites")) {
            CaptureKey key{j.at("step").get<int>(), 0, AttentionKind::Self};
            CapturedSite c;
            c.site = site_from(j);
            key.index = c.site.index;
            key.kind = c.site.kind;
            const auto p = prefix(key);
            for (const char* name : {"q", "k", "lse"})
                if (!file.contains(p + name)) throw std::runtime_error("missing tensor '" + p + name + "'");
            c.q = file.load(p + "q").to(device);
            c.k = file.load(p + "k").to(device);
            c.lse = file.load(p + "lse").to(device);
            if (file.contains(p + "probs")) c.probs = file.load(p + "probs").to(device);
            out.store.insert(key, std::move(c));
        }
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": malformed capture description: " + e.what());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    return out;
}

} // namespace attnscope
