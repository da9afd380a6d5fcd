#pragma once
// PyTorch's CPU random generator, reproduced: the same seed gives the same numbers as
// torch.Generator("cpu").manual_seed(seed) and torch.randn(shape, generator=g), which is how diffusers draws
// a pipeline's initial latents and its ancestral noise when handed a CPU generator. Written out here rather
// than taken from the linked LibTorch so that the numbers do not depend on its version or build.
#include <ATen/ATen.h>
#include <array>
#include <cstdint>

namespace attnscope {

class TorchCpuGenerator {
  public:
    explicit TorchCpuGenerator(uint64_t seed = 67280421310721ULL);

    uint64_t seed() const { return seed_; }
    uint32_t random();   // one Mersenne Twister output
    uint64_t random64(); // two of them, the first in the high half

    // torch.randn(shape, generator=g, dtype=dtype) on the CPU: float32, float64, float16 or bfloat16, at
    // least 16 elements (every latent is larger). The generator advances exactly as PyTorch's does.
    at::Tensor randn(at::IntArrayRef shape, at::ScalarType dtype = at::kFloat);

  private:
    static constexpr int kStateSize = 624;
    void twist();

    uint64_t seed_;
    std::array<uint32_t, kStateSize> state_{};
    int next_ = kStateSize;
};

} // namespace attnscope
