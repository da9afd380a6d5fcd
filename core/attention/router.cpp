#include "router.h"

#include "cpu_attention.h"
#include "util/byte_size.h"
#include "util/out_of_memory.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace attnscope {

AttentionRouter::AttentionRouter() {
    register_backend(make_math_backend());
    register_backend(make_sdpa_backend());
    register_backend(make_flash_backend());
    register_backend(make_int8_backend());
    if (const char* env = std::getenv(kBackendEnvVar); env && *env) {
        try {
            set_default_backend(env);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string(kBackendEnvVar) + ": " + e.what());
        }
    }
}

void AttentionRouter::register_backend(std::unique_ptr<AttentionBackend> backend) {
    backends_.push_back(std::move(backend));
}

std::vector<std::string> AttentionRouter::backend_names() const {
    std::vector<std::string> out;
    for (const auto& b : backends_) out.push_back(b->name());
    return out;
}

std::string AttentionRouter::names_list() const {
    std::string s;
    for (const auto& n : backend_names()) s += (s.empty() ? "" : ", ") + n;
    return s;
}

const AttentionBackend& AttentionRouter::backend(const std::string& name) const {
    for (const auto& b : backends_)
        if (b->name() == name) return *b;
    throw std::invalid_argument("unknown attention backend '" + name + "' (available: " + kAutoBackend +
                                ", " + names_list() + ")");
}

void AttentionRouter::set_default_backend(const std::string& name) {
    if (name != kAutoBackend) backend(name);
    default_ = name;
}

void AttentionRouter::set_site_backend(int index, AttentionKind kind, const std::string& name) {
    if (name == kAutoBackend) {
        site_backends_.erase({index, kind});
        return;
    }
    backend(name);
    site_backends_[{index, kind}] = name;
}

void AttentionRouter::add_observer(AttentionObserver* observer) {
    if (std::find(observers_.begin(), observers_.end(), observer) == observers_.end())
        observers_.push_back(observer);
}

void AttentionRouter::remove_observer(AttentionObserver* observer) {
    observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

const AttentionBackend& AttentionRouter::resolve(const AttentionSite& site,
                                                 const AttentionRequest& request) const {
    const auto it = site_backends_.find({site.index, site.kind});
    const std::string& chosen = it != site_backends_.end() ? it->second : default_;
    if (chosen != kAutoBackend) {
        const auto& b = backend(chosen);
        if (const auto why = b.unsupported_reason(request); !why.empty())
            throw std::invalid_argument("attention backend '" + chosen + "' cannot run " + site.label() +
                                        ": " + why);
        return b;
    }
    // Automatic: the reference where P is wanted. Else on a GPU our fused kernel where it can run (fp16/bf16,
    // its head dims), then LibTorch's; on the CPU our kernel where it beats math (small heads), else math
    // (LibTorch 1.13's CPU SDPA is the same arithmetic without the LSE). int8 is never chosen automatically.
    std::vector<const char*> order{"math"};
    if (!request.want_probs && !request.q.is_cpu()) order = {"flash", "sdpa", "math"};
    if (!request.want_probs && request.q.is_cpu() && cpu_attention_preferred(request))
        order = {"flash", "math"};
    for (const char* name : order) {
        const auto it = std::find_if(backends_.begin(), backends_.end(),
                                     [&](const auto& b) { return b->name() == name; });
        if (it != backends_.end() && (*it)->unsupported_reason(request).empty()) return **it;
    }
    throw std::invalid_argument("no attention backend can run " + site.label());
}

AttentionResult AttentionRouter::run_backend(const AttentionSite& site, const AttentionRequest& request,
                                             const AttentionBackend& b) const {
    try {
        return edit_ ? edit_->run(site, request, b) : b.run(request);
    } catch (const std::exception& e) {
        if (!is_out_of_memory(e)) throw;
        const auto& q = request.q;
        const int64_t rows = q.size(0) * q.size(1), queries = q.size(2), keys = request.k.size(2);
        std::string what = "out of memory in attention at " + site.label() + " on " + q.device().str() +
                           " with the '" + b.name() + "' backend (" + std::to_string(rows) +
                           " batch x heads, " + std::to_string(queries) + " queries x " +
                           std::to_string(keys) + " keys)";
        if (!b.materializes_probs()) throw OutOfMemory(what + ": try a smaller size or a lower precision");
        // The backend's P in its compute type: at least fp32, see the math backend.
        const double p_bytes = static_cast<double>(rows) * static_cast<double>(queries) *
                               static_cast<double>(keys) * std::max<int64_t>(q.element_size(), 4);
        throw OutOfMemory(what + ": its P alone takes " + byte_size_string(p_bytes) +
                          "; try a smaller size, or a fused backend (flash, sdpa), which never holds P");
    }
}

at::Tensor AttentionRouter::attention_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                              const AttentionSite& site) {
    const bool want_probs =
        std::any_of(observers_.begin(), observers_.end(), [](const auto* o) { return o->wants_probs(); });
    const AttentionRequest request{q, k, v, site.scale(), site.upcast, want_probs};
    const auto& b = resolve(site, request);
    last_used_[{site.index, site.kind}] = b.name();
    const auto result = run_backend(site, request, b);
    if (!observers_.empty()) {
        const auto flat = [](const at::Tensor& t) { return t.defined() ? t.flatten(0, 1) : t; };
        const AttentionTensors seen{flat(q),          flat(k),         flat(v), flat(result.probs),
                                    flat(result.out), flat(result.lse)};
        for (auto* o : observers_) o->on_attention(site, seen);
    }
    return result.out;
}

} // namespace attnscope
