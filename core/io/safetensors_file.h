#pragma once
// Reading and writing .safetensors files as LibTorch tensors.
#include "mapped_file.h"
#include "safetensors_format.h"

#include <ATen/ATen.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnscope {

at::ScalarType to_scalar_type(DType dtype);
DType to_dtype(at::ScalarType type); // throws for types safetensors cannot hold

class SafetensorsFile {
  public:
    explicit SafetensorsFile(const std::string& path); // maps and validates; throws FormatError

    const std::string& path() const { return file_->path(); }
    const SafetensorsHeader& header() const { return header_; }
    bool contains(const std::string& name) const { return header_.find(name) != nullptr; }
    std::vector<std::string> names() const;

    // The tensor converted to `dtype` on `device`; it owns its memory (the mapping may go away).
    at::Tensor load(const std::string& name, at::ScalarType dtype, at::Device device = at::kCPU) const;
    // The tensor in its stored dtype on the CPU, as an owning copy.
    at::Tensor load(const std::string& name) const;

  private:
    at::Tensor view(const TensorEntry& entry) const; // borrows the mapping
    std::shared_ptr<MappedFile> file_;
    SafetensorsHeader header_;
};

using TensorMap = std::map<std::string, at::Tensor>;

// Writes tensors (any device, contiguous or not) atomically; keys are stored in sorted order.
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

} // namespace attnscope
