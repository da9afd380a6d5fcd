#include "unet_graph.h"

#include <cstdlib>
#include <optional>
#include <vector>

namespace attnscope {
namespace {

// The backends whose calls a graph can hold: device work alone, no synchronization with the host.
bool graph_safe(const std::string& backend) {
    return backend == "flash" || backend == "sdpa" || backend == "math";
}

// ATTNSCOPE_CUDA_GRAPHS=0: a comparison, or a driver that misbehaves.
bool enabled_by_environment() {
    const char* env = std::getenv("ATTNSCOPE_CUDA_GRAPHS");
    return !(env && std::string(env) == "0");
}

// Puts a stand-in in the place of a router's observers while it lives.
class ObserversReplaced {
  public:
    ObserversReplaced(AttentionRouter& router, AttentionObserver& stand_in)
        : router_(router), saved_(router.observers()), stand_in_(stand_in) {
        for (auto* o : saved_) router_.remove_observer(o);
        router_.add_observer(&stand_in_);
    }
    ~ObserversReplaced() {
        router_.remove_observer(&stand_in_);
        for (auto* o : saved_) router_.add_observer(o);
    }
    ObserversReplaced(const ObserversReplaced&) = delete;
    ObserversReplaced& operator=(const ObserversReplaced&) = delete;

  private:
    AttentionRouter& router_;
    const std::vector<AttentionObserver*> saved_;
    AttentionObserver& stand_in_;
};

} // namespace

std::string UNetGraph::cannot_replay(const UNet& unet, const AttentionRouter& router) {
    if (!unet.device().is_cuda()) return "the model runs on the CPU";
    if (!CudaGraph::available()) return "this build's LibTorch has no CUDA";
    if (!enabled_by_environment()) return "ATTNSCOPE_CUDA_GRAPHS=0";
    if (router.edit()) return "an attention edit decides on the host at every call";
    if (unet.weights().has_adapters()) return "a LoRA's strength is read at every call";
    // Observers that can wait (the capture) see a replay's calls when it has run (CallTape).
    return CallTape::cannot_wait(router.observers());
}

UNetGraph::Key UNetGraph::key_of(const UNet& unet, const AttentionRouter& router,
                                 const std::vector<at::Tensor>& inputs) {
    Key k;
    k.unet = &unet;
    k.router = router.config_id();
    k.watched = router.has_observers();
    // `auto` prefers backends that return the LSE where an observer keeps it.
    k.lse = router.observers_keep_lse();
    k.values = router.observers_read_values();
    for (const auto& t : inputs) {
        k.dtypes.push_back(t.defined() ? static_cast<int>(t.scalar_type()) : -1);
        if (t.defined()) k.shapes.insert(k.shapes.end(), t.sizes().begin(), t.sizes().end());
        k.shapes.push_back(-1); // where one input's sizes end
    }
    return k;
}

void UNetGraph::forget() {
    graph_ = CudaGraph();
    inputs_.clear();
    output_ = at::Tensor();
    tape_ = CallTape();
    refused_.clear();
    key_ = Key();
}

void UNetGraph::record(const UNet& unet, const std::vector<at::Tensor>& inputs, AttentionRouter& router) {
    inputs_.clear();
    for (const auto& t : inputs) inputs_.push_back(t.defined() ? t.to(unet.device()).clone() : t);
    // The tape keeps each call's tensors, so that the recording reuses none of their memory: after a replay
    // they hold that replay's values, packed into a few buffers by copies the graph makes. Only a watched
    // pass is taped: the kept tensors stay allocated as long as the graph.
    tape_ = CallTape(router.observers_keep_lse(), router.observers_read_values());
    try {
        std::optional<ObserversReplaced> taped;
        if (router.has_observers()) taped.emplace(router, tape_);
        graph_.record([&] {
            output_ = unet.forward(inputs_[0], inputs_[1], inputs_[2], router, {inputs_[3], inputs_[4]});
            tape_.pack();
        });
    } catch (...) {
        inputs_.clear();
        output_ = at::Tensor();
        tape_ = CallTape();
        throw;
    }
}

at::Tensor UNetGraph::forward(const UNet& unet, const at::Tensor& sample, const at::Tensor& timestep,
                              const at::Tensor& context, AttentionRouter& router,
                              const AddedConditions& added) {
    replayed_ = false;
    const auto eager = [&](const std::string& why) {
        why_ = "eager: " + why;
        return unet.forward(sample, timestep, context, router, added);
    };
    if (const auto why = cannot_replay(unet, router); !why.empty()) return eager(why);

    const std::vector<at::Tensor> inputs{sample, timestep, context, added.text_embeds, added.time_ids};
    const auto key = key_of(unet, router, inputs);
    if (!(key == key_)) {
        forget();
        key_ = key;
        auto out = eager("the first call of this shape and configuration (the next one records a graph)");
        for (const auto& [site, backend] : router.last_used())
            if (!graph_safe(backend)) refused_ = "the '" + backend + "' attention backend is not recorded";
        if (!refused_.empty()) why_ = "eager: " + refused_;
        return out;
    }
    if (!refused_.empty()) return eager(refused_);
    if (!graph_.recorded()) {
        try {
            record(unet, inputs, router);
        } catch (const std::exception& e) {
            refused_ = std::string("recording a CUDA graph failed (") + e.what() + ")";
            return eager(refused_);
        }
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].defined()) inputs_[i].copy_(inputs[i]);
    graph_.replay();
    replayed_ = true;
    why_ = "replayed a CUDA graph";
    auto out = output_.clone();
    tape_.play(router.observers());
    return out;
}

} // namespace attnscope
