#include "gpu_info.h"

namespace attnscope {

GpuInfo query_gpus() {
    GpuInfo info;
    info.problem = "this build has no CUDA kernels (nvcc was not found when it was configured)";
    return info;
}

void gpu_synchronize() {}
void gpu_profiler_start() {}
void gpu_profiler_stop() {}

} // namespace attnscope
