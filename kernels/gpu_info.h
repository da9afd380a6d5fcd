#pragma once
// What the CUDA runtime reports about this machine's GPUs; no LibTorch involved, so the answer is
// available (and explains itself) even when the linked LibTorch is a CPU-only build.
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

struct GpuDevice {
    int index = 0;
    std::string name;
    int sm_major = 0, sm_minor = 0;
    int multiprocessors = 0;
    uint64_t total_bytes = 0, free_bytes = 0;
};

struct GpuInfo {
    bool cuda_compiled = false; // were the CUDA kernels built into this binary
    std::vector<GpuDevice> devices;
    std::string problem; // why there is no usable GPU, when there is none
};

GpuInfo query_gpus();

// Waits for all work queued on the current GPU (no-op without CUDA); for honest wall-clock timings.
void gpu_synchronize();

// Brackets the work a profiler started with profiling off (Nsight Compute's --profile-from-start off)
// looks at, so a benchmark can show one pass and not its warm-up; no-ops without CUDA.
void gpu_profiler_start();
void gpu_profiler_stop();

} // namespace attnscope
