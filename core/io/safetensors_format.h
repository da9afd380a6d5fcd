#pragma once
// The safetensors container format, parsed without LibTorch so the parser can be fuzzed on its own.
// Layout: 8-byte little-endian header length N, N bytes of JSON, then the tensor data buffer.
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace attnscope {

// Every parse or validation failure: the message names the file and the offending key or offset.
struct FormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

std::size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
DType parse_dtype(std::string_view name); // throws FormatError for names we do not read
bool is_floating(DType dtype);

struct TensorEntry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0; // offsets relative to the start of the data buffer
    uint64_t end = 0;
    int64_t numel() const;
};

struct SafetensorsHeader {
    std::vector<TensorEntry> tensors; // in data-offset order
    std::map<std::string, std::string> metadata;
    uint64_t data_start = 0; // absolute file offset of the data buffer
    const TensorEntry* find(std::string_view name) const;
};

// Largest JSON header we accept; real checkpoints stay far below it and it bounds hostile inputs.
inline constexpr uint64_t kMaxHeaderBytes = 100u << 20;

// Parses and validates a whole file image (or at least its header when file_size says how long the
// file is). `label` names the file in error messages.
SafetensorsHeader parse_safetensors(const unsigned char* bytes, std::size_t available, uint64_t file_size,
                                    const std::string& label);

// Builds the header bytes (length prefix + JSON, space-padded to 8-byte alignment) for entries whose
// offsets are already laid out.
std::string encode_safetensors_header(const std::vector<TensorEntry>& tensors,
                                      const std::map<std::string, std::string>& metadata);

} // namespace attnscope
