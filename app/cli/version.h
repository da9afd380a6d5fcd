#pragma once
#include <string>

namespace attnscope::cli {

// `attnscope --version`: this program's version and commit, the LibTorch it was built against (and whether
// that LibTorch has CUDA), and whether our CUDA kernels are in the binary. Several lines, each ending in
// '\n'.
std::string version_text();

} // namespace attnscope::cli
