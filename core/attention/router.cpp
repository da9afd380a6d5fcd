#include "router.h"

#include "cpu_attention.h"
#include "gpu_info.h"
#include "util/byte_size.h"
#include "util/dtype_names.h"
#include "util/out_of_memory.h"
#include "util/version.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <stdexcept>
#include <torch/version.h>

namespace attnscope {
namespace {

// "NVIDIA H100 80GB HBM3, LibTorch 2.11.0, attnscope 0.1 (commit)": timings hold for this GPU and build.
std::string gpu_label(int index) {
    std::string name = "CUDA device " + std::to_string(index);
    for (const auto& d : query_gpus().devices)
        if (d.index == index) name = d.name;
    return name + ", LibTorch " + TORCH_VERSION + ", attnscope " + version() + " (" + git_commit() + ")";
}

// One call's time as a forward pass sees it: calls queued back to back (a wait after each would add the
// launch latency, which the forward hides, and swamp the small shapes), ten at a time, the median of five
// such rounds after a warm-up.
double median_call_ms(const AttentionBackend& b, const AttentionRequest& request) {
    constexpr int kCalls = 10, kRounds = 5;
    for (int i = 0; i < 2; ++i) b.run(request);
    gpu_synchronize();
    std::vector<double> ms;
    for (int r = 0; r < kRounds; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < kCalls; ++i) b.run(request);
        gpu_synchronize();
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
            kCalls);
    }
    std::nth_element(ms.begin(), ms.begin() + kRounds / 2, ms.end());
    return ms[kRounds / 2];
}

} // namespace

AttentionRouter::AttentionRouter() : timings_(&BackendTimings::shared()) {
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
    changed();
}

void AttentionRouter::changed() {
    // Process-wide, so that no other router (nor this one before) ever had the same id.
    static std::atomic<uint64_t> next{1};
    config_id_ = next++;
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
    changed();
}

void AttentionRouter::set_site_backend(int index, AttentionKind kind, const std::string& name) {
    if (name == kAutoBackend) {
        site_backends_.erase({index, kind});
    } else {
        backend(name);
        site_backends_[{index, kind}] = name;
    }
    changed();
}

void AttentionRouter::clear_site_backends() {
    site_backends_.clear();
    changed();
}

void AttentionRouter::add_observer(AttentionObserver* observer) {
    if (std::find(observers_.begin(), observers_.end(), observer) == observers_.end())
        observers_.push_back(observer);
}

bool AttentionRouter::any_observer(bool (AttentionObserver::*wants)() const) const {
    return std::any_of(observers_.begin(), observers_.end(), [&](const auto* o) { return (o->*wants)(); });
}

bool AttentionRouter::observers_keep_lse() const {
    return any_observer(&AttentionObserver::wants_lse);
}

bool AttentionRouter::observers_read_values() const {
    return any_observer(&AttentionObserver::wants_values);
}

void AttentionRouter::remove_observer(AttentionObserver* observer) {
    observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

AttentionRouter::Choice AttentionRouter::resolve(const AttentionSite& site,
                                                 const AttentionRequest& request) const {
    const auto it = site_backends_.find({site.index, site.kind});
    const bool own = it != site_backends_.end();
    const std::string& chosen = own ? it->second : default_;
    if (chosen == kAutoBackend) return automatic(site, request);
    const auto& b = backend(chosen);
    if (const auto why = b.unsupported_reason(request); !why.empty())
        throw std::invalid_argument("attention backend '" + chosen + "' cannot run " + site.label() + ": " +
                                    why);
    return {&b, own ? "set for this site" : "the default backend"};
}

AttentionRouter::Choice AttentionRouter::automatic(const AttentionSite& site,
                                                   const AttentionRequest& request) const {
    const auto runnable = [&](const char* name) -> const AttentionBackend* {
        const auto it = std::find_if(backends_.begin(), backends_.end(),
                                     [&](const auto& b) { return b->name() == name; });
        return it != backends_.end() && (*it)->unsupported_reason(request).empty() ? it->get() : nullptr;
    };
    const auto math = [&](const std::string& why) -> Choice {
        if (const auto* m = runnable("math")) return {m, why};
        throw std::invalid_argument("no attention backend can run " + site.label());
    };
    // The reference where P is wanted. On the CPU our kernel where it beats math, else math (LibTorch 1.13's
    // CPU SDPA is the same arithmetic without the LSE). int8 is never chosen automatically.
    if (request.want_probs) return math("an observer wants P, which math materializes");
    if (request.q.is_cpu()) {
        if (const auto* f = runnable("flash"))
            if (auto why = cpu_attention_preferred_because(request); !why.empty()) return {f, std::move(why)};
        return math("on the CPU math (BLAS) is fastest at this head dim");
    }
    // On a GPU the fused backends: our flash kernel where it runs, LibTorch's SDPA.
    std::vector<std::string> candidates;
    for (const char* name : {"flash", "sdpa"})
        if (runnable(name)) candidates.emplace_back(name);
    if (candidates.empty()) return math("no fused backend runs this call");
    // An observer that keeps the LSE (the capture) would compute it again after a backend that does not
    // return it, which costs more than any difference between the kernels: those that return it compete.
    if (request.want_lse) {
        std::vector<std::string> keeping;
        std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(keeping),
                     [&](const std::string& name) { return backend(name).returns_lse(); });
        if (keeping.size() == 1)
            return {&backend(keeping.front()),
                    "the capture keeps the LSE, which only " + keeping.front() + " returns here"};
        if (!keeping.empty()) candidates = std::move(keeping);
    }
    if (candidates.size() == 1) return {&backend(candidates.front()), "the only fused backend that runs it"};
    const auto& q = request.q;
    TimedShape shape;
    const int gpu = std::max<int>(q.device().index(), 0);
    shape.dtype = dtype_short_name(q.scalar_type());
    shape.rows = q.size(0) * q.size(1);
    shape.seq_q = q.size(2);
    shape.seq_k = request.k.size(2);
    shape.head_dim = q.size(3);
    shape.upcast = request.upcast;
    // Asking the driver for the GPU's name and the cache for the timing at every call cost 0.3 ms a U-Net
    // forward (32 calls) on an H100: each shape is chosen once per router.
    const auto key = std::to_string(gpu) + " " + shape.key() + (request.want_lse ? " lse" : "");
    if (const auto known = measured_.find(key); known != measured_.end()) return known->second;
    shape.device = gpu_label(gpu);
    const auto measure = [&](const std::string& name) { return median_call_ms(backend(name), request); };
    const auto choice = timings_->fastest(shape, candidates, measure);
    return measured_[key] = {&backend(choice.backend), choice.why};
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
                                              const AttentionSite& site, const at::Tensor& hidden) {
    const bool want_probs = any_observer(&AttentionObserver::wants_probs);
    const AttentionRequest request{q, k, v, site.scale(), site.upcast, want_probs, observers_keep_lse()};
    const auto choice = resolve(site, request);
    last_used_[{site.index, site.kind}] = choice.backend->name();
    last_why_[{site.index, site.kind}] = choice.why;
    const auto result = run_backend(site, request, *choice.backend);
    if (!observers_.empty()) {
        const auto flat = [](const at::Tensor& t) { return t.defined() ? t.flatten(0, 1) : t; };
        const bool outputs = any_observer(&AttentionObserver::wants_outputs);
        const AttentionTensors seen{flat(q),
                                    flat(k),
                                    observers_read_values() ? flat(v) : at::Tensor(),
                                    flat(result.probs),
                                    outputs ? flat(result.out) : at::Tensor(),
                                    flat(result.lse),
                                    hidden,
                                    false};
        for (auto* o : observers_) o->on_attention(site, seen);
    }
    return result.out;
}

} // namespace attnscope
