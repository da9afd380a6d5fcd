#include "out_of_memory.h"

#include <algorithm>
#include <c10/util/Exception.h>
#include <cctype>
#include <new>

namespace attnscope {

bool is_out_of_memory(const std::exception& e) {
    if (dynamic_cast<const OutOfMemory*>(&e) || dynamic_cast<const std::bad_alloc*>(&e) ||
        dynamic_cast<const c10::OutOfMemoryError*>(&e))
        return true;
    const auto* error = dynamic_cast<const c10::Error*>(&e);
    if (!error) return false;
    // Every LibTorch allocator words its failure "... (t|T)ried to allocate N bytes ...": the CPU's
    // DefaultCPUAllocator in 1.13 and 2.x alike.
    std::string message = error->msg();
    std::transform(message.begin(), message.end(), message.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return message.find("tried to allocate") != std::string::npos;
}

} // namespace attnscope
