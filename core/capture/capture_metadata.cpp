#include "capture_metadata.h"

#include <cstdint>
#include <stdexcept>

namespace attnscope {
namespace {

// A whole number in [lo, hi]: nlohmann's get<int> of 1e300 or of -1 for a count is undefined or nonsense.
int64_t bounded(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi) {
    const auto& v = j.at(key);
    if (!v.is_number_integer()) throw std::runtime_error(std::string("'") + key + "' must be a whole number");
    // JSON reads 0 and up as unsigned: compare in the type it holds, so 2^64-1 does not wrap to -1.
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                   static_cast<int64_t>(v.get<uint64_t>()) >= lo
                                             : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
    if (!fits)
        throw std::runtime_error(std::string("'") + key + "' must be from " + std::to_string(lo) + " to " +
                                 std::to_string(hi));
    return v.get<int64_t>();
}

AttentionSite site_from(const nlohmann::json& j) {
    constexpr int64_t kMaxInt = INT32_MAX;
    AttentionSite s;
    s.index = static_cast<int>(bounded(j, "index", 0, kMaxInt));
    const auto kind = j.at("kind").get<std::string>();
    if (kind != "self" && kind != "cross") throw std::runtime_error("'kind' must be self or cross");
    s.kind = kind == "cross" ? AttentionKind::Cross : AttentionKind::Self;
    s.height = static_cast<int>(bounded(j, "height", 1, kMaxInt));
    s.width = static_cast<int>(bounded(j, "width", 1, kMaxInt));
    s.heads = static_cast<int>(bounded(j, "heads", 1, kMaxInt));
    s.head_dim = static_cast<int>(bounded(j, "head_dim", 1, kMaxInt));
    s.batch = bounded(j, "batch", 1, INT64_MAX);
    s.seq_q = bounded(j, "seq_q", 1, INT64_MAX);
    s.seq_k = bounded(j, "seq_k", 1, INT64_MAX);
    s.upcast = j.at("upcast").get<bool>();
    s.module = j.at("module").get<std::string>();
    // Files from before SDXL name neither: their transformers are one block deep; the level is not known.
    s.level = static_cast<int>(j.contains("level") ? bounded(j, "level", 0, 64) : -1);
    s.depth = static_cast<int>(j.contains("depth") ? bounded(j, "depth", 0, kMaxInt) : 0);
    return s;
}

} // namespace

nlohmann::json capture_site_json(int step, const AttentionSite& s) {
    return {{"step", step},     {"index", s.index}, {"kind", to_string(s.kind)}, {"height", s.height},
            {"width", s.width}, {"heads", s.heads}, {"head_dim", s.head_dim},    {"batch", s.batch},
            {"seq_q", s.seq_q}, {"seq_k", s.seq_k}, {"upcast", s.upcast},        {"module", s.module},
            {"level", s.level}, {"depth", s.depth}};
}

CaptureMetadata parse_capture_metadata(const std::string& text, const std::string& label) {
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(label + ": the capture description is not valid JSON: " + e.what());
    }
    CaptureMetadata out;
    try {
        if (!meta.is_object()) throw std::runtime_error("the capture description is not a JSON object");
        out.description = meta.value("description", nlohmann::json());
        for (const auto& j : meta.at("sites")) {
            const int step = static_cast<int>(bounded(j, "step", 0, INT32_MAX));
            out.entries.push_back({step, site_from(j)});
        }
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(label + ": malformed capture description: " + e.what());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(label + ": malformed capture description: " + e.what());
    }
    return out;
}

} // namespace attnscope
