#include "cuda_graph.h"

#include <stdexcept>

namespace attnscope {

struct CudaGraph::Impl {};

CudaGraph::CudaGraph() = default;
CudaGraph::~CudaGraph() = default;
CudaGraph::CudaGraph(CudaGraph&&) noexcept = default;
CudaGraph& CudaGraph::operator=(CudaGraph&&) noexcept = default;

bool CudaGraph::available() {
    return false;
}

void CudaGraph::record(const std::function<void()>&) {
    throw std::runtime_error("this build's LibTorch has no CUDA: no CUDA graphs");
}

void CudaGraph::replay() {
    throw std::runtime_error("this build's LibTorch has no CUDA: no CUDA graphs");
}

bool CudaGraph::recorded() const {
    return false;
}

} // namespace attnscope
