#pragma once
// A U-Net forward pass replayed as one CUDA graph (util/cuda_graph.h) where that gives the same result: the
// first call of a shape runs eagerly (cuDNN's and `auto`'s choices are made there, with the synchronizations
// a recording may not contain), the second records and replays, later ones replay. Calls a graph cannot
// repeat run eagerly: on the CPU, with an attention edit or LoRA (both read host state at every call), with a
// backend that synchronizes (int8). Observers that can wait for the pass's end (the capture) see a replay's
// calls after it, from the graph's memory (CallTape); others (a comparison, P wanted) keep the pass eager.
// ATTNSCOPE_CUDA_GRAPHS=0 turns graphs off for the process.
#include "../attention/call_tape.h"
#include "../attention/router.h"
#include "../util/cuda_graph.h"
#include "unet.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

class UNetGraph {
  public:
    // The same contract as UNet::forward. The result is the caller's (not overwritten by a later call).
    at::Tensor forward(const UNet& unet, const at::Tensor& sample, const at::Tensor& timestep,
                       const at::Tensor& context, AttentionRouter& router, const AddedConditions& added = {});

    // Whether the last call replayed a graph, and if not, why: "replayed a CUDA graph", "eager: ...".
    bool replayed() const { return replayed_; }
    const std::string& why() const { return why_; }

  private:
    // What a recording holds for: the model, the router's configuration, the inputs' shapes and types.
    struct Key {
        const UNet* unet = nullptr;
        uint64_t router = 0;
        bool watched = false; // observers see the calls (the recording keeps them on a tape)
        bool lse = false;     // an observer keeps the LSE
        bool values = false;  // an observer reads V
        std::vector<int64_t> shapes;
        std::vector<int> dtypes;
        bool operator==(const Key& o) const {
            return unet == o.unet && router == o.router && watched == o.watched && lse == o.lse &&
                   values == o.values && shapes == o.shapes && dtypes == o.dtypes;
        }
    };
    static Key key_of(const UNet& unet, const AttentionRouter& router, const std::vector<at::Tensor>& inputs);
    static std::string cannot_replay(const UNet& unet, const AttentionRouter& router);
    void record(const UNet& unet, const std::vector<at::Tensor>& inputs, AttentionRouter& router);
    void forget();

    Key key_;             // unset (no model) until the first call
    std::string refused_; // why this key runs eagerly for good (a backend, a failed recording)
    CudaGraph graph_;
    std::vector<at::Tensor> inputs_; // where each replay reads sample, timestep, context, added conditions
    at::Tensor output_;
    CallTape tape_; // the recorded pass's calls, for the observers of each replay
    bool replayed_ = false;
    std::string why_ = "eager: no call yet";
};

} // namespace attnscope
