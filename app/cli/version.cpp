#include "version.h"

#include "util/version.h"

#include <torch/version.h>

namespace attnscope::cli {

std::string version_text() {
#ifdef ATTNSCOPE_HAVE_CUDA
    constexpr const char* kernels = "built";
#else
    constexpr const char* kernels = "not built";
#endif
    return std::string("attnscope ") + version() + " (commit " + git_commit() + ")\n" + "LibTorch " +
           TORCH_VERSION + (torch_has_cuda() ? " with CUDA" : " (CPU)") + "\nCUDA kernels: " + kernels + "\n";
}

} // namespace attnscope::cli
