#pragma once
#include <c10/util/ArrayRef.h>
#include <cstdint>
#include <string>

namespace attnscope {

// "(16, 4096, 40)": how shapes appear in messages and tables (the seed's notation).
inline std::string shape_string(c10::ArrayRef<int64_t> shape) {
    std::string out = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + ")";
}

} // namespace attnscope
