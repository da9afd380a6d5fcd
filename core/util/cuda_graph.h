#pragma once
// One CUDA graph: the kernels a piece of host code queues, recorded once and launched again as a whole. A
// U-Net forward pass is a thousand and more small launches; replayed as a graph, the host's cost of each is
// gone. LibTorch's own CUDAGraph does the recording; this wrapper keeps CUDA headers out of everything else
// and builds (unavailable) where LibTorch has no CUDA.
#include <functional>
#include <memory>

namespace attnscope {

class CudaGraph {
  public:
    CudaGraph();
    ~CudaGraph();
    CudaGraph(CudaGraph&&) noexcept;
    CudaGraph& operator=(CudaGraph&&) noexcept;

    // Whether this build can record graphs (a LibTorch with CUDA).
    static bool available();

    // Records what `body` queues on the current device, on a stream of its own, into a memory pool of the
    // graph's own; nothing runs. Throws (and holds no graph) when `body` throws or does something a graph
    // cannot hold (a host synchronization, a copy from pageable memory).
    void record(const std::function<void()>& body);
    // Runs the recorded kernels on the current stream.
    void replay();
    bool recorded() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace attnscope
