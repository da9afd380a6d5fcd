#include "version.h"

#include "version_info.h"

namespace attnscope {

const char* version() {
    return ATTNSCOPE_VERSION;
}

const char* git_commit() {
    return ATTNSCOPE_GIT_COMMIT;
}

bool torch_has_cuda() {
    return ATTNSCOPE_TORCH_CUDA;
}

} // namespace attnscope
