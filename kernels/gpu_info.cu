#include "gpu_info.h"

#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

namespace attnscope {

GpuInfo query_gpus() {
    GpuInfo info;
    info.cuda_compiled = true;
    int count = 0;
    if (const cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess) {
        info.problem = std::string("CUDA reports no usable GPU: ") + cudaGetErrorString(err);
        cudaGetLastError(); // clear the sticky error so later queries start clean
        return info;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
        GpuDevice d;
        d.index = i;
        d.name = prop.name;
        d.sm_major = prop.major;
        d.sm_minor = prop.minor;
        d.multiprocessors = prop.multiProcessorCount;
        size_t free_b = 0, total_b = 0;
        if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
            d.free_bytes = free_b;
            d.total_bytes = total_b;
        } else {
            d.total_bytes = prop.totalGlobalMem;
        }
        info.devices.push_back(std::move(d));
    }
    if (info.devices.empty()) info.problem = "CUDA found no GPU";
    return info;
}

void gpu_synchronize() {
    cudaDeviceSynchronize();
}

void gpu_profiler_start() {
    cudaProfilerStart();
}

void gpu_profiler_stop() {
    cudaProfilerStop();
}

} // namespace attnscope
