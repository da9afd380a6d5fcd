#include "cuda_graph.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <stdexcept>

namespace attnscope {

struct CudaGraph::Impl {
    std::unique_ptr<at::cuda::CUDAGraph> graph;
};

CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}
CudaGraph::~CudaGraph() = default;
CudaGraph::CudaGraph(CudaGraph&&) noexcept = default;
CudaGraph& CudaGraph::operator=(CudaGraph&&) noexcept = default;

bool CudaGraph::available() {
    return true;
}

void CudaGraph::record(const std::function<void()>& body) {
    impl_->graph.reset();
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    // Recording needs a stream other than the default one; it starts once the work queued so far is done.
    const auto stream = c10::cuda::getStreamFromPool();
    if (cudaDeviceSynchronize() != cudaSuccess)
        throw std::runtime_error("CUDA graph: the device failed before recording");
    const c10::cuda::CUDAStreamGuard on_stream(stream);
    // Thread-local: the visualizer's other threads (maps, textures) keep working while one thread records.
    graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
        body();
    } catch (...) {
        // End the broken recording (LibTorch also hands the allocator's pool back there); its own error is
        // the one worth reporting.
        try {
            graph->capture_end();
        } catch (...) {
        }
        static_cast<void>(cudaGetLastError());
        throw;
    }
    graph->capture_end();
    impl_->graph = std::move(graph);
}

void CudaGraph::replay() {
    if (!impl_->graph) throw std::logic_error("CUDA graph: replay before a recording");
    impl_->graph->replay();
}

bool CudaGraph::recorded() const {
    return impl_->graph != nullptr;
}

} // namespace attnscope
