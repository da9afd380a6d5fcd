#include "cpu_threads.h"

#include "memory_guard.h"

#include <ATen/Parallel.h>
#include <algorithm>
#include <dlfcn.h>
#include <malloc.h>
#include <thread>

namespace attnscope {

void configure_cpu_threads() {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, -1);
    install_cpu_memory_guard();
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    // Only where the process has OpenBLAS (Debian's LibTorch); other BLAS libraries are left as they are.
    using SetThreads = void (*)(int);
    if (const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(1);
}

} // namespace attnscope
