#pragma once
// A model's parameters by name, all of one dtype on one device.
#include <ATen/ATen.h>
#include <map>
#include <string>
#include <vector>

namespace attnscope {

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

  private:
    std::map<std::string, at::Tensor> tensors_;
};

} // namespace attnscope
