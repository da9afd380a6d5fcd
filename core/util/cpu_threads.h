#pragma once
// How a program of ours sets up the CPU before LibTorch runs: once, at start.

namespace attnscope {

// Every core for LibTorch's own threads (some builds default to one); OpenBLAS, where LibTorch calls it, on
// the calling thread only: its own thread pool and LibTorch's OpenMP threads otherwise spin against each
// other for the same cores (the tiny model's step 1.58 s -> 1.11 s on 2 cores). And freed memory is kept:
// the math backend allocates a P of hundreds of MB per call, which glibc would hand back to the system and
// fault in afresh each time (a 64x64 forward 53 s instead of 8 s). Large CPU allocations that the machine
// cannot back are refused (memory_guard.h) rather than left to the OOM killer.
void configure_cpu_threads();

} // namespace attnscope
