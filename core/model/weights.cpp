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

void Weights::check_adapter(const std::string& module, const at::Tensor& down, const at::Tensor& up) const {
    const auto it = tensors_.find(module + ".weight");
    if (it == tensors_.end()) throw std::invalid_argument("the model has no layer '" + module + "'");
    const auto& w = it->second;
    const auto shape = [](const at::Tensor& t) { return c10::str(t.sizes()); };
    const bool conv = w.dim() == 4;
    const int64_t rank = down.dim() > 0 ? down.size(0) : 0;
    const bool fits = (w.dim() == 2 || conv) && down.dim() == w.dim() && up.dim() == w.dim() && rank > 0 &&
                      up.size(0) == w.size(0) && up.size(1) == rank && down.size(1) == w.size(1) &&
                      (!conv || (down.size(2) == w.size(2) && down.size(3) == w.size(3) && up.size(2) == 1 &&
                                 up.size(3) == 1));
    if (!fits)
        throw std::invalid_argument("layer '" + module + "' has weight " + shape(w) + ", which down " +
                                    shape(down) + " and up " + shape(up) + " do not fit");
}

void Weights::add_adapter(const std::string& module, Adapter a) {
    check_adapter(module, a.down, a.up);
    const auto& w = tensors_.at(module + ".weight");
    a.down = a.down.to(w.device(), w.scalar_type());
    a.up = a.up.to(w.device(), w.scalar_type());
    adapters_[module].push_back(std::move(a));
}

const std::vector<Adapter>* Weights::adapters(const std::string& module) const {
    if (adapters_.empty()) return nullptr;
    const auto it = adapters_.find(module);
    return it == adapters_.end() ? nullptr : &it->second;
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
