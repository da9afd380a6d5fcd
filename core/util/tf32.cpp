#include "tf32.h"

#include <ATen/Context.h>

namespace attnscope {

void set_tf32(bool allowed) {
    at::globalContext().setAllowTF32CuDNN(allowed);
    at::globalContext().setAllowTF32CuBLAS(allowed);
}

bool tf32_allowed() {
    return at::globalContext().allowTF32CuDNN() || at::globalContext().allowTF32CuBLAS();
}

} // namespace attnscope
