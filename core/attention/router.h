#pragma once
// The single entry point every attention call of the model goes through. It picks a backend
// (automatically, from ATTNSCOPE_ATTENTION, or per site), runs it and shows the call to observers.
#include "attention_site.h"
#include "backend.h"
#include "backend_timings.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace attnscope {

inline constexpr const char* kAutoBackend = "auto";
inline constexpr const char* kBackendEnvVar = "ATTNSCOPE_ATTENTION";

// An intervention in attention (core/intervene): the router hands it every call together with the backend
// it chose, and it computes the call in that backend's place. Calls it leaves alone it passes to `routed`.
class AttentionEdit {
  public:
    virtual ~AttentionEdit() = default;
    virtual AttentionResult run(const AttentionSite& site, const AttentionRequest& request,
                                const AttentionBackend& routed) const = 0;
};

class AttentionRouter {
  public:
    // Registers the built-in backends; the default comes from ATTNSCOPE_ATTENTION (or "auto").
    // Throws std::invalid_argument when that variable names no backend.
    AttentionRouter();

    void register_backend(std::unique_ptr<AttentionBackend> backend);
    std::vector<std::string> backend_names() const;
    const AttentionBackend& backend(const std::string& name) const; // throws listing the known names

    void set_default_backend(const std::string& name); // "auto" or a registered name
    const std::string& default_backend() const { return default_; }
    void set_site_backend(int index, AttentionKind kind, const std::string& name); // "auto" clears
    void clear_site_backends();

    // Observers are not owned; remove them before they are destroyed.
    void add_observer(AttentionObserver* observer);
    void remove_observer(AttentionObserver* observer);
    // At most one edit, not owned: set nullptr before it is destroyed. Observers see the edited call.
    void set_edit(const AttentionEdit* edit) {
        edit_ = edit;
        changed();
    }
    const AttentionEdit* edit() const { return edit_; }
    bool has_observers() const { return !observers_.empty(); }
    const std::vector<AttentionObserver*>& observers() const { return observers_; }
    // Whether an observer keeps the row LSE (the capture): `auto` then takes a backend that returns it.
    bool observers_keep_lse() const;
    // Whether an observer reads V (AttentionObserver::wants_values).
    bool observers_read_values() const;

    // Changes whenever the backends or the edit change: a recorded forward pass is valid for one value.
    uint64_t config_id() const { return config_id_; }

    // q, k, v: (B, heads, S, d). Returns O in the same layout. `hidden`, the normalized hidden state q was
    // projected from, only goes on to observers.
    at::Tensor attention_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                 const AttentionSite& site, const at::Tensor& hidden = {});

    // The backend a call would use and why: the site's override, else the default, "auto" resolved (on a GPU
    // by measuring the candidates once per shape: backend_timings.h).
    struct Choice {
        const AttentionBackend* backend = nullptr;
        std::string why; // "set for this site", "measured: flash 0.198 ms, sdpa 0.181 ms", ...
    };
    Choice resolve(const AttentionSite& site, const AttentionRequest& request) const;
    // Backends used by the last forward pass, per site, and why (for status displays and tests).
    const std::map<std::pair<int, AttentionKind>, std::string>& last_used() const { return last_used_; }
    const std::map<std::pair<int, AttentionKind>, std::string>& last_why() const { return last_why_; }
    const std::map<std::pair<int, AttentionKind>, std::string>& site_backends() const {
        return site_backends_;
    }

  private:
    // Whether some observer asks for what `wants` names (wants_probs, wants_lse, ...).
    bool any_observer(bool (AttentionObserver::*wants)() const) const;
    std::string names_list() const;
    void changed();
    Choice automatic(const AttentionSite& site, const AttentionRequest& request) const;
    // The chosen backend, or the edit in its place; running out of memory becomes an OutOfMemory that names
    // the site and what it needed.
    AttentionResult run_backend(const AttentionSite& site, const AttentionRequest& request,
                                const AttentionBackend& b) const;
    std::vector<std::unique_ptr<AttentionBackend>> backends_;
    std::string default_ = kAutoBackend;
    std::map<std::pair<int, AttentionKind>, std::string> site_backends_;
    std::map<std::pair<int, AttentionKind>, std::string> last_used_, last_why_;
    std::vector<AttentionObserver*> observers_;
    const AttentionEdit* edit_ = nullptr;
    uint64_t config_id_ = 0;
    BackendTimings* timings_;                        // the process's (not owned)
    mutable std::map<std::string, Choice> measured_; // auto's choice per GPU and shape
};

} // namespace attnscope
