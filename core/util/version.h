#pragma once

namespace attnscope {

// This program's version (CMake's project VERSION), recorded in summaries and capture files.
const char* version();

// The git commit it was built from, with "-dirty" when tracked files had uncommitted changes; "unknown" when
// built outside git.
const char* git_commit();

// Whether the LibTorch this was built against has CUDA, whether or not a GPU is visible now.
bool torch_has_cuda();

} // namespace attnscope
