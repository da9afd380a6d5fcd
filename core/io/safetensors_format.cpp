#include "safetensors_format.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

struct DTypeInfo {
    DType dtype;
    std::string_view name;
    std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4},   {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4},   {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::Bool, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
    for (const auto& d : kDTypes)
        if (d.dtype == dtype) return d;
    throw std::logic_error("unhandled dtype");
}

[[noreturn]] void fail(const std::string& label, const std::string& what) {
    throw FormatError(label + ": " + what);
}

uint64_t read_u64_le(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

TensorEntry parse_entry(const std::string& label, const std::string& name, const nlohmann::json& j,
                        uint64_t data_size) {
    const auto where = "tensor '" + name + "'";
    if (!j.is_object()) fail(label, where + " is not a JSON object");
    for (const char* field : {"dtype", "shape", "data_offsets"})
        if (!j.contains(field)) fail(label, where + " has no \"" + field + "\" field");
    if (!j["dtype"].is_string()) fail(label, where + ": \"dtype\" is not a string");

    TensorEntry e;
    e.name = name;
    try {
        e.dtype = parse_dtype(j["dtype"].get<std::string>());
    } catch (const FormatError& err) {
        fail(label, where + ": " + err.what());
    }

    const auto& shape = j["shape"];
    if (!shape.is_array()) fail(label, where + ": \"shape\" is not an array");
    uint64_t numel = 1;
    for (const auto& d : shape) {
        if (!d.is_number_unsigned()) fail(label, where + ": shape entry " + d.dump() + " is not a size");
        const auto dim = d.get<uint64_t>();
        if (dim > (uint64_t{1} << 40) || (dim != 0 && numel > (uint64_t{1} << 50) / dim))
            fail(label, where + ": shape " + shape.dump() + " is implausibly large");
        numel *= dim;
        e.shape.push_back(static_cast<int64_t>(dim));
    }

    const auto& offsets = j["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
        fail(label, where + ": \"data_offsets\" must be two non-negative integers, got " + offsets.dump());
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.end < e.begin)
        fail(label, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                        "] end before they begin");
    if (e.end > data_size)
        fail(label, where + ": data_offsets end at byte " + std::to_string(e.end) +
                        " but the data section holds only " + std::to_string(data_size) +
                        " bytes (truncated file?)");
    const uint64_t expected = numel * dtype_size(e.dtype);
    if (e.end - e.begin != expected)
        fail(label, where + ": " + std::to_string(e.end - e.begin) + " bytes for shape " + shape.dump() +
                        " of " + std::string(dtype_name(e.dtype)) + ", expected " + std::to_string(expected));
    return e;
}

} // namespace

std::size_t dtype_size(DType dtype) {
    return info(dtype).size;
}
std::string_view dtype_name(DType dtype) {
    return info(dtype).name;
}

bool is_floating(DType d) {
    return d == DType::F64 || d == DType::F32 || d == DType::F16 || d == DType::BF16;
}

DType parse_dtype(std::string_view name) {
    for (const auto& d : kDTypes)
        if (d.name == name) return d.dtype;
    throw FormatError("unknown dtype \"" + std::string(name) + "\"");
}

int64_t TensorEntry::numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

const TensorEntry* SafetensorsHeader::find(std::string_view name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

SafetensorsHeader parse_safetensors(const unsigned char* bytes, std::size_t available, uint64_t file_size,
                                    const std::string& label) {
    if (file_size < 8 || available < 8)
        fail(label, "file is " + std::to_string(file_size) + " bytes, too short for a safetensors header");
    const uint64_t header_len = read_u64_le(bytes);
    if (header_len > kMaxHeaderBytes)
        fail(label, "header length " + std::to_string(header_len) + " is larger than the " +
                        std::to_string(kMaxHeaderBytes) + "-byte limit (not a safetensors file?)");
    if (header_len > file_size - 8)
        fail(label, "header length " + std::to_string(header_len) + " runs past the end of the " +
                        std::to_string(file_size) + "-byte file (truncated?)");
    if (header_len > available - 8) fail(label, "header is not fully readable");

    nlohmann::json j;
    try {
        j = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
    } catch (const nlohmann::json::exception& e) {
        fail(label, std::string("malformed JSON header: ") + e.what());
    }
    if (!j.is_object()) fail(label, "JSON header is not an object");

    SafetensorsHeader h;
    h.data_start = 8 + header_len;
    const uint64_t data_size = file_size - h.data_start;
    for (const auto& [key, value] : j.items()) {
        if (key == "__metadata__") {
            if (!value.is_object()) fail(label, "__metadata__ is not an object");
            for (const auto& [mk, mv] : value.items()) {
                if (!mv.is_string()) fail(label, "__metadata__ entry '" + mk + "' is not a string");
                h.metadata[mk] = mv.get<std::string>();
            }
            continue;
        }
        h.tensors.push_back(parse_entry(label, key, value, data_size));
    }

    std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
        return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
    });
    for (std::size_t i = 1; i < h.tensors.size(); ++i) {
        const auto& prev = h.tensors[i - 1];
        const auto& cur = h.tensors[i];
        if (cur.begin < prev.end && cur.end > cur.begin)
            fail(label, "tensors '" + prev.name + "' and '" + cur.name + "' overlap at data bytes [" +
                            std::to_string(cur.begin) + ", " + std::to_string(std::min(prev.end, cur.end)) +
                            ")");
    }
    return h;
}

std::string encode_safetensors_header(const std::vector<TensorEntry>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
    nlohmann::json j = nlohmann::json::object();
    if (!metadata.empty()) j["__metadata__"] = metadata;
    for (const auto& t : tensors)
        j[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
    std::string json = j.dump();
    json.append((8 - (json.size() % 8)) % 8, ' ');
    std::string out(8, '\0');
    uint64_t len = json.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
    return out + json;
}

} // namespace attnscope
