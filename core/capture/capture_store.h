#pragma once
// What the visualizer keeps of every (step, site) of a session instead of P: Q and K in the run's dtype and
// the row log-sum-exp, from which any slice of P is recomputed exactly (attention/probe.h); for
// cross-attention optionally P itself, which is small (77 keys). Both CFG halves are kept. A memory budget
// bounds it: past the budget the oldest steps' self-attention goes first, then their cross-attention, and
// every eviction is reported. Sites kept from one buffer (a replayed step's) leave together, so that what the
// budget counts is what is held.
#include "attention/attention_site.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace attnscope {

struct CapturedSite {
    AttentionSite site;
    at::Tensor q, k;  // (B*heads, S, d), the run's dtype, on the run's device
    at::Tensor lse;   // (B*heads, Sq) fp32: ln sum_j exp(scale q_i.k_j)
    at::Tensor probs; // cross-attention only, when kept: (B*heads, Sq, Sk) in the run's dtype
    at::Tensor v;     // when kept (CapturePolicy::values): (B*heads, Sk, d), the run's dtype
    int64_t bytes() const;
};

struct CapturePolicy {
    int64_t budget_bytes = 0; // 0: default_capture_budget() of the device the first capture lands on
    bool self_attention = true;
    bool cross_attention = true;
    // Keep cross-attention P outright as well. Off by default: making it costs a generation 1.3-1.6x on an
    // H100 (fp32 temporaries every call) while maps recomputed from Q/K/LSE come back in 0.1-0.2 ms.
    bool cross_probs = false;
    // Keep V too, so that a walk-through of a query (core/teach) can show its output O = P V from the
    // capture alone: as much again as K.
    bool values = false;
};

// Half the free memory of a CUDA device; a quarter of physical memory for the CPU.
int64_t default_capture_budget(at::Device device);

struct CaptureKey {
    int step = 0;
    int index = 0;
    AttentionKind kind = AttentionKind::Self;
    bool operator<(const CaptureKey& o) const {
        return std::tie(step, index, kind) < std::tie(o.step, o.index, o.kind);
    }
};

class CaptureStore final : public AttentionObserver {
  public:
    explicit CaptureStore(CapturePolicy policy = {});

    // The step the attention calls that follow belong to (Session::current_step() before Session::step()).
    void begin_step(int step) { step_ = step; }
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override;
    bool wants_lse() const override { return true; }
    bool wants_values() const override { return policy_.values; }
    bool wants_outputs() const override { return false; }
    bool sees_calls_after_the_pass() const override { return true; } // it only keeps what it is shown
    // A replay's tensors packed into a few buffers (CallTape::pack): each buffer the kept tensors fill is
    // copied once and they become views into the copy. Such views are evicted with their buffer.
    void on_calls_after_the_pass(const std::vector<ObservedCall>& calls) override;

    // nullptr when that (step, site) was not captured or was evicted.
    const CapturedSite* find(int step, int index, AttentionKind kind) const;
    const std::map<CaptureKey, CapturedSite>& entries() const { return entries_; }
    std::vector<int> steps() const; // steps with anything captured, ascending
    // Adds an entry made elsewhere (a capture read back from a file), replacing one with the same key.
    void insert(const CaptureKey& key, CapturedSite site);
    // Forgets `step` and everything after it (the session rewound there).
    void drop_from(int step);
    void clear();

    int64_t bytes() const { return bytes_; }
    int64_t budget() const { return policy_.budget_bytes; }
    const CapturePolicy& policy() const { return policy_; }
    // One line per eviction, oldest first: what went and why.
    const std::vector<std::string>& evictions() const { return evictions_; }

  private:
    bool wanted(const AttentionSite& site) const;
    // Keeps one call, each tensor made the store's own by `own`.
    void keep(const AttentionSite& site, const AttentionTensors& t,
              const std::function<at::Tensor(const at::Tensor&)>& own);
    void enforce_budget();

    CapturePolicy policy_;
    int step_ = 0;
    std::map<CaptureKey, CapturedSite> entries_;
    int64_t bytes_ = 0;
    std::vector<std::string> evictions_;
};

// lse_i = ln sum_j exp(scale q_i.k_j) in fp32, computed a block of rows at a time so no full P is ever held;
// for backends that do not return it.
at::Tensor row_logsumexp(const at::Tensor& q, const at::Tensor& k, double scale);

} // namespace attnscope
