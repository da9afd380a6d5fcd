#include "safetensors_file.h"

#include <cstdint>
#include <cstring>
#include <utility>

namespace attnscope {

namespace {

constexpr std::pair<DType, at::ScalarType> kTypes[] = {
    {DType::F64, at::kDouble},    {DType::F32, at::kFloat}, {DType::F16, at::kHalf},
    {DType::BF16, at::kBFloat16}, {DType::I64, at::kLong},  {DType::I32, at::kInt},
    {DType::I16, at::kShort},     {DType::I8, at::kChar},   {DType::U8, at::kByte},
    {DType::Bool, at::kBool},
};

} // namespace

at::ScalarType to_scalar_type(DType dtype) {
    for (const auto& [d, t] : kTypes)
        if (d == dtype) return t;
    throw std::logic_error("unhandled dtype");
}

DType to_dtype(at::ScalarType type) {
    for (const auto& [d, t] : kTypes)
        if (t == type) return d;
    throw std::invalid_argument(std::string("safetensors cannot store dtype ") + at::toString(type));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
    header_ = parse_safetensors(file_->data(), file_->size(), file_->size(), path);
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    for (const auto& t : header_.tensors) out.push_back(t.name);
    return out;
}

at::Tensor SafetensorsFile::view(const TensorEntry& entry) const {
    const auto type = to_scalar_type(entry.dtype);
    const unsigned char* p = file_->data() + header_.data_start + entry.begin;
    if (entry.numel() == 0) return at::empty(entry.shape, at::TensorOptions().dtype(type));
    if (reinterpret_cast<std::uintptr_t>(p) % dtype_size(entry.dtype) != 0) {
        // Misaligned data (legal in the format): copy through an aligned buffer instead of borrowing.
        auto t = at::empty(entry.shape, at::TensorOptions().dtype(type));
        std::memcpy(t.data_ptr(), p, entry.end - entry.begin);
        return t;
    }
    return at::from_blob(const_cast<unsigned char*>(p), entry.shape, at::TensorOptions().dtype(type));
}

at::Tensor SafetensorsFile::load(const std::string& name, at::ScalarType dtype, at::Device device) const {
    const auto* entry = header_.find(name);
    if (!entry) throw FormatError(path() + ": no tensor '" + name + "'");
    // to() with copy=true guarantees the result does not alias the read-only mapping.
    return view(*entry).to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
}

at::Tensor SafetensorsFile::load(const std::string& name) const {
    const auto* entry = header_.find(name);
    if (!entry) throw FormatError(path() + ": no tensor '" + name + "'");
    return load(name, to_scalar_type(entry->dtype));
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::vector<TensorEntry> entries;
    std::vector<at::Tensor> host;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        auto t = tensor.detach().to(at::kCPU).contiguous();
        TensorEntry e{name, to_dtype(t.scalar_type()), t.sizes().vec(), offset, 0};
        e.end = offset + static_cast<uint64_t>(t.numel()) * t.element_size();
        offset = e.end;
        entries.push_back(std::move(e));
        host.push_back(std::move(t));
    }
    const std::string header = encode_safetensors_header(entries, metadata);
    AtomicFileWriter out(path);
    out.write(header.data(), header.size());
    for (const auto& t : host)
        out.write(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    out.commit();
}

} // namespace attnscope
