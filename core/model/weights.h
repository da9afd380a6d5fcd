#pragma once
// A model's parameters by name, all of one dtype on one device.
#include <ATen/ATen.h>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnscope {

// A low-rank update of one layer, kept apart from its weight W (unmerged): the layer computes
// W x + scale * factor * up(down(x)), so `scale` may change between forward passes (a LoRA's strength,
// shared by all its layers) while W stays as loaded. Linear: down (rank, in), up (out, rank). Convolution:
// down (rank, in, kh, kw) with the layer's stride and padding, up (out, rank, 1, 1).
struct Adapter {
    at::Tensor down, up;
    double factor = 1; // alpha / rank
    std::shared_ptr<const std::atomic<double>> scale;
};

class Weights {
  public:
    void set(const std::string& name, at::Tensor tensor) { tensors_[name] = std::move(tensor); }
    const at::Tensor& operator[](const std::string& name) const; // throws naming the missing key
    at::Tensor optional(const std::string& name) const;          // undefined when absent
    bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
    std::size_t size() const { return tensors_.size(); }
    int64_t parameter_count() const;
    int64_t byte_size() const;
    const std::map<std::string, at::Tensor>& all() const { return tensors_; }

    // Throws std::invalid_argument naming the layer `module` (its weight is module + ".weight") when it has
    // no weight or an update of these shapes does not fit it.
    void check_adapter(const std::string& module, const at::Tensor& down, const at::Tensor& up) const;
    // Adds an update to the layer (check_adapter first), converted to the weight's dtype and device.
    void add_adapter(const std::string& module, Adapter adapter);
    // The layer's updates; null when it has none (most layers, every layer of a model without LoRA).
    const std::vector<Adapter>* adapters(const std::string& module) const;
    bool has_adapters() const { return !adapters_.empty(); }

  private:
    std::map<std::string, at::Tensor> tensors_;
    std::map<std::string, std::vector<Adapter>> adapters_;
};

} // namespace attnscope
