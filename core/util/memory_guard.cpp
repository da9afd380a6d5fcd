#include "memory_guard.h"

#include "byte_size.h"
#include "out_of_memory.h"

#include <c10/core/CPUAllocator.h>
#include <cstdio>
#include <malloc.h>
#include <torch/version.h>

namespace attnscope {
namespace {

constexpr int64_t kGuardedSize = int64_t{64} << 20;
constexpr int64_t kReserve = int64_t{256} << 20;

// The op that asked usually needs as much again for its own temporaries, some of them outside LibTorch's
// allocator (oneDNN's scratch space, OpenMP reductions): an allocation may take half of what is left.
bool fits(int64_t bytes, int64_t available) {
    return available < 0 || 2 * bytes <= available - kReserve;
}

void refuse_if_unbacked(size_t n) {
    const auto bytes = static_cast<int64_t>(n);
    if (bytes < kGuardedSize || fits(bytes, available_cpu_memory())) return;
    // Memory this process freed is kept (configure_cpu_threads) and is not in MemAvailable: hand it back,
    // and look again. Counting it instead (mallinfo's free bytes) let a training step be killed: a large
    // request is met only by one free stretch of its size, and the heap grows past scattered ones.
    malloc_trim(0);
    const int64_t available = available_cpu_memory();
    if (fits(bytes, available)) return;
    throw OutOfMemory("out of memory: tried to allocate " + byte_size_string(static_cast<double>(bytes)) +
                      " on the CPU with " + byte_size_string(static_cast<double>(available)) +
                      " available (an allocation may take half); try a smaller size");
}

// LibTorch's own allocator behind the check. LibTorch 1.13 (Debian) declares allocate const and has no
// copy_data; the 2.x we build with on the GPU machine (2.11) makes allocate non-const and copy_data required.
class GuardedCpuAllocator final : public c10::Allocator {
  public:
    explicit GuardedCpuAllocator(c10::Allocator* inner) : inner_(inner) {}
#if TORCH_VERSION_MAJOR >= 2
    c10::DataPtr allocate(size_t n) override {
        refuse_if_unbacked(n);
        return inner_->allocate(n);
    }
    void copy_data(void* dest, const void* src, std::size_t count) const override {
        inner_->copy_data(dest, src, count);
    }
#else
    c10::DataPtr allocate(size_t n) const override {
        refuse_if_unbacked(n);
        return inner_->allocate(n);
    }
#endif
    c10::DeleterFnPtr raw_deleter() const override {
        return inner_->raw_deleter();
    }

  private:
    c10::Allocator* inner_;
};

} // namespace

int64_t available_cpu_memory() {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "MemAvailable: %lld kB", &kib) == 1) break;
    std::fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

void install_cpu_memory_guard() {
    static GuardedCpuAllocator guard(c10::GetCPUAllocator());
    if (c10::GetCPUAllocator() != &guard) c10::SetCPUAllocator(&guard);
}

} // namespace attnscope
