#pragma once
// Timing GPU work with CUDA events, shared by the benchmarks with and without LibTorch (no torch here).
#include <algorithm>
#include <cuda_runtime.h>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnscope::bench {

inline void check_cuda(cudaError_t err, const char* what) {
    if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// Milliseconds of `iters` calls of fn(i), each between two events on the default stream, after 5 warm-up
// calls fn(0..4); sorted, fastest first.
inline std::vector<double> timed_calls_ms(int iters, const std::function<void(int)>& fn) {
    for (int i = 0; i < 5; ++i) fn(i);
    std::vector<cudaEvent_t> events(2 * iters);
    for (auto& e : events) check_cuda(cudaEventCreate(&e), "cudaEventCreate");
    for (int i = 0; i < iters; ++i) {
        check_cuda(cudaEventRecord(events[2 * i]), "cudaEventRecord");
        fn(i);
        check_cuda(cudaEventRecord(events[2 * i + 1]), "cudaEventRecord");
    }
    check_cuda(cudaEventSynchronize(events.back()), "cudaEventSynchronize");
    std::vector<double> ms(iters);
    for (int i = 0; i < iters; ++i) {
        float t = 0;
        check_cuda(cudaEventElapsedTime(&t, events[2 * i], events[2 * i + 1]), "cudaEventElapsedTime");
        ms[i] = t;
    }
    for (auto& e : events) cudaEventDestroy(e);
    std::sort(ms.begin(), ms.end());
    return ms;
}

inline double median_ms(int iters, const std::function<void(int)>& fn) {
    const auto ms = timed_calls_ms(iters, fn);
    return ms[ms.size() / 2];
}

} // namespace attnscope::bench
