#pragma once
// The measured half of `auto`: which of the backends that can run an attention shape is fastest on this
// GPU. Our flash kernel is not the fastest at every shape on every GPU (0.67x SDPA at SD v2's large
// self-attention on an H100, faster at cross-attention), and GPUs we never measured differ again, so each
// shape's candidates are timed once, on first use, and remembered per GPU in a cache file.
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace attnscope {

// One attention shape on one device: what a timing is valid for.
struct TimedShape {
    std::string
        device; // the GPU's name and the software that runs it: "NVIDIA H100 80GB HBM3, LibTorch 2.11.0"
    std::string dtype;                                    // f16, bf16, f32
    int64_t rows = 0, seq_q = 0, seq_k = 0, head_dim = 0; // rows: batch x heads
    bool upcast = false;
    std::string key() const; // "f16 16x4096x4096x40" (+ " upcast")
};

struct BackendChoice {
    std::string backend;
    std::string why; // "measured: flash 0.198 ms, sdpa 0.181 ms"
};

class BackendTimings {
  public:
    // Timings in `cache_file` are read at the first choice and new ones written back; an empty path keeps
    // them in memory only. A cache file that cannot be read is set aside (and rewritten), never fatal.
    explicit BackendTimings(std::filesystem::path cache_file);

    // The fastest of `candidates` (at least one) for `shape`; the ones without a timing are measured with
    // `measure(name)` (milliseconds) first. Ties go to the earlier candidate.
    BackendChoice fastest(const TimedShape& shape, const std::vector<std::string>& candidates,
                          const std::function<double(const std::string&)>& measure);

    // The process's timings, cached in $ATTNSCOPE_CACHE, else $XDG_CACHE_HOME/attnscope, else
    // ~/.cache/attnscope (backend-timings.json).
    static BackendTimings& shared();
    static std::filesystem::path default_cache_file();

  private:
    void load();
    void save() const;

    std::filesystem::path file_;
    bool loaded_ = false;
    // device -> shape key -> backend -> ms
    std::map<std::string, std::map<std::string, std::map<std::string, double>>> ms_;
    std::mutex mutex_;
};

} // namespace attnscope
