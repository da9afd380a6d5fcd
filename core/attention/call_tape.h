#pragma once
// A forward pass's attention calls, kept for observers that see them after the pass: a replayed CUDA graph
// (model/unet_graph.h) runs every call at once, then the tape shows each call's tensors as they are now.
#include "attention_site.h"

#include <string>
#include <vector>

namespace attnscope {

class CallTape final : public AttentionObserver {
  public:
    // Stands in for a router's observers while a pass is recorded: it asks for the LSE where they keep it
    // (AttentionRouter::observers_keep_lse), so the recorded backends are theirs.
    // Likewise V where they read it (AttentionRouter::observers_read_values); the output never.
    explicit CallTape(bool wants_lse = false, bool wants_values = true)
        : wants_lse_(wants_lse), wants_values_(wants_values) {}

    // Why these observers must see each call as it runs, or empty when they can wait for the pass's end.
    static std::string cannot_wait(const std::vector<AttentionObserver*>& observers);

    void on_attention(const AttentionSite& site, const AttentionTensors& t) override;
    bool wants_lse() const override { return wants_lse_; }
    bool wants_values() const override { return wants_values_; }
    bool wants_outputs() const override { return false; }

    // Copies the kept tensors into one buffer per attention kind and role (Q and K; the LSE; V; P) and keeps
    // views into those instead. Called at the end of a recorded pass, the copies become part of the graph,
    // and an observer keeps a replay's calls with a copy of each buffer it wants (a handful a step) rather
    // than of each tensor (a hundred allocations and launches, 2.2 ms of host time a step of SD v1.5).
    void pack();
    // Shows every kept call, in the pass's order, to each of `observers` (on_calls_after_the_pass), its
    // tensors marked transient (out and hidden are not kept).
    void play(const std::vector<AttentionObserver*>& observers) const;
    std::size_t size() const { return calls_.size(); }

  private:
    bool wants_lse_ = false;
    bool wants_values_ = true;
    std::vector<ObservedCall> calls_;
};

} // namespace attnscope
