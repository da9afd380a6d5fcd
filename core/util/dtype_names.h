#pragma once
// The names users give floating-point precisions (f64, f32, f16, bf16, and the long forms), one spelling for
// the command line and the visualizer.
#include <c10/core/ScalarType.h>
#include <string>

namespace attnscope {

// Throws std::invalid_argument naming the accepted names.
at::ScalarType parse_dtype_name(const std::string& name);

// "f64", "f32", "f16", "bf16", else LibTorch's own name.
std::string dtype_short_name(at::ScalarType type);

} // namespace attnscope
