#include "torch_generator.h"

#include "../util/shape_string.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace attnscope {
namespace {

// PyTorch's uniform_real_distribution(0, 1): the type's mantissa width of random bits, scaled to [0, 1) in
// float (double for double). Reduced-precision types get only their own mantissa's worth.
template <typename T> T uniform01(TorchCpuGenerator& g) {
    if constexpr (std::is_same_v<T, double>) {
        constexpr int digits = std::numeric_limits<double>::digits;
        return static_cast<double>(g.random64() & ((uint64_t{1} << digits) - 1)) /
               double(uint64_t{1} << digits);
    } else {
        constexpr int digits = std::is_same_v<T, float> ? 24 : std::is_same_v<T, c10::Half> ? 11 : 8;
        const float x = static_cast<float>(g.random() & ((1u << digits) - 1)) / float(1u << digits);
        return static_cast<T>(x);
    }
}

// std::log/cos/sin as PyTorch applies them to T: reduced-precision types compute in float and round back.
template <typename T> using Wide = std::conditional_t<std::is_same_v<T, double>, double, float>;
template <typename T, typename F> T in_wide(F f, T x) {
    return static_cast<T>(f(static_cast<Wide<T>>(x)));
}

// Box-Muller on blocks of 16 uniforms: the first 8 give the radii, the last 8 the angles. Each intermediate
// is rounded to T where PyTorch's scalar code stores one.
template <typename T> void normal_fill_16(T* data) {
    for (int j = 0; j < 8; ++j) {
        const T u1 = 1 - data[j]; // [0, 1) -> (0, 1] for the log
        const T u2 = data[j + 8];
        const T radius = in_wide([](auto x) { return std::sqrt(x); },
                                 static_cast<T>(-2 * in_wide([](auto x) { return std::log(x); }, u1)));
        const T theta = 2.0f * M_PI * static_cast<double>(u2);
        data[j] = radius * in_wide([](auto x) { return std::cos(x); }, theta);
        data[j + 8] = radius * in_wide([](auto x) { return std::sin(x); }, theta);
    }
}

template <typename T> void normal_fill(TorchCpuGenerator& g, T* data, int64_t size) {
    for (int64_t i = 0; i < size; ++i) data[i] = uniform01<T>(g);
    for (int64_t i = 0; i + 16 <= size; i += 16) normal_fill_16(data + i);
    if (size % 16 != 0) { // the tail: fresh uniforms for the last 16 values, overlapping the last full block
        T* tail = data + size - 16;
        for (int i = 0; i < 16; ++i) tail[i] = uniform01<T>(g);
        normal_fill_16(tail);
    }
}

} // namespace

TorchCpuGenerator::TorchCpuGenerator(uint64_t seed) : seed_(seed) {
    state_[0] = static_cast<uint32_t>(seed & 0xffffffffu);
    for (int i = 1; i < kStateSize; ++i)
        state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<uint32_t>(i);
}

void TorchCpuGenerator::twist() {
    constexpr int m = 397;
    constexpr uint32_t upper = 0x80000000u, lower = 0x7fffffffu, matrix = 0x9908b0dfu;
    for (int i = 0; i < kStateSize; ++i) {
        const uint32_t y = (state_[i] & upper) | (state_[(i + 1) % kStateSize] & lower);
        state_[i] = state_[(i + m) % kStateSize] ^ (y >> 1) ^ ((y & 1u) ? matrix : 0u);
    }
    next_ = 0;
}

uint32_t TorchCpuGenerator::random() {
    if (next_ >= kStateSize) twist();
    uint32_t y = state_[next_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t TorchCpuGenerator::random64() {
    const uint64_t hi = random();
    return (hi << 32) | random();
}

at::Tensor TorchCpuGenerator::randn(at::IntArrayRef shape, at::ScalarType dtype) {
    auto out = at::empty(shape, at::TensorOptions().dtype(dtype));
    const int64_t n = out.numel();
    if (n < 16)
        throw std::invalid_argument("TorchCpuGenerator::randn needs at least 16 values, got shape " +
                                    shape_string(shape));
    switch (dtype) {
    case at::kFloat:
        normal_fill(*this, out.data_ptr<float>(), n);
        break;
    case at::kDouble:
        normal_fill(*this, out.data_ptr<double>(), n);
        break;
    case at::kHalf:
        normal_fill(*this, out.data_ptr<c10::Half>(), n);
        break;
    case at::kBFloat16:
        normal_fill(*this, out.data_ptr<c10::BFloat16>(), n);
        break;
    default:
        throw std::invalid_argument("TorchCpuGenerator::randn: unsupported dtype " +
                                    std::string(c10::toString(dtype)));
    }
    return out;
}

} // namespace attnscope
