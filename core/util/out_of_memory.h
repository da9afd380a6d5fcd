#pragma once
// Running out of memory, recognised wherever LibTorch or the allocator reports it, so that callers can say
// what needed the memory instead of passing on an allocator's words.
#include <exception>
#include <stdexcept>
#include <string>

namespace attnscope {

// Ours, thrown once we know what ran out (an attention site, a denoising step).
class OutOfMemory : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// True for OutOfMemory, std::bad_alloc, CUDA's c10::OutOfMemoryError and the CPU allocator's failure, which
// LibTorch throws as a plain c10::Error.
bool is_out_of_memory(const std::exception& e);

} // namespace attnscope
