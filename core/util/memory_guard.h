#pragma once
// Linux grants a CPU allocation larger than the memory it can back and then, once the pages are touched,
// kills the process (the OOM killer): a 4096x4096 session on the tiny model ended that way, losing everything
// the user had made. The guard refuses such an allocation up front, as an OutOfMemory, which the router and
// the session turn into a message naming the site and the step.
#include <cstdint>

namespace attnscope {

// Bytes a new allocation can take now without the OOM killer: the kernel's MemAvailable. -1 where that
// cannot be read.
int64_t available_cpu_memory();

// Puts the guard in front of LibTorch's CPU allocator, once per process: an allocation of 64 MiB or more that
// would take over half of available_cpu_memory() less a 256 MiB reserve, even after this process has handed
// its freed memory back (malloc_trim), throws OutOfMemory.
void install_cpu_memory_guard();

} // namespace attnscope
