#include "dtype_names.h"

#include <stdexcept>

namespace attnscope {

at::ScalarType parse_dtype_name(const std::string& s) {
    if (s == "f64" || s == "float64") return at::kDouble;
    if (s == "f32" || s == "float32") return at::kFloat;
    if (s == "f16" || s == "float16" || s == "fp16") return at::kHalf;
    if (s == "bf16" || s == "bfloat16") return at::kBFloat16;
    throw std::invalid_argument("unknown dtype '" + s + "' (use f64, f32, f16 or bf16)");
}

std::string dtype_short_name(at::ScalarType t) {
    switch (t) {
    case at::kDouble:
        return "f64";
    case at::kFloat:
        return "f32";
    case at::kHalf:
        return "f16";
    case at::kBFloat16:
        return "bf16";
    default:
        return c10::toString(t);
    }
}

} // namespace attnscope
