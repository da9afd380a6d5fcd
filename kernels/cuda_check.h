#pragma once
// CUDA errors as exceptions that name the kernel or call that failed (host side of the .cu files).
#include <atomic>
#include <cuda_runtime.h>
#include <stdexcept>
#include <string>

namespace attnscope::kernels {

inline void check_cuda(cudaError_t err, const char* what) {
    if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// After a launch: configuration errors surface here, faults inside the kernel at the next synchronization.
inline void check_launch(const char* kernel) {
    check_cuda(cudaGetLastError(), kernel);
}

// Multiprocessors of the current device, for grid-size decisions (asked once per device: every launch
// needs it, and the attribute query costs more than a small kernel's launch).
inline int multiprocessor_count() {
    constexpr int kDevices = 64;
    static std::atomic<int> known[kDevices] = {};
    int device = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    if (device < kDevices && known[device] > 0) return known[device];
    int count = 0;
    check_cuda(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device),
               "cudaDeviceGetAttribute");
    if (device < kDevices) known[device] = count;
    return count;
}

} // namespace attnscope::kernels
