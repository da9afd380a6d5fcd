#include "weights.h"

#include <stdexcept>

namespace attnscope {

const at::Tensor& Weights::operator[](const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::out_of_range("model weight '" + name + "' is missing");
    return it->second;
}

at::Tensor Weights::optional(const std::string& name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? at::Tensor() : it->second;
}

int64_t Weights::parameter_count() const {
    int64_t n = 0;
    for (const auto& [_, t] : tensors_) n += t.numel();
    return n;
}

int64_t Weights::byte_size() const {
    int64_t n = 0;
    for (const auto& [_, t] : tensors_) n += t.numel() * t.element_size();
    return n;
}

} // namespace attnscope
